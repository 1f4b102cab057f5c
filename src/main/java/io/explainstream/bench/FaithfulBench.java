package io.explainstream.bench;

import static io.explainstream.attribution.NonFiniteAttributionException.requireFinite;

import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionEngine;
import io.explainstream.attribution.AttributionRequest;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.QuadratureRule;
import io.explainstream.attribution.PerTargetReference;
import io.explainstream.model.LlamaModel;
import io.explainstream.model.ModelOptions;
import io.explainstream.tokenize.LlamaTokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.IntToDoubleFunction;

/**
 * Time to a faithful answer: per shape, the steps and time each side needs to bring every target's
 * delta within the tolerance, |delta_t| ≤ tolerance · max(|f_t(x) − f_t(b)|, 0.01).
 *
 * <ul>
 *   <li>token matrix, adaptive: the engine with {@code target-delta}, its nested rule (Clenshaw–Curtis,
 *       or the trapezoid) refined on its nested points, each target to its own level; it checks
 *       every target itself.
 *   <li>seq_attr: the engine's sequence mode at the points the adaptive matrix needed (its finest
 *       level), fixed, and an untimed matrix run at those points that checks every target there.
 *       Sequence mode cannot see a single target's delta, so this is what sequence attribution
 *       costs once the steps are known.
 *   <li>per-target (Captum's algorithm, {@link PerTargetReference}) with Gauss–Legendre, each
 *       target on its own: steps doubled from {@code --steps} until its delta meets the tolerance.
 *       Its time is the final run of each target only, as if the steps had been known: a lower
 *       bound on what Captum costs, which runs all targets of a call at one step count. What the
 *       doubling itself cost is printed beside it.
 * </ul>
 *
 * The three take turns on each event, so that the machine's drift falls on all of them alike.
 *
 * <p>Then, per shape, time to the sequence's own delta, what sequence attribution reports and what
 * the service's {@code attribution.target.delta} checks without the matrix: |Σ_i seq_attr_i −
 * (F(x) − F(b))| ≤ tolerance · max(|F(x) − F(b)|, 0.01) with F = Σ_t f_t.
 *
 * <ul>
 *   <li>seq_attr, adaptive: the engine's sequence mode with {@code target-delta}, from {@code --steps}
 *       points; it checks itself, and its time includes every level.
 *   <li>per-target, one step count: Captum's algorithm with Gauss–Legendre, every target at one
 *       step count as Captum's {@code n_steps} gives them, doubled from {@code --steps} until the
 *       sum of the targets' rows meets the tolerance; again only the final run is timed.
 * </ul>
 */
public final class FaithfulBench {

    /** One side's figures for one shape: steps and ms per event. */
    private record Side(String name, int[] steps, double[] ms) {}

    /** The side column: as wide as the longest side's name. */
    private static final int SIDE_WIDTH = 36;

    private final PrintWriter out;

    public FaithfulBench(PrintWriter out) {
        this.out = out;
    }

    /**
     * @param adaptive the engine's settings: first steps, their cap and the tolerance (target-delta)
     * @param repeat events per shape, at least 1
     */
    public void run(List<Path> models, List<EngineBench.Case> cases, AttributionSettings adaptive, int repeat) {
        for (Path modelDir : models) {
            try (LlamaModel model = LlamaModel.load(modelDir, ModelOptions.CPU_FLOAT32);
                    LlamaTokenizer tokenizer = LlamaTokenizer.load(modelDir)) {
                AttributionEngine engine = new AttributionEngine(model, tokenizer);
                for (EngineBench.Case shape : cases) {
                    benchCase(engine, model, tokenizer, modelDir.getFileName().toString(), shape, adaptive.withTokenMatrix(true), repeat);
                }
            }
        }
    }

