package io.explainstream.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.explainstream.TestData;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

@Isolated("measures the test JVM's resident memory")
@Order(Integer.MAX_VALUE) // after every other class: see junit-platform.properties
class GradientTest {

    private static final long[] CONTEXT = {1, 403, 407, 261, 378, 432, 383};
    private static final int TARGET = 286;
    /** Passes before measuring: the JVM heap and libtorch's caches reach their working size (measured: about 250). */
    private static final int WARM_UP = 300;

    /** log_softmax(logits[last])[TARGET] for given embeddings (1, S, H). */
    private static NDArray targetLogProb(LlamaModel model, NDArray embeddings) {
        NDManager call = embeddings.getManager();
        NDArray mask = call.ones(new Shape(1, CONTEXT.length), DataType.INT64);
        NDArray hidden = model.hiddenStates(embeddings, mask); // (1, S, H)
        NDArray logProbs = model.logits(hidden.get(":, -1, :")).logSoftmax(1); // (1, V)
        return logProbs.get(0, TARGET); // ()
    }

    @Test
    void gradientOfALogProbabilityMatchesCentralDifferencesInFloat64() {
        try (LlamaModel model = LlamaModel.load(TestData.stories260K(), ModelOptions.cpu(ComputeDtype.FLOAT64));
                NDManager call = NDManager.newBaseManager(model.device(), "PyTorch")) {
            NDArray embeddings = model.embed(call.create(CONTEXT, new Shape(1, CONTEXT.length))); // (1, S, H)
            double[] gradient;
            try (GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
                embeddings.setRequiresGradient(true);
                collector.backward(targetLogProb(model, embeddings));
                gradient = embeddings.getGradient().toDoubleArray();
            }
            double[] base = embeddings.toDoubleArray();
            double eps = 1e-6;
            int h = model.config().hiddenSize();
            // Coordinates at the first, a middle and the last position, where the last sees itself only
            // through the LM head and the first influences every later position.
            for (int[] coordinate : List.of(new int[] {0, 3}, new int[] {2, 17}, new int[] {4, 40}, new int[] {6, 63})) {
                int index = coordinate[0] * h + coordinate[1];
                double plus = valueAt(model, call, base, index, eps);
                double minus = valueAt(model, call, base, index, -eps);
                double numeric = (plus - minus) / (2 * eps);
                double error = Math.abs(numeric - gradient[index]);
                assertTrue(error < 1e-7 + 1e-5 * Math.abs(numeric),
                        "position " + coordinate[0] + " dim " + coordinate[1] + ": autograd " + gradient[index] + ", finite difference " + numeric);
            }
        }
    }

    private static double valueAt(LlamaModel model, NDManager call, double[] base, int index, double offset) {
        double[] moved = base.clone();
        moved[index] += offset;
        try (NDManager step = call.newSubManager()) {
            NDArray embeddings = step.create(moved, new Shape(1, CONTEXT.length, model.config().hiddenSize()));
            return targetLogProb(model, embeddings).getDouble();
        }
    }

    @Test
    @Tag("slow") // a soak test: five hundred passes
    void fiveHundredForwardBackwardPassesAfterWarmUpKeepNativeMemoryFlat() throws Exception {
        try (LlamaModel model = LlamaModel.load(TestData.stories260K(), ModelOptions.CPU_FLOAT32);
                NDManager root = NDManager.newBaseManager(model.device(), "PyTorch")) {
            long warmRss = 0;
            int modelArrays = 0;
            for (int pass = 0; pass < WARM_UP + 500; pass++) {
                // One sub-manager per pass, as every batch of the service does.
                try (NDManager call = root.newSubManager();
                        GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
                    NDArray embeddings = model.embed(call.create(CONTEXT, new Shape(1, CONTEXT.length)));
                    embeddings.setRequiresGradient(true);
                    collector.backward(targetLogProb(model, embeddings));
                    embeddings.getGradient().sum().getFloat();
                }
                if (pass == WARM_UP - 1) {
                    warmRss = residentKbAfterGc();
                    modelArrays = model.weights().embedTokens().getManager().getManagedArrays().size();
                }
            }
            long finalRss = residentKbAfterGc();
            double growth = (finalRss - warmRss) / (double) warmRss;
            System.out.printf("RSS after %d warm-up passes %d kB, after 500 more %d kB (%+.2f%%)%n", WARM_UP, warmRss, finalRss, growth * 100);
            // Arrays are counted exactly; RSS gets a margin for allocator noise (about 3% seen here).
            // The leak this guards against (a batch's graph kept alive) grows RSS by gigabytes.
            assertTrue(growth < 0.10, "RSS grew " + warmRss + " -> " + finalRss + " kB over 500 passes");
            assertEquals(modelArrays, model.weights().embedTokens().getManager().getManagedArrays().size(), "arrays on the model's manager");
            assertTrue(root.getManagedArrays().isEmpty(), "arrays left on the root manager: " + root.getManagedArrays().size());
        }
    }

    /**
     * Resident memory after a full collection, so that the Java heap growing to its working size
     * (tens of MB of short-lived garbage here) is not mistaken for a native leak.
     */
    static long residentKbAfterGc() throws Exception {
        System.gc();
        Thread.sleep(200);
        return residentKb();
    }

    static long residentKb() throws Exception {
        for (String line : Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
