package io.explainstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;

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