    private void benchCase(AttributionEngine engine, LlamaModel model, LlamaTokenizer tokenizer, String name, EngineBench.Case shape,
            AttributionSettings adaptive, int repeat) {
        List<AttributionRequest> events = EngineBench.randomEvents(tokenizer, model.config(), shape, repeat, 7);
        PerTargetReference reference = new PerTargetReference(model, adaptive.maxBatchTokens());
        // Every attribution is checked as it comes: a model that gives NaN or infinity has no time or delta worth reporting.
        requireFinite(engine.attribute(events.get(0), adaptive.withTargetDelta(0).withTokenMatrix(false))); // warm-up
        Side matrix = new Side("token matrix, adaptive", new int[repeat], new double[repeat]);
        Side sequence = new Side("seq_attr at those points", new int[repeat], new double[repeat]);
        Side perTarget = new Side("per-target GL, known steps", new int[repeat], new double[repeat]);
        double[] doublingMs = new double[repeat];
        double worstMatrix = 0;
        double worstSequence = 0;
        double worstPerTarget = 0;
        int[] perTargetFewest = new int[repeat];
        for (int e = 0; e < repeat; e++) {
            AttributionRequest event = events.get(e);
            long started = System.nanoTime();
            Attribution explained = engine.attribute(event, adaptive);
            matrix.ms()[e] = (System.nanoTime() - started) / 1e6;
            requireFinite(explained);
            matrix.steps()[e] = explained.steps();
            worstMatrix = Math.max(worstMatrix, worstRelativeDelta(explained, explained.convergenceDelta()));

            // The rule the adaptive run reports (the trapezoid, or Clenshaw–Curtis), at its finest level's points.
            AttributionSettings fixed = AttributionSettings.DEFAULTS.withIntegration(explained.settings().integration()).withSteps(explained.steps());
            started = System.nanoTime();
            engine.attribute(event, fixed);
            sequence.ms()[e] = (System.nanoTime() - started) / 1e6;
            sequence.steps()[e] = explained.steps();
            Attribution check = requireFinite(engine.attribute(event, fixed.withTokenMatrix(true))); // untimed: every target at those points
            worstSequence = Math.max(worstSequence, worstRelativeDelta(check, check.convergenceDelta()));

            boolean[] attributed = EngineBench.attributedPositions(explained);
            int most = 0;
            int least = Integer.MAX_VALUE;
            for (int t = 0; t < explained.responseLogProbs().length; t++) {
                int target = t;
                Doubling found = doubleUntilWithin(adaptive, explained.responseLogProbs()[t] - explained.baselineLogProbs()[t],
                        steps -> Arrays.stream(reference.oneTarget(event.prompt().ids(), event.response().ids(), target, attributed, tokenizer.unkId(),
                                QuadratureRule.GAUSSLEGENDRE.quadrature(steps))).sum());
                doublingMs[e] += found.allRunsMs();
                perTarget.ms()[e] += found.finalRunMs();
                most = Math.max(most, found.steps());
                least = Math.min(least, found.steps());
                worstPerTarget = Math.max(worstPerTarget, found.relative());
            }
            perTarget.steps()[e] = most;
            perTargetFewest[e] = least;
        }
        double referenceMs = EngineBench.median(perTarget.ms());
        header(String.format(Locale.ROOT, "time to every target's |delta_t| <= %s * max(|f_t(x) - f_t(b)|, 0.01); engine refines %s from %d points, "
                + "per-target from %d Gauss-Legendre steps, both capped at %d", adaptive.targetDelta(), adaptive.adaptiveIntegration().optionName(),
                adaptive.steps(), adaptive.steps(), adaptive.maxSteps()));
        print(name, shape, matrix, worstMatrix, referenceMs, false);
        print(name, shape, sequence, worstSequence, referenceMs, false);
        print(name, shape, perTarget, worstPerTarget, referenceMs, true);
        out.printf(Locale.ROOT, "%-14s %-9s %-" + SIDE_WIDTH + "s per target %d..%d steps; with the doubling runs that fell short: p50 %.1f ms%n", name, shape,
                "  (per-target, detail)", Arrays.stream(perTargetFewest).min().orElse(0), Arrays.stream(perTarget.steps()).max().orElse(0),
                EngineBench.median(doublingMs));
        out.flush();
        sequenceDelta(engine, tokenizer, reference, events, name, shape, adaptive.withTokenMatrix(false));
    }

    /** Time to the sequence's own delta within the tolerance: the engine's adaptive sequence mode against the per-target algorithm at one step count. */
    private void sequenceDelta(AttributionEngine engine, LlamaTokenizer tokenizer, PerTargetReference reference, List<AttributionRequest> events,
            String name, EngineBench.Case shape, AttributionSettings adaptive) {
        int repeat = events.size();
        Side sequence = new Side("seq_attr, adaptive (sequence delta)", new int[repeat], new double[repeat]);
        Side perTarget = new Side("per-target GL, one step count", new int[repeat], new double[repeat]);
        double[] doublingMs = new double[repeat];
        double worstSequence = 0;
        double worstPerTarget = 0;
        for (int e = 0; e < repeat; e++) {
            AttributionRequest event = events.get(e);
            long started = System.nanoTime();
            Attribution explained = engine.attribute(event, adaptive);
            sequence.ms()[e] = (System.nanoTime() - started) / 1e6;
            requireFinite(explained);
            sequence.steps()[e] = explained.steps();
            double change = sequenceChange(explained);
            worstSequence = Math.max(worstSequence, relative(change, explained.sequenceDelta()));

            boolean[] attributed = EngineBench.attributedPositions(explained);
            Doubling found = doubleUntilWithin(adaptive, change, steps -> Arrays.stream(reference.tokenAttr(event.prompt().ids(), event.response().ids(),
                    attributed, tokenizer.unkId(), QuadratureRule.GAUSSLEGENDRE.quadrature(steps))).flatMapToDouble(Arrays::stream).sum());
            doublingMs[e] = found.allRunsMs();
            perTarget.ms()[e] = found.finalRunMs();
            perTarget.steps()[e] = found.steps();
            worstPerTarget = Math.max(worstPerTarget, found.relative());
        }
        double referenceMs = EngineBench.median(perTarget.ms());
        header(String.format(Locale.ROOT, "time to the sequence's own |delta| <= %s * max(|F(x) - F(b)|, 0.01), F = sum of f_t; engine refines %s from %d "
                + "points, per-target from %d Gauss-Legendre steps for all targets, both capped at %d", adaptive.targetDelta(),
                adaptive.adaptiveIntegration().optionName(), adaptive.steps(), adaptive.steps(), adaptive.maxSteps()));
        print(name, shape, sequence, worstSequence, referenceMs, false);
        print(name, shape, perTarget, worstPerTarget, referenceMs, true);
        out.printf(Locale.ROOT, "%-14s %-9s %-" + SIDE_WIDTH + "s with the doubling runs that fell short: p50 %.1f ms%n", name, shape, "  (per-target, one step count)",
                EngineBench.median(doublingMs));
        out.flush();
    }

