package io.explainstream.attribution;

import java.util.function.Function;

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
 *     integrate with a nested rule instead of {@code integration} ({@link NestedRule#refining}): Clenshaw–Curtis for
 *     itself and for Gauss–Legendre, the trapezoid for itself
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

    /**
     * The options a refusal can name. The engine, the CLI and the service's configuration spell
     * them differently ({@code target-delta}, {@code --target-delta}, {@code attribution.target.delta}),
     * so a refusal is kept as a function of the spelling ({@link Refused#message}).
     */
    public enum Option {
        INTEGRATION("integration"),
        STEPS("steps"),
        TARGET_DELTA("target-delta"),
        MAX_STEPS("max-steps"),
        MAX_BATCH_TOKENS("max-batch-tokens"),
        BASELINE("baseline");

        private final String optionName;

        Option(String optionName) {
            this.optionName = optionName;
        }

        public String optionName() {
            return optionName;
        }

        /** The command line's spelling: {@code --target-delta}. */
        public String cliOption() {
            return "--" + optionName;
        }
    }

    /** Settings the engine refuses; {@link #getMessage} names the options as the engine does, {@link #message} as a caller does. */
    public static final class Refused extends IllegalArgumentException {
        private final transient Function<Function<Option, String>, String> text;

        Refused(Function<Function<Option, String>, String> text) {
            super(text.apply(Option::optionName));
            this.text = text;
        }

        /** The refusal with each option spelled by {@code names}. */
        public String message(Function<Option, String> names) {
            return text.apply(names);
        }
    }

    public AttributionSettings {
        if (steps <= 0) {
            throw new Refused(n -> n.apply(Option.STEPS) + " = " + steps + " must be positive");
        }
        if (steps > STEPS_LIMIT) {
            throw new Refused(n -> n.apply(Option.STEPS) + " = " + steps + " is more than the limit of " + STEPS_LIMIT);
        }
        if (maxSteps > STEPS_LIMIT) {
            throw new Refused(n -> n.apply(Option.MAX_STEPS) + " = " + maxSteps + " is more than the limit of " + STEPS_LIMIT);
        }
        if (method == GradientMethod.INTEGRATED_GRADIENTS && steps < integration.minimumSteps()) {
            throw new Refused(n -> n.apply(Option.STEPS) + " = " + steps + " is too few for " + n.apply(Option.INTEGRATION) + " = "
                    + integration.optionName() + " (at least " + integration.minimumSteps() + ")");
        }
        if (!(targetDelta >= 0 && targetDelta < 1)) {
            // A fraction of |f(x) − f(b)|: 1 or more would accept attributions that sum to nothing like the change.
            throw new Refused(n -> n.apply(Option.TARGET_DELTA) + " = " + targetDelta + " must be a fraction in [0, 1) (0.01 is 1%; 0 turns adaptive steps off)");
        }
        if (targetDelta > 0 && method == GradientMethod.INTEGRATED_GRADIENTS) {
            refuseWhatAdaptiveStepsCannotRefine(integration, steps);
        }
        if (maxSteps < steps) {
            throw new Refused(n -> n.apply(Option.MAX_STEPS) + " = " + maxSteps + " must be at least " + n.apply(Option.STEPS) + " = " + steps);
        }
        if (maxBatchTokens <= 0) {
            throw new Refused(n -> n.apply(Option.MAX_BATCH_TOKENS) + " = " + maxBatchTokens + " must be positive");
        }
    }

    /** Adaptive steps refine a nested rule ({@link NestedRule#refining}): a rule none stands in for, or one point, is refused. */
    private static void refuseWhatAdaptiveStepsCannotRefine(QuadratureRule integration, int steps) {
        if (!NestedRule.refines(integration)) {
            throw new Refused(n -> n.apply(Option.TARGET_DELTA) + " refines a rule whose points nest: " + n.apply(Option.INTEGRATION)
                    + " = gausslegendre or clenshaw_curtis (refined as Clenshaw–Curtis) or riemann_trapezoid; " + n.apply(Option.INTEGRATION) + " = "
                    + integration.optionName() + " has points that do not nest under doubling");
        }
        QuadratureRule nested = NestedRule.refining(integration).reportedAs();
        if (steps < nested.minimumSteps()) {
            throw new Refused(n -> n.apply(Option.STEPS) + " = " + steps + " is too few for " + n.apply(Option.TARGET_DELTA) + ": adaptive steps start from "
                    + nested.optionName() + " with at least " + nested.minimumSteps() + " points");
        }
    }

    public boolean adaptive() {
        return targetDelta > 0 && method == GradientMethod.INTEGRATED_GRADIENTS;
    }

    /** The rule adaptive steps refine in place of {@code integration}, as an explanation reports it: riemann_trapezoid or clenshaw_curtis. */
    public QuadratureRule adaptiveIntegration() {
        return NestedRule.refining(integration).reportedAs();
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
