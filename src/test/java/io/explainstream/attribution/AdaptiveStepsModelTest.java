package io.explainstream.attribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.explainstream.TestData;
import io.explainstream.testing.BundledModel;
import io.explainstream.tokenize.LlamaTokenizer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Adaptive steps on the bundled model, against fixed-steps runs of the same events. */
class AdaptiveStepsModelTest {

    private static final double TOLERANCE = 0.01;

    private static final LlamaTokenizer tokenizer = BundledModel.get().tokenizer();
    private static final AttributionEngine engine = BundledModel.get().engine();

    private static AttributionRequest parityCase(String name) {
        for (JsonNode testCase : TestData.captumParity().get("cases")) {
            if (testCase.get("name").asText().equals(name)) {
                return new AttributionRequest(tokenizer.encodePrompt(testCase.get("prompt").asText()),
                        tokenizer.encodeResponse(testCase.get("response").asText()));
            }
        }
        throw new AssertionError("no parity case " + name);
    }

    /**
     * Each row of the adaptive matrix is the fixed-steps trapezoid's row at the first level of the
     * ladder (50, 99, 197 … points) where that row's delta meets the tolerance: the reused
     * gradients give the numbers a from-scratch run gives, and a target stops at its own level.
     * Only the targets still over the tolerance are refined, which the pass count shows.
     */
    @Test
    void reusedGradientsMatchFromScratchRunsAndOnlyOpenTargetsAreRefined() {
        AttributionRequest request = parityCase("short_prompt");
        AttributionSettings settings = AttributionSettings.DEFAULTS.withIncludeBos(true).withTokenMatrix(true).withIntegration(QuadratureRule.RIEMANN_TRAPEZOID);
        Attribution adaptive = engine.attribute(request, settings.withTargetDelta(TOLERANCE));
        assertEquals(QuadratureRule.RIEMANN_TRAPEZOID, adaptive.settings().integration(), "the explanation names the rule used");

        int targets = adaptive.responseLogProbs().length;
        int[] level = new int[targets]; // points at which each target's fixed-steps row first meets the tolerance
        List<Attribution> fixedLevels = new ArrayList<>();
        int expectedRefinements = 0;
        for (int points = 50, open = targets; open > 0; points = 2 * points - 1) {
            Attribution fixed = engine.attribute(request, settings.withIntegration(QuadratureRule.RIEMANN_TRAPEZOID).withSteps(points));
            fixedLevels.add(fixed);
            if (points > 50) {
                expectedRefinements += open;
            }
            for (int t = 0; t < targets; t++) {
                double change = fixed.responseLogProbs()[t] - fixed.baselineLogProbs()[t];
                if (level[t] == 0 && AdaptiveSteps.withinTolerance(TOLERANCE, change, fixed.convergenceDelta()[t])) {
                    level[t] = points;
                    open--;
                }
            }
        }
        int finest = java.util.Arrays.stream(level).max().getAsInt();
        assertTrue(finest > 50 && expectedRefinements < targets * (fixedLevels.size() - 1),
                "the case must need a refinement for some targets and not for others: levels " + java.util.Arrays.toString(level));
        assertEquals(finest, adaptive.steps());
        // The explanation says each row's level: a fixed-steps run there gives the row (below).
        org.junit.jupiter.api.Assertions.assertArrayEquals(level, adaptive.targetSteps());
        for (int t = 0; t < targets; t++) {
            Attribution fixed = fixedLevels.get(ladderIndex(level[t]));
            for (int i = 0; i < fixed.tokenAttr()[t].length; i++) {
                assertEquals(fixed.tokenAttr()[t][i], adaptive.tokenAttr()[t][i], 2e-5, "token_attr[" + t + "][" + i + "] at " + level[t] + " points");
            }
            assertEquals(fixed.convergenceDelta()[t], adaptive.convergenceDelta()[t], 2e-5, "delta " + t);
        }
        AdaptiveSteps.Result work = engine.adaptiveSteps(List.of(request), settings, AttributionEngine.plan(settings.withTargetDelta(TOLERANCE)));
        assertEquals(expectedRefinements, work.work().targetRefinements(), "targets refined");
        assertEquals(finest, work.work().points(), "every point evaluated once");
    }

    private static int ladderIndex(int points) {
        int index = 0;
        for (int p = 50; p < points; p = 2 * p - 1) {
            index++;
        }
        return index;
    }

    /**
     * The nested rules (the trapezoid the engine uses, and Clenshaw–Curtis) and Gauss–Legendre at
     * 400 fixed steps, whose delta is far under the tolerance, give the same scores to within the
     * tolerance of each target's change, on both parity cases, one without BOS and one with it (all
     * four pairs took 27 s alone and 133 s in a CI run beside the other lane, and BOS changes the baseline,
     * not the quadrature).
     */
    @Test
    void nestedAndGaussLegendreAgreeToTheTolerance() {
        for (String name : List.of("greedy_lily", "short_prompt")) {
            AttributionRequest request = parityCase(name);
            for (boolean includeBos : new boolean[] {name.equals("short_prompt")}) {
                AttributionSettings settings = AttributionSettings.DEFAULTS.withIncludeBos(includeBos).withTokenMatrix(true);
                Attribution gaussLegendre = engine.attribute(request, settings.withSteps(400));
                for (NestedRule rule : NestedRule.values()) {
                    AdaptiveSteps.Result nested = engine.adaptiveSteps(List.of(request), settings,
                            new AdaptiveSteps.Plan(rule, 50, 800, TOLERANCE));
                    double[][] tokenAttr = ((IntegratedGradients.Scores.Matrix) nested.scores().get(0)).tokenAttr();
                    for (int t = 0; t < gaussLegendre.tokenAttr().length; t++) {
                        double change = gaussLegendre.responseLogProbs()[t] - gaussLegendre.baselineLogProbs()[t];
                        double allowed = TOLERANCE * Math.max(Math.abs(change), AdaptiveSteps.ABSOLUTE_DELTA_FLOOR);
                        assertTrue(Math.abs(gaussLegendre.convergenceDelta()[t]) < allowed / 10, name + " Gauss–Legendre 400 is the reference");
                        double sum = 0;
                        for (int i = 0; i < gaussLegendre.tokenAttr()[t].length; i++) {
                            double difference = tokenAttr[t][i] - gaussLegendre.tokenAttr()[t][i];
                            sum += difference;
                            assertTrue(Math.abs(difference) <= allowed, name + " include_bos=" + includeBos + " " + rule + " token_attr[" + t + "][" + i
                                    + "] differs by " + difference + ", allowed " + allowed);
                        }
                        assertTrue(Math.abs(sum) <= allowed * 1.1, name + " " + rule + " target " + t + ": Σ differs by " + sum);
                    }
                }
            }
        }
    }
}