    /**
     * Where the per-target algorithm's doubling stopped: its steps, the relative delta there, the
     * time of that run alone (as if the steps had been known) and of every run.
     */
    private record Doubling(int steps, double relative, double finalRunMs, double allRunsMs) {}

    /**
     * Doubles Gauss–Legendre steps from the first steps of {@code adaptive} until the attribution's
     * sum is within its tolerance of {@code change}, or the next doubling would pass its cap.
     *
     * @param sumAt runs the per-target algorithm at the given steps and sums the attribution
     */
    private static Doubling doubleUntilWithin(AttributionSettings adaptive, double change, IntToDoubleFunction sumAt) {
        double allRunsMs = 0;
        for (int steps = adaptive.steps(); ; steps *= 2) {
            long started = System.nanoTime();
            double sum = sumAt.applyAsDouble(steps);
            double ms = (System.nanoTime() - started) / 1e6;
            allRunsMs += ms;
            double relative = relative(change, change - sum);
            if (relative <= adaptive.targetDelta() || 2 * steps > adaptive.maxSteps()) {
                return new Doubling(steps, relative, ms, allRunsMs);
            }
        }
    }

    /** |delta| / max(|change|, 0.01): the tolerance's measure, as the engine's adaptive steps take it. */
    private static double relative(double change, double delta) {
        return Math.abs(delta) / Math.max(Math.abs(change), 0.01);
    }

    /** F(x) − F(b) with F = Σ_t f_t. */
    private static double sequenceChange(Attribution attribution) {
        double change = 0;
        for (int t = 0; t < attribution.responseLogProbs().length; t++) {
            change += attribution.responseLogProbs()[t] - attribution.baselineLogProbs()[t];
        }
        return change;
    }

    /** The largest |delta_t| / max(|f_t(x) − f_t(b)|, 0.01) of an explanation. */
    private static double worstRelativeDelta(Attribution attribution, double[] delta) {
        double worst = 0;
        for (int t = 0; t < delta.length; t++) {
            double change = attribution.responseLogProbs()[t] - attribution.baselineLogProbs()[t];
            worst = Math.max(worst, relative(change, delta[t]));
        }
        return worst;
    }

    /** A table's criterion and column names: each shape prints one table per criterion. */
    private void header(String criterion) {
        out.println();
        out.println(criterion);
        out.printf(Locale.ROOT, "%-14s %-9s %-" + SIDE_WIDTH + "s %-16s %9s %9s %12s  %s%n", "model", "shape", "side", "steps p50 (range)", "p50 ms", "p99 ms",
                "worst rel.", "per-target time over this side's");
    }

    /** One side's row; the reference side (the per-target algorithm) has no ratio of its own. */
    private void print(String model, EngineBench.Case shape, Side side, double worst, double referenceMs, boolean reference) {
        int[] sorted = side.steps().clone();
        Arrays.sort(sorted);
        double p50 = EngineBench.median(side.ms());
        out.printf(Locale.ROOT, "%-14s %-9s %-" + SIDE_WIDTH + "s %-16s %9.1f %9.1f %11.2f%%  %s%n", model, shape, side.name(),
                sorted[sorted.length / 2] + " (" + sorted[0] + "-" + sorted[sorted.length - 1] + ")", p50, EngineBench.percentile(side.ms(), 0.99),
                100 * worst, reference ? "" : String.format(Locale.ROOT, "%.1fx", referenceMs / p50));
        out.flush();
    }
}
