package io.explainstream.attribution;

/**
 * How to attribute: one value per run, shared by every event of a batch.
 *
 * @param method the attribution method
 * @param integration the quadrature rule (integrated gradients only)
 * @param steps the number of path points; with {@code targetDelta}, the points of the first level of the nested rule
 * @param baseline what replaces attributed tokens at α = 0
 * @param includeBos whether BOS tokens are attributed (replaced by the baseline) or kept as they are
 * @param tokenMatrix whether to compute the per-response-token matrix besides {@code seq_attr}
 * @param targetDelta relative completeness tolerance that triggers more steps; 0 turns adaptation off. Adaptive steps
 *     integrate with a nested rule instead of {@code integration} ({@link NestedRule#refining}): the trapezoid
 * @param maxSteps the cap for adaptive steps
 * @param normalization how normalized scores are derived from raw ones
 * @param maxBatchTokens memory budget: path points × padded sequence length per forward pass
 */
public record AttributionSettings(
        GradientMethod method,
        QuadratureRule integration,
        int steps,
        Baseline baseline,
        boolean includeBos,
        boolean tokenMatrix,
        double targetDelta,
        int maxSteps,
        ScoreNormalization normalization,
        int maxBatchTokens) {

    /**
     * The most path points a run may use (steps and max-steps). Captum's default is 50 and
     * adaptive runs rarely need 800; beyond 10,000 the quadrature's error is far below float32
     * noise, while each point costs a forward and backward pass of the model per event, so a larger
     * number is a typo, not a request (100,000,000 steps would run for years).
     */
    public static final int STEPS_LIMIT = 10_000;

    /** Captum's defaults: 50 Gauss–Legendre steps, {@code <unk>} baseline, BOS skipped ({@link AttributionDefaults}). */
    public static final AttributionSettings DEFAULTS = new AttributionSettings(
            GradientMethod.parse("method", AttributionDefaults.METHOD), QuadratureRule.parse("integration", AttributionDefaults.INTEGRATION),
            Integer.parseInt(AttributionDefaults.STEPS), Baseline.parse("baseline", AttributionDefaults.BASELINE),
            Boolean.parseBoolean(AttributionDefaults.INCLUDE_BOS), Boolean.parseBoolean(AttributionDefaults.TOKEN_MATRIX),
            Double.parseDouble(AttributionDefaults.TARGET_DELTA), Integer.parseInt(AttributionDefaults.MAX_STEPS),
            ScoreNormalization.parse("normalize", AttributionDefaults.NORMALIZE), Integer.parseInt(AttributionDefaults.MAX_BATCH_TOKENS));

    public AttributionSettings {
        if (steps <= 0) {
            throw new IllegalArgumentException("steps = " + steps + " must be positive");
        }
        if (steps > STEPS_LIMIT) {
            throw new IllegalArgumentException("steps = " + steps + " is more than the limit of " + STEPS_LIMIT);
        }
        if (maxSteps > STEPS_LIMIT) {
            throw new IllegalArgumentException("max-steps = " + maxSteps + " is more than the limit of " + STEPS_LIMIT);
        }
        if (method == GradientMethod.INTEGRATED_GRADIENTS) {
            integration.quadrature(steps); // refuses too few steps for the rule, with its name
        }
        if (!(targetDelta >= 0) || Double.isInfinite(targetDelta)) {
            throw new IllegalArgumentException("target-delta = " + targetDelta + " must be a finite number ≥ 0");
        }
        if (targetDelta > 0 && method == GradientMethod.INTEGRATED_GRADIENTS) {
            // refuses a rule whose points do not nest, then too few steps for the nested one, with their names
            NestedRule.refining(integration).reportedAs().quadrature(steps);
        }
        if (maxSteps < steps) {
            throw new IllegalArgumentException("max-steps = " + maxSteps + " must be at least steps = " + steps);
        }
        if (maxBatchTokens <= 0) {
            throw new IllegalArgumentException("max-batch-tokens = " + maxBatchTokens + " must be positive");
        }
    }

    public boolean adaptive() {
        return targetDelta > 0 && method == GradientMethod.INTEGRATED_GRADIENTS;
    }

    public AttributionSettings withMethod(GradientMethod value) {
        return new AttributionSettings(value, integration, steps, baseline, includeBos, tokenMatrix, targetDelta, maxSteps, normalization, maxBatchTokens);
    }

    public AttributionSettings withIntegration(QuadratureRule value) {
        return new AttributionSettings(method, value, steps, baseline, includeBos, tokenMatrix, targetDelta, maxSteps, normalization, maxBatchTokens);
    }

    public AttributionSettings withSteps(int value) {
        return new AttributionSettings(method, integration, value, baseline, includeBos, tokenMatrix, targetDelta, Math.max(maxSteps, value), normalization, maxBatchTokens);
    }

    public AttributionSettings withBaseline(Baseline value) {
        return new AttributionSettings(method, integration, steps, value, includeBos, tokenMatrix, targetDelta, maxSteps, normalization, maxBatchTokens);
    }

    public AttributionSettings withIncludeBos(boolean value) {
        return new AttributionSettings(method, integration, steps, baseline, value, tokenMatrix, targetDelta, maxSteps, normalization, maxBatchTokens);
    }

    public AttributionSettings withTokenMatrix(boolean value) {
        return new AttributionSettings(method, integration, steps, baseline, includeBos, value, targetDelta, maxSteps, normalization, maxBatchTokens);
    }

    public AttributionSettings withTargetDelta(double value) {
        return new AttributionSettings(method, integration, steps, baseline, includeBos, tokenMatrix, value, maxSteps, normalization, maxBatchTokens);
    }

    public AttributionSettings withMaxSteps(int value) {
        return new AttributionSettings(method, integration, steps, baseline, includeBos, tokenMatrix, targetDelta, value, normalization, maxBatchTokens);
    }

    public AttributionSettings withNormalization(ScoreNormalization value) {
        return new AttributionSettings(method, integration, steps, baseline, includeBos, tokenMatrix, targetDelta, maxSteps, value, maxBatchTokens);
    }

    public AttributionSettings withMaxBatchTokens(int value) {
        return new AttributionSettings(method, integration, steps, baseline, includeBos, tokenMatrix, targetDelta, maxSteps, normalization, value);
    }
}
