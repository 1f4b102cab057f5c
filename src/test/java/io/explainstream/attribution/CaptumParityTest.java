package io.explainstream.attribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.explainstream.TestData;
import io.explainstream.model.LlamaModel;
import io.explainstream.testing.Approx;
import io.explainstream.testing.BundledModel;
import io.explainstream.tokenize.LlamaTokenizer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Captum 0.8.0's own numbers on the bundled model (src/test/resources/reference/captum-parity.json). */
class CaptumParityTest {

    private static final LlamaModel model = BundledModel.get().model();
    private static final LlamaTokenizer tokenizer = BundledModel.get().tokenizer();
    private static final AttributionEngine engine = BundledModel.get().engine();

    @Test
    void gaussLegendreNodesAndWeightsAreCaptums() {
        JsonNode reference = TestData.captumParity().get("gauss_legendre");
        for (String steps : List.of("16", "50")) {
            Quadrature quadrature = QuadratureRule.GAUSSLEGENDRE.quadrature(Integer.parseInt(steps));
            double[] alphas = TestData.doubles(reference.get(steps).get("alphas"));
            double[] weights = TestData.doubles(reference.get(steps).get("weights"));
            for (int k = 0; k < alphas.length; k++) {
                assertEquals(alphas[k], quadrature.alphas()[k], 1e-14, "alpha " + k + " of " + steps);
                assertEquals(weights[k], quadrature.weights()[k], 1e-14, "weight " + k + " of " + steps);
            }
        }
    }

    @Test
    void everyReferenceRunIsMatched() {
        int checked = 0;
        for (JsonNode testCase : TestData.captumParity().get("cases")) {
            AttributionRequest request = new AttributionRequest(
                    tokenizer.encodePrompt(testCase.get("prompt").asText()), tokenizer.encodeResponse(testCase.get("response").asText()));
            for (var runs = testCase.get("runs").fields(); runs.hasNext(); ) {
                var run = runs.next();
                JsonNode config = run.getValue().get("config");
                AttributionSettings settings = AttributionSettings.DEFAULTS
                        .withSteps(config.get("n_steps").asInt())
                        .withIncludeBos(config.get("skip_tokens_input").isNull())
                        .withTokenMatrix(true);
                String name = testCase.get("name").asText() + "/" + run.getKey();
                Attribution matrixResult = engine.attribute(request, settings);
                Attribution sequenceResult = engine.attribute(request, settings.withTokenMatrix(false));
                compare(name, run.getValue(), matrixResult, true);
                compare(name + " (sequence mode)", run.getValue(), sequenceResult, false);
                checked++;
            }
        }
        assertTrue(checked >= 4, "reference runs checked: " + checked);
    }

    private static void compare(String name, JsonNode run, Attribution result, boolean matrix) {
        List<Integer> positions = new ArrayList<>();
        run.get("interpretable_positions").forEach(p -> positions.add(p.asInt()));
        double[] expectedSeq = TestData.doubles(run.get("seq_attr"));
        for (int j = 0; j < positions.size(); j++) {
            assertClose(name + " seq_attr[" + positions.get(j) + "]", expectedSeq[j], result.seqAttr()[positions.get(j)]);
            assertTrue(result.promptTokens().get(positions.get(j)).attributed());
        }
        assertEquals(result.promptTokens().size() - positions.size(),
                result.promptTokens().stream().filter(t -> !t.attributed()).count(), name + " attributed positions");
        JsonNode perTarget = run.get("completeness").get("per_target");
        double expectedSequenceDelta = 0;
        for (int t = 0; t < perTarget.size(); t++) {
            // Captum's "gap" is Σ attr − (f(x) − f(b)); our delta is its negative.
            double expectedDelta = -perTarget.get(t).get("gap").asDouble();
            expectedSequenceDelta += expectedDelta;
            if (matrix) {
                assertClose(name + " delta[" + t + "]", expectedDelta, result.convergenceDelta()[t]);
            }
            assertClose(name + " logp_input[" + t + "]", perTarget.get(t).get("logp_input").asDouble(), result.responseLogProbs()[t]);
            assertClose(name + " logp_baseline[" + t + "]", perTarget.get(t).get("logp_baseline").asDouble(), result.baselineLogProbs()[t]);
        }
        assertClose(name + " sequence delta", expectedSequenceDelta, result.sequenceDelta());
        assertEquals(matrix ? perTarget.size() : 0, result.convergenceDelta().length, name + " per-target deltas only with the matrix");
        if (matrix) {
            JsonNode tokenAttr = run.get("token_attr");
            for (int t = 0; t < tokenAttr.size(); t++) {
                double[] row = TestData.doubles(tokenAttr.get(t));
                for (int j = 0; j < positions.size(); j++) {
                    assertClose(name + " token_attr[" + t + "][" + positions.get(j) + "]", row[j], result.tokenAttr()[t][positions.get(j)]);
                }
            }
        }
    }

    /** 5e-5 absolute + 1e-4 relative: float32 noise between two implementations of the same sums. */
    static void assertClose(String what, double expected, double actual) {
        Approx.assertClose(what, expected, actual, 5e-5, 1e-4);
    }
}
