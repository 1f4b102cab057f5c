package io.explainstream.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.explainstream.TestData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LlamaModelTest {

    private static LlamaModel model;

    @BeforeAll
    static void load() {
        model = LlamaModel.load(TestData.stories260K(), ModelOptions.CPU_FLOAT32);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void greedyDecodingFromBosReproducesTheModelReadme() {
        long[] expected = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267,
            337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352, 266,
            268, 388, 426, 338, 391, 266, 267, 337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415};
        assertArrayEquals(expected, new GreedyDecoder(model).generate(new long[] {1}, 60));
        // With a stop id, it ends at the first one the model chooses (here the 5th token, 432), that id included.
        assertArrayEquals(java.util.Arrays.copyOf(expected, 6), new GreedyDecoder(model).generate(new long[] {1}, 60, java.util.Set.of(432L, 999L)));
    }

    @Test
    void lastPromptLogitsMatchTheReference() {
        var reference = TestData.captumParity().get("cases").get(0);
        long[] promptIds = TestData.longs(reference.get("prompt_ids"));
        double[] expected = TestData.doubles(reference.get("logits_last_prompt_position"));
        float[] actual = lastLogits(promptIds);
        assertEquals(expected.length, actual.length);
        double worst = 0;
        for (int v = 0; v < expected.length; v++) {
            worst = Math.max(worst, Math.abs(expected[v] - actual[v]));
        }
        assertTrue(worst < 1e-4, "largest logit difference " + worst);
    }

    @Test
    void rightPaddedBatchGivesEachSequenceItsOwnLogits() {
        long[][] prompts = {{1, 403, 407, 261, 378, 432, 383, 286}, {1, 385, 328}, {1, 403, 407, 261, 378}};
        int longest = 8;
        try (NDManager call = NDManager.newBaseManager(model.device(), "PyTorch")) {
            long[] ids = new long[prompts.length * longest];
            long[] mask = new long[prompts.length * longest];
            for (int b = 0; b < prompts.length; b++) {
                for (int s = 0; s < prompts[b].length; s++) {
                    ids[b * longest + s] = prompts[b][s];
                    mask[b * longest + s] = 1;
                }
            }
            NDArray idArray = call.create(ids, new Shape(prompts.length, longest));
            NDArray batched = model.forward(model.embed(idArray), call.create(mask, new Shape(prompts.length, longest))); // (3, 8, V)
            for (int b = 0; b < prompts.length; b++) {
                NDArray alone = singleLogits(call, prompts[b]); // (S_b, V)
                NDArray same = batched.get(b).get("0:" + prompts[b].length); // (S_b, V)
                float diff = same.sub(alone).abs().max().getFloat();
                // float32 noise only: a batch runs other matrix-product kernels than a single sequence (seen up to 1.4e-5).
                assertTrue(diff < 5e-5, "sequence " + b + " differs by " + diff);
            }
        }
    }

    private static NDArray singleLogits(NDManager call, long[] prompt) {
        NDArray ids = call.create(prompt, new Shape(1, prompt.length));
        return model.forward(model.embed(ids), call.ones(new Shape(1, prompt.length), DataType.INT64)).get(0);
    }

    static float[] lastLogits(LlamaModel m, long[] promptIds) {
        try (NDManager call = NDManager.newBaseManager(m.device(), "PyTorch")) {
            NDArray ids = call.create(promptIds, new Shape(1, promptIds.length));
            NDArray logits = m.forward(m.embed(ids), call.ones(new Shape(1, promptIds.length), DataType.INT64)); // (1, S, V)
            return logits.get(0).get(-1).toType(DataType.FLOAT32, false).toFloatArray();
        }
    }

    private static float[] lastLogits(long[] promptIds) {
        return lastLogits(model, promptIds);
    }
}
