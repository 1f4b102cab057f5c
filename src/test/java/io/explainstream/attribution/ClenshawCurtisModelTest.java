package io.explainstream.attribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.model.LlamaConfig;
import io.explainstream.model.LlamaModel;
import io.explainstream.model.ModelOptions;
import io.explainstream.model.RandomCheckpoint;
import io.explainstream.model.RopeScaling;
import io.explainstream.model.TensorDtype;
import io.explainstream.tokenize.EncodedText;
import io.explainstream.tokenize.LlamaTokenizer;
import io.explainstream.tokenize.Token;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adaptive steps with {@code integration = clenshaw_curtis}, on a generated checkpoint (random
 * weights, the bundled model's shape) whose path integrands are smooth, as those of the bench's
 * generated checkpoints are: what the explanation reports reproduces with fixed steps, and it
 * reaches the tolerance with fewer points than the trapezoid there.
 */
class ClenshawCurtisModelTest {

    private static final double TOLERANCE = 0.01;

    @Test
    void adaptiveClenshawCurtisReproducesWithFixedStepsAndNeedsFewerPointsOnSmoothIntegrands(@TempDir Path dir) throws Exception {
        RandomCheckpoint.write(new LlamaConfig(64, 172, 8, 8, 8, 5, 512, 2048, 1e-5, 10000.0, RopeScaling.NONE, true, 1, 2, -1), TestData.stories260K(), 1,
                TensorDtype.F32, 1, dir);
        try (LlamaModel model = LlamaModel.load(dir, ModelOptions.CPU_FLOAT32); LlamaTokenizer tokenizer = LlamaTokenizer.load(dir)) {
            AttributionEngine engine = new AttributionEngine(model, tokenizer);
            AttributionSettings sequence = AttributionSettings.DEFAULTS.withSteps(9).withIntegration(QuadratureRule.CLENSHAW_CURTIS);
            AttributionSettings matrix = AttributionSettings.DEFAULTS.withSteps(9).withTokenMatrix(true);
            int clenshawCurtisPoints = 0;
            int trapezoidPoints = 0;
            for (AttributionRequest request : randomEvents(tokenizer, 4)) {
                // Sequence mode: every point of the finest level is weighed, so the reported rule and steps give the scores again.
                Attribution adaptive = engine.attribute(request, sequence.withTargetDelta(TOLERANCE));
                assertEquals(QuadratureRule.CLENSHAW_CURTIS, adaptive.settings().integration(), "the explanation names the rule used");
                Attribution fixed = engine.attribute(request, sequence.withSteps(adaptive.steps()));
                for (int i = 0; i < fixed.seqAttr().length; i++) {
                    assertEquals(fixed.seqAttr()[i], adaptive.seqAttr()[i], 2e-5, "seq_attr[" + i + "] at " + adaptive.steps() + " points");
                }
                assertEquals(fixed.sequenceDelta(), adaptive.sequenceDelta(), 2e-5);

                // The token matrix: every target within the tolerance, with fewer points than the trapezoid needs.
                Attribution rows = engine.attribute(request, matrix.withIntegration(QuadratureRule.CLENSHAW_CURTIS).withTargetDelta(TOLERANCE));
                for (int t = 0; t < rows.convergenceDelta().length; t++) {
                    double change = rows.responseLogProbs()[t] - rows.baselineLogProbs()[t];
                    assertTrue(AdaptiveSteps.withinTolerance(TOLERANCE, change, rows.convergenceDelta()[t]), "target " + t + " within the tolerance");
                }
                clenshawCurtisPoints += rows.steps();
                trapezoidPoints += engine.attribute(request, matrix.withIntegration(QuadratureRule.RIEMANN_TRAPEZOID).withTargetDelta(TOLERANCE)).steps();
            }
            assertTrue(clenshawCurtisPoints < trapezoidPoints, "Clenshaw–Curtis " + clenshawCurtisPoints + " points, the trapezoid " + trapezoidPoints);
        }
    }

    /** Events of random tokens (seed 7): a BOS and 15 prompt tokens, 8 response tokens. */
    private static List<AttributionRequest> randomEvents(LlamaTokenizer tokenizer, int count) {
        Random random = new Random(7);
        List<AttributionRequest> events = new ArrayList<>();
        for (int e = 0; e < count; e++) {
            List<Token> prompt = new ArrayList<>(List.of(new Token(tokenizer.bosId(), "<s>", 0, 0)));
            for (int i = 1; i < 16; i++) {
                prompt.add(new Token(3 + random.nextInt(509), "t", i, i + 1));
            }
            List<Token> response = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                response.add(new Token(3 + random.nextInt(509), "t", i, i + 1));
            }
            events.add(new AttributionRequest(new EncodedText("", prompt), new EncodedText("", response)));
        }
        return events;
    }
}
