package io.explainstream.attribution;

import static io.explainstream.testing.Approx.assertArrayClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.explainstream.TestData;
import io.explainstream.model.LlamaModel;
import io.explainstream.testing.BundledModel;
import io.explainstream.tokenize.ChatTurn;
import io.explainstream.tokenize.LlamaTokenizer;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class AttributionEngineTest {

    private static final LlamaModel model = BundledModel.get().model();
    private static final LlamaTokenizer tokenizer = BundledModel.get().tokenizer();
    private static final AttributionEngine engine = BundledModel.get().engine();
    private static final AttributionSettings STEPS_16 = AttributionSettings.DEFAULTS.withSteps(16);

    private static AttributionRequest request(String prompt, String response) {
        return new AttributionRequest(tokenizer.encodePrompt(prompt), tokenizer.encodeResponse(response));
    }

    private static List<AttributionRequest> threeEvents() {
        return List.of(
                request("Once upon a time, there was a little girl named", "Lily. She loved to play"),
                request("One day,", "a little girl named Lily"),
                new AttributionRequest(tokenizer.encodeChat(List.of(
                        new ChatTurn(ChatTurn.Role.SYSTEM, "Tell short stories."),
                        new ChatTurn(ChatTurn.Role.USER, "A story about a dog."))), tokenizer.encodeResponse("The dog was happy and ran to the park.")));
    }

    @Test
    @Tag("slow") // tens of seconds of engine time on 2 cores
    void batchedAcrossEventsEqualsOneAtATime() {
        AttributionSettings settings = STEPS_16.withTokenMatrix(true);
        List<Attribution> batched = engine.attribute(threeEvents(), settings);
        for (int e = 0; e < 3; e++) {
            Attribution alone = engine.attribute(threeEvents().get(e), settings);
            assertSame("event " + e + " batched vs alone", alone, batched.get(e), 1e-5);
        }
    }

    @Test
    @Tag("slow") // tens of seconds of engine time on 2 cores
    void chunkedEqualsUnchunked() {
        List<Attribution> whole = engine.attribute(threeEvents(), STEPS_16.withTokenMatrix(true));
        // 40 tokens per forward: one path point per chunk for these lengths
        List<Attribution> chunked = engine.attribute(threeEvents(), STEPS_16.withTokenMatrix(true).withMaxBatchTokens(40));
        for (int e = 0; e < 3; e++) {
            assertSame("event " + e + " chunked vs whole", whole.get(e), chunked.get(e), 1e-5);
        }
    }

    @Test
    @Tag("slow") // tens of seconds of engine time on 2 cores
    void sequenceModeEqualsRowSumsOfTheMatrix() {
        List<Attribution> matrix = engine.attribute(threeEvents(), STEPS_16.withTokenMatrix(true));
        List<Attribution> sequence = engine.attribute(threeEvents(), STEPS_16);
        for (int e = 0; e < 3; e++) {
            assertNull(sequence.get(e).tokenAttr());
            double[] rowSums = new double[matrix.get(e).seqAttr().length];
            for (double[] row : matrix.get(e).tokenAttr()) {
                for (int i = 0; i < row.length; i++) {
                    rowSums[i] += row[i];
                }
            }
            assertArrayClose("event " + e + " seq_attr", rowSums, sequence.get(e).seqAttr(), 1e-5);
            double deltaSum = java.util.Arrays.stream(matrix.get(e).convergenceDelta()).sum();
            assertEquals(deltaSum, sequence.get(e).sequenceDelta(), 1e-5, "event " + e + " sequence delta = Σ_t delta_t");
            assertEquals(deltaSum, matrix.get(e).sequenceDelta(), 1e-5, "event " + e + " matrix mode reports it too");
        }
    }

    /** A call past its time limit stops at its next forward pass, whatever the method; without a limit, or within it, it runs. */
    @Test
    void aCallPastItsTimeLimitStopsAtTheNextForwardPass() {
        List<AttributionRequest> events = threeEvents();
        for (AttributionSettings settings : List.of(STEPS_16, STEPS_16.withTokenMatrix(true), STEPS_16.withMethod(GradientMethod.INPUT_X_GRADIENT))) {
            assertThrows(AttributionTimeLimitException.class,
                    () -> engine.attribute(events, settings, java.time.Duration.ZERO), settings.toString());
        }
        assertEquals(engine.attribute(events, STEPS_16).get(0).seqAttr()[1],
                engine.attribute(events, STEPS_16, java.time.Duration.ofHours(1)).get(0).seqAttr()[1], 0.0, "within the limit: the same numbers");
    }

    @Test
    void reportedDeltaEqualsAnIndependentCompletenessCheck() {
        AttributionRequest request = threeEvents().get(0);
        Attribution result = engine.attribute(request, STEPS_16.withTokenMatrix(true));
        long[] prompt = request.prompt().ids();
        long[] response = request.response().ids();
        for (int t = 0; t < response.length; t++) {
            // Captum's way: a separate forward over the context c_t = p + r[:t], at x and at b.
            long[] context = new long[prompt.length + t];
            System.arraycopy(prompt, 0, context, 0, prompt.length);
            System.arraycopy(response, 0, context, prompt.length, t);
            double atInput = logProb(context, response[t], false);
            double atBaseline = logProb(context, response[t], true);
            double attributionSum = java.util.Arrays.stream(result.tokenAttr()[t]).sum();
            assertEquals(atInput, result.responseLogProbs()[t], 1e-5, "f_t(x) of target " + t);
            assertEquals(atBaseline, result.baselineLogProbs()[t], 1e-5, "f_t(b) of target " + t);
            assertEquals(atInput - atBaseline - attributionSum, result.convergenceDelta()[t], 1e-5, "delta of target " + t);
        }
    }

    /** log p(target | context) with the attributed prompt positions (all but BOS) replaced by <unk> when asked. */
    private static double logProb(long[] context, long target, boolean baseline) {
        long[] ids = context.clone();
        int promptLength = threeEvents().get(0).prompt().size();
        if (baseline) {
            for (int i = 1; i < promptLength; i++) {
                ids[i] = tokenizer.unkId();
            }
        }
        try (NDManager call = NDManager.newBaseManager(model.device(), "PyTorch")) {
            NDArray logits = model.forward(model.embed(call.create(ids, new Shape(1, ids.length))),
                    call.ones(new Shape(1, ids.length), DataType.INT64)); // (1, S, V)
            return logits.get(0).get(-1).logSoftmax(0).getFloat(target);
        }
    }

    @Test
    @Tag("slow") // tens of seconds of engine time on 2 cores
    void adaptiveStepsMeetTheTargetDeltaOnTheParityCases() {
        for (var testCase : TestData.captumParity().get("cases")) {
            AttributionRequest request = request(testCase.get("prompt").asText(), testCase.get("response").asText());
            for (boolean includeBos : new boolean[] {false, true}) {
                Attribution result = engine.attribute(request, AttributionSettings.DEFAULTS.withIncludeBos(includeBos).withTargetDelta(0.01)
                        .withTokenMatrix(true));
                for (int t = 0; t < result.convergenceDelta().length; t++) {
                    double change = result.responseLogProbs()[t] - result.baselineLogProbs()[t];
                    double allowed = 0.01 * Math.max(Math.abs(change), AttributionEngine.ABSOLUTE_DELTA_FLOOR);
                    assertTrue(Math.abs(result.convergenceDelta()[t]) <= allowed, testCase.get("name").asText() + " include_bos=" + includeBos
                            + " target " + t + ": delta " + result.convergenceDelta()[t] + " > " + allowed + " after " + result.steps() + " steps");
                }
                assertTrue(result.steps() >= 50, "steps used " + result.steps());
            }
        }
        // The trapezoid's 50 points leave more than 0.1% on a target of the first case, so adaptation must step up, along its nested points.
        Attribution first = engine.attribute(request("Once upon a time, there was a little girl named", "Lily. She loved to play"),
                AttributionSettings.DEFAULTS.withIntegration(QuadratureRule.RIEMANN_TRAPEZOID).withTargetDelta(0.001).withTokenMatrix(true));
        assertEquals(99, first.steps(), "steps used");
        assertEquals(QuadratureRule.RIEMANN_TRAPEZOID, first.settings().integration());
        // Gauss–Legendre, the default, is refined as its nested counterpart.
        assertEquals(QuadratureRule.CLENSHAW_CURTIS, engine.attribute(request("Once upon a time", "there was"),
                AttributionSettings.DEFAULTS.withTargetDelta(0.01)).settings().integration());
        // Without the matrix the rule applies to the whole response: the sequence delta.
        Attribution sequence = engine.attribute(request("Once upon a time, there was a little girl named", "Lily. She loved to play"),
                AttributionSettings.DEFAULTS.withTargetDelta(0.001));
        double change = java.util.Arrays.stream(sequence.responseLogProbs()).sum() - java.util.Arrays.stream(sequence.baselineLogProbs()).sum();
        assertTrue(Math.abs(sequence.sequenceDelta()) <= 0.001 * Math.abs(change), "sequence delta " + sequence.sequenceDelta() + " of " + change
                + " after " + sequence.steps() + " steps");
    }

    @Test
    void inputTimesGradientIsOneStepIntegratedGradientsFromZero() {
        AttributionRequest request = threeEvents().get(1);
        Attribution inputTimesGradient = engine.attribute(request, AttributionSettings.DEFAULTS.withMethod(GradientMethod.INPUT_X_GRADIENT).withTokenMatrix(true));
        Attribution oneStep = engine.attribute(request, AttributionSettings.DEFAULTS.withIntegration(QuadratureRule.RIEMANN_RIGHT).withSteps(1)
                .withBaseline(Baseline.parse("--baseline", "zero")).withTokenMatrix(true));
        assertArrayClose("seq_attr", oneStep.seqAttr(), inputTimesGradient.seqAttr(), 1e-5);
        for (int t = 0; t < oneStep.tokenAttr().length; t++) {
            assertArrayClose("token_attr[" + t + "]", oneStep.tokenAttr()[t], inputTimesGradient.tokenAttr()[t], 1e-5);
        }
        assertArrayClose("log-probs", oneStep.responseLogProbs(), inputTimesGradient.responseLogProbs(), 1e-6);
        assertEquals(0, inputTimesGradient.convergenceDelta().length, "no delta without a baseline");
        assertEquals(1, inputTimesGradient.steps());
    }

    @Test
    void gradientMethodSumsTheGradientOverTheEmbedding() {
        AttributionRequest request = threeEvents().get(1);
        Attribution result = engine.attribute(request, AttributionSettings.DEFAULTS.withMethod(GradientMethod.GRADIENT));
        long[] ids = new long[request.prompt().size() + request.response().size()];
        System.arraycopy(request.prompt().ids(), 0, ids, 0, request.prompt().size());
        System.arraycopy(request.response().ids(), 0, ids, request.prompt().size(), request.response().size());
        double[] expected;
        try (NDManager call = NDManager.newBaseManager(model.device(), "PyTorch")) {
            NDArray embeddings = model.embed(call.create(ids, new Shape(1, ids.length))); // (1, S, H)
            try (GradientCollector collector = GradientTurns.open()) {
                embeddings.setRequiresGradient(true);
                NDArray logProbs = model.forward(embeddings, call.ones(new Shape(1, ids.length), DataType.INT64)).get(0).logSoftmax(1); // (S, V)
                NDArray total = null;
                int p = request.prompt().size();
                for (int t = 0; t < request.response().size(); t++) {
                    NDArray f = logProbs.get(p - 1 + t).get(ids[p + t]);
                    total = total == null ? f : total.add(f);
                }
                collector.backward(total);
                expected = embeddings.getGradient().get(0).sum(new int[] {1}).toType(DataType.FLOAT64, false).toDoubleArray(); // (S)
            }
        }
        expected[0] = 0; // BOS is not attributed
        assertArrayClose("gradient seq_attr", java.util.Arrays.copyOf(expected, request.prompt().size()), result.seqAttr(), 1e-5);
    }

    @Test
    void normalizationKeepsRawScoresAndZeroRows() {
        Attribution result = engine.attribute(threeEvents().get(0), STEPS_16.withTokenMatrix(true));
        assertEquals(1.0, java.util.Arrays.stream(result.seqAttrNormalized()).map(Math::abs).sum(), 1e-9);
        double l1 = java.util.Arrays.stream(result.seqAttr()).map(Math::abs).sum();
        assertEquals(result.seqAttr()[3] / l1, result.seqAttrNormalized()[3], 1e-12);
        Attribution maxAbs = engine.attribute(threeEvents().get(0), STEPS_16.withTokenMatrix(true).withNormalization(ScoreNormalization.MAX_ABS));
        assertEquals(1.0, java.util.Arrays.stream(maxAbs.seqAttrNormalized()).map(Math::abs).max().orElseThrow(), 1e-12);
        assertEquals(0.0, result.seqAttr()[0], 0.0, "BOS is skipped and scores 0");
        for (double[] row : maxAbs.tokenAttrNormalized()) {
            assertEquals(1.0, java.util.Arrays.stream(row).map(Math::abs).max().orElseThrow(), 1e-12);
        }
        assertArrayClose("all-zero row", new double[3], ScoreNormalization.L1.apply(new double[3]), 0);
    }

    @Test
    void badInputIsRefusedWithTheFieldNamed() {
        assertMessage("response is empty: there is nothing to explain", () -> engine.attribute(request("Once upon a time", ""), STEPS_16));
        assertMessage("prompt has no token to attribute to (only BOS, which is skipped; use include-bos)",
                () -> engine.attribute(request("", "Lily."), STEPS_16));
        String longResponse = "the cat sat on the mat. ".repeat(60);
        IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class, () -> engine.attribute(request("Once", longResponse), STEPS_16));
        assertTrue(tooLong.getMessage().matches("prompt \\(2 tokens\\) \\+ response \\(\\d+ tokens\\) exceed the model's context of 512 tokens \\(max_position_embeddings\\)"),
                tooLong.getMessage());
        assertMessage("--baseline = 'blank' is not a baseline (use unk, pad, zero or a token id ≥ 0)", () -> Baseline.parse("--baseline", "blank"));
        assertMessage("steps = 0 must be positive", () -> AttributionSettings.DEFAULTS.withSteps(0));
        assertMessage("steps = -3 must be positive", () -> AttributionSettings.DEFAULTS.withSteps(-3));
        assertMessage("baseline = pad, but the tokenizer defines no pad token; use unk, zero or a token id",
                () -> engine.attribute(request("Once", "upon"), STEPS_16.withBaseline(Baseline.parse("--baseline", "pad"))));
        assertMessage("baseline = 9999 is outside the model's vocabulary of 512",
                () -> engine.attribute(request("Once", "upon"), STEPS_16.withBaseline(Baseline.parse("--baseline", "9999"))));
    }

    /**
     * A replay run beside the service, or two test classes side by side, attribute in one JVM at
     * once. DJL refuses a second open gradient collector in a JVM ("already collecting"): each
     * engine takes its turn ({@link GradientTurns}) and gives the numbers it gives alone.
     */
    @Test
    void twoEnginesInOneJvmAttributeAtOnceAndGiveTheNumbersEachGivesAlone() throws Exception {
        AttributionSettings settings = AttributionSettings.DEFAULTS.withSteps(4).withTokenMatrix(true);
        List<Attribution> alone = engine.attribute(threeEvents(), settings);
        try (LlamaModel secondModel = LlamaModel.load(TestData.stories260K(), io.explainstream.model.ModelOptions.CPU_FLOAT32)) {
            AttributionEngine second = new AttributionEngine(secondModel, tokenizer);
            java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                java.util.concurrent.CountDownLatch ready = new java.util.concurrent.CountDownLatch(2);
                List<java.util.concurrent.Future<List<List<Attribution>>>> runs = new java.util.ArrayList<>();
                for (AttributionEngine each : List.of(engine, second)) {
                    runs.add(threads.submit(() -> {
                        ready.countDown();
                        ready.await();
                        List<List<Attribution>> results = new java.util.ArrayList<>();
                        for (int run = 0; run < 4; run++) {
                            results.add(each.attribute(threeEvents(), settings));
                        }
                        return results;
                    }));
                }
                for (java.util.concurrent.Future<List<List<Attribution>>> run : runs) {
                    for (List<Attribution> results : run.get(5, java.util.concurrent.TimeUnit.MINUTES)) {
                        for (int e = 0; e < 3; e++) {
                            assertSame("event " + e + " beside another engine vs alone", alone.get(e), results.get(e), 1e-6);
                        }
                    }
                }
            } finally {
                threads.shutdownNow();
            }
        }
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable action) {
        assertEquals(expected, assertThrows(IllegalArgumentException.class, action).getMessage());
    }

    static void assertSame(String what, Attribution expected, Attribution actual, double tolerance) {
        assertEquals(expected.promptTokens(), actual.promptTokens(), what + " prompt tokens");
        assertArrayClose(what + " seq_attr", expected.seqAttr(), actual.seqAttr(), tolerance);
        assertArrayClose(what + " log-probs", expected.responseLogProbs(), actual.responseLogProbs(), tolerance);
        assertArrayClose(what + " delta", expected.convergenceDelta(), actual.convergenceDelta(), tolerance);
        if (expected.tokenAttr() != null) {
            for (int t = 0; t < expected.tokenAttr().length; t++) {
                assertArrayClose(what + " token_attr[" + t + "]", expected.tokenAttr()[t], actual.tokenAttr()[t], tolerance);
            }
        }
    }
}
