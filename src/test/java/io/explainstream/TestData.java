package io.explainstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.model.Checkpoint;
import io.explainstream.model.CheckpointWriter;
import io.explainstream.model.TensorDtype;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/** Where the tests find the bundled model and the Captum reference numbers. */
public final class TestData {

    private TestData() {}

    public static Path repo() {
        return Path.of(System.getProperty("explainstream.repo", ".")).toAbsolutePath();
    }

    /** The bundled stories260K checkpoint (a copy of ../shared/models/stories260K). */
    public static Path stories260K() {
        return repo().resolve("models/stories260K");
    }

    /**
     * Writes a copy of stories260K (float32, one file, with its tokenizer) into {@code dir}, with
     * one tensor's values changed by {@code edit}: a damaged or extreme checkpoint, made on the spot.
     */
    public static void stories260KWith(Path dir, String tensor, Consumer<float[]> edit) throws IOException {
        Checkpoint source = Checkpoint.open(stories260K());
        CheckpointWriter writer = new CheckpointWriter(source.config());
        source.entries().forEach((name, entry) -> {
            float[] values = source.readArray(name);
            if (name.equals(tensor)) {
                edit.accept(values);
            }
            writer.add(name, entry.shape(), values);
        });
        writer.write(dir, TensorDtype.F32, 1);
        for (String file : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(stories260K().resolve(file), dir.resolve(file));
        }
    }

    /** Writes a copy of stories260K into {@code dir} with its config.json changed by {@code edit}: another context length, a broken setting. */
    public static void stories260KWithConfig(Path dir, Consumer<ObjectNode> edit) throws IOException {
        for (String file : new String[] {"model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
            Files.copy(stories260K().resolve(file), dir.resolve(file));
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(stories260K().resolve("config.json").toFile());
        edit.accept(config);
        json.writeValue(dir.resolve("config.json").toFile(), config);
    }

    /** Captum 0.8.0's own numbers on stories260K (a copy of ../shared/reference/captum-parity.json). */
    public static JsonNode captumParity() {
        try (InputStream in = TestData.class.getResourceAsStream("/reference/captum-parity.json")) {
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    public static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asDouble();
        }
        return out;
    }
}
