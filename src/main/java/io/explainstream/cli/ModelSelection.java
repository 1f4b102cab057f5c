package io.explainstream.cli;

import io.explainstream.model.Checkpoint;
import io.explainstream.model.ComputeDtype;
import io.explainstream.model.CpuThreads;
import io.explainstream.model.DeviceSpec;
import io.explainstream.model.ModelOptions;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options every command that loads a model shares. */
final class ModelSelection {

    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face LLaMA checkpoint directory (default: the bundled models/stories260K).")
    Path model;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto",
            description = "cpu, gpu, gpu:N or auto (first GPU, else CPU). Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--dtype", paramLabel = "DTYPE", defaultValue = "float32",
            description = "Compute dtype: float32, float64, float16 or bfloat16 (GPU only). Default: ${DEFAULT-VALUE}.")
    String dtype;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "auto",
            description = "libtorch's CPU threads: a positive number, or auto (one less than the processors the JVM may use, at least 1). Default: ${DEFAULT-VALUE}.")
    String threads;

    Path modelDirectory() {
        return model != null ? given("--model", model) : bundledModel();
    }

    /**
     * A model directory given on the command line; an empty one (an unset shell variable) is
     * refused, where it would name the working directory, or in a configuration the bundled model.
     */
    static Path given(String option, Path directory) {
        if (directory.toString().isBlank()) {
            throw new IllegalArgumentException(option + " = '" + directory + "' is empty; give a model directory");
        }
        return directory;
    }

    ModelOptions options() {
        return new ModelOptions(DeviceSpec.parse("--device", device), ComputeDtype.parse("--dtype", dtype), CpuThreads.parse("--threads", threads));
    }

    /** The bundled model, found from the installation directory the launcher passes in. */
    static Path bundledModel() {
        return RunCommand.home().resolve(Checkpoint.BUNDLED_DIRECTORY);
    }
}
