package io.explainstream.cli;

import io.explainstream.model.CheckpointWriter;
import io.explainstream.model.Llama2cCheckpoint;
import io.explainstream.model.LlamaConfig;
import io.explainstream.model.TensorDtype;
import io.explainstream.tokenize.Llama2cTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Converts a llama2.c checkpoint (Karpathy's TinyStories models) to the Hugging Face layout the engine reads. */
@Command(name = "convert-llama2c", mixinStandardHelpOptions = true,
        description = "Convert a llama2.c checkpoint (model.bin and its tokenizer.bin, as Karpathy's TinyStories models are published)"
                + " to a Hugging Face LLaMA checkpoint directory.")
final class ConvertLlama2cCommand implements Callable<Integer> {

    @Option(names = "--model-bin", required = true, paramLabel = "FILE", description = "llama2.c's model.bin (the legacy version-0 export).")
    private Path modelBin;

    @Option(names = "--tokenizer-bin", required = true, paramLabel = "FILE",
            description = "llama2.c's tokenizer.bin for that model (the sentencepiece vocabulary it was trained with).")
    private Path tokenizerBin;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write (created; must be empty).")
    private Path out;

    @Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        requireFile("--model-bin", modelBin);
        requireFile("--tokenizer-bin", tokenizerBin);
        CheckpointWriter checkpoint = Llama2cCheckpoint.read(modelBin);
        LlamaConfig config = checkpoint.config();
        Llama2cTokenizer tokenizer = Llama2cTokenizer.read(tokenizerBin, config.vocabSize());
        OutputFile.prepareEmptyFolder("--out", out);
        write(checkpoint, tokenizer, config.maxPositions());
        spec.commandLine().getOut().printf("wrote %s: hidden %d, %d layers, %d/%d heads, ffn %d, vocab %d, context %d; try it with"
                + " ./explainstream generate --model %s --prompt \"Once upon a time\"%n", out, config.hiddenSize(), config.numLayers(), config.numHeads(),
                config.numKeyValueHeads(), config.intermediateSize(), config.vocabSize(), config.maxPositions(), ShellWords.quoted(out.toString()));
        return 0;
    }

    /**
     * Writes the model into a folder beside --out and moves it into place once whole: a write that
     * failed part way (a full disk) left a folder without tokenizer_config.json that loaded without
     * a word, or a cut safetensors file refused with a confusing message (a hostile test).
     */
    private void write(CheckpointWriter checkpoint, Llama2cTokenizer tokenizer, int maxPositions) {
        Path target = out.toAbsolutePath().normalize();
        Path staging = null;
        try {
            staging = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".converting-");
            checkpoint.write(staging, TensorDtype.F32, 1);
            tokenizer.write(staging, maxPositions);
            // --out is empty (checked above): a rename replaces an empty folder.
            Files.move(staging, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            staging = null;
        } catch (IOException e) {
            throw new IllegalArgumentException("--out = " + out + " cannot be written: " + OutputFile.reason(e), e);
        } finally {
            if (staging != null) {
                OutputFile.deleteRecursively(staging); // what is left is a hidden folder beside --out, which nothing loads
            }
        }
    }

    private static void requireFile(String option, Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(option + " = " + file + (Files.isDirectory(file) ? " is a directory; give the file" : " does not exist"));
        }
    }
}
