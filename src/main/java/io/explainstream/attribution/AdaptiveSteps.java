package io.explainstream.attribution;

import io.explainstream.attribution.IntegratedGradients.Endpoints;
import io.explainstream.attribution.IntegratedGradients.Integrand;
import io.explainstream.attribution.IntegratedGradients.Mode;
import io.explainstream.attribution.IntegratedGradients.Path;
import io.explainstream.attribution.IntegratedGradients.Scores;
import io.explainstream.attribution.IntegratedGradients.TargetFunction;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Adaptive steps: integrate with a {@link NestedRule} of n intervals, and while an objective's
 * completeness delta is over the tolerance, double n. The rule's points nest, so a refinement
 * evaluates only the n new points and weighs them together with every gradient already computed:
 * reaching n intervals costs n + 1 points, where doubling Gauss–Legendre costs every level's points
 * (50 + 100 + 200 for 200).
 *
 * <p>An objective is what a delta is checked for: Σ_t f_t in sequence mode, and each target f_t
 * in the token matrix, where a target that has converged keeps its level and takes no further
 * backward passes; the forward passes at the new points serve the targets still open.
 *
 * <p>The integrand is kept per point, (L) per objective, because refining changes every point's
 * weight: n + 1 points × T × L doubles per event in matrix mode (785 points, 32 targets and 300
 * positions are 60 MB), one row per point in sequence mode.
 */
final class AdaptiveSteps {

    /** Below this |f_t(x) − f_t(b)|, the tolerance is taken relative to it instead. */
    static final double ABSOLUTE_DELTA_FLOOR = 1e-2;

    private AdaptiveSteps() {}

    /**
     * What adaptive steps asked of the model, over all events and levels.
     *
     * @param points path points evaluated (rows of forward passes)
     * @param backwardPasses backward passes run, over all chunks
     * @param targetRefinements in matrix mode, (event, target) pairs differentiated at a level after the first
     */
    record Work(int points, int backwardPasses, int targetRefinements) {}

    /**
     * @param scores each event's scores, in event order
     * @param steps each event's points at its finest level
     * @param targetSteps in matrix mode, each event's (T) points at the level each target converged
     *     at (its row is the fixed-steps row there); empty arrays in sequence mode
     * @param work what it cost
     */
    record Result(List<Scores> scores, int[] steps, int[][] targetSteps, Work work) {}

    /**
     * The settings of one call.
     *
     * @param rule the nested rule
     * @param firstPoints points of the first level (n + 1), at least 2
     * @param maxPoints no level beyond this many points
     * @param tolerance |delta| ≤ tolerance · max(|change|, floor) is converged
     */
    record Plan(NestedRule rule, int firstPoints, int maxPoints, double tolerance) {}

    /** One event's integrand per point of its finest level, and each objective's level. */
    private static final class EventState {
        final double[] change; // (O) f(x) − f(b) of each objective
        int intervals;
        double[][][] values; // [j][o] → (L), null for points objective o was not refined at
        final int[] objectiveIntervals; // (O) the level each objective was last integrated at
        final boolean[] open; // (O)

        EventState(double[] change, int intervals) {
            this.change = change;
            this.intervals = intervals;
            this.values = new double[intervals + 1][][];
            this.objectiveIntervals = new int[change.length];
            this.open = new boolean[change.length];
            Arrays.fill(open, true);
        }

        boolean anyOpen() {
            for (boolean o : open) {
                if (o) {
                    return true;
                }
            }
            return false;
        }
    }

    static Result integrate(Path path, TargetFunction f, Endpoints endpoints, Plan plan, Mode mode, Chunking chunking) {
        int events = path.events();
        EventState[] states = new EventState[events];
        for (int e = 0; e < events; e++) {
            states[e] = new EventState(changes(endpoints.input()[e], endpoints.baseline()[e], mode), Math.max(1, plan.firstPoints() - 1));
        }
        int points = 0;
        int backwardPasses = 0;
        int targetRefinements = 0;
        boolean first = true;
        while (true) {
            // The rows of this level: every point at first, then the odd points the doubling added.
            List<int[]> rows = new ArrayList<>(); // {event, j}
            for (int e = 0; e < events; e++) {
                EventState state = states[e];
                if (!state.anyOpen()) {
                    continue;
                }
                for (int j = first ? 0 : 1; j <= state.intervals; j += first ? 1 : 2) {
                    rows.add(new int[] {e, j});
                }
                if (!first && mode == Mode.MATRIX) {
                    for (boolean open : state.open) {
                        targetRefinements += open ? 1 : 0;
                    }
                }
            }
            if (rows.isEmpty()) {
                break;
            }
            int[] rowEvent = rows.stream().mapToInt(row -> row[0]).toArray();
            double[] rowAlpha = rows.stream().mapToDouble(row -> plan.rule().alpha(row[1], states[row[0]].intervals)).toArray();
            Integrand integrand = IntegratedGradients.integrand(path, f, rowEvent, rowAlpha, mode, (e, t) -> states[e].open[t], chunking);
            points += rowEvent.length;
            backwardPasses += integrand.backwardPasses();
            for (int r = 0; r < rowEvent.length; r++) {
                states[rowEvent[r]].values[rows.get(r)[1]] = merge(states[rowEvent[r]].values[rows.get(r)[1]], integrand.values()[r]);
            }
            for (EventState state : states) {
                if (state.anyOpen()) {
                    check(state, plan);
                }
            }
            first = false;
        }
        List<Scores> scores = new ArrayList<>();
        int[] steps = new int[events];
        int[][] targetSteps = new int[events][];
        for (int e = 0; e < events; e++) {
            scores.add(scores(states[e], plan.rule(), mode, path.length()));
            steps[e] = states[e].intervals + 1;
            targetSteps[e] = mode == Mode.MATRIX ? Arrays.stream(states[e].objectiveIntervals).map(n -> n + 1).toArray() : new int[0];
        }
        return new Result(scores, steps, targetSteps, new Work(points, backwardPasses, targetRefinements));
    }

    /** f(x) − f(b) per objective: Σ_t in sequence mode, each t in matrix mode. */
    private static double[] changes(double[] input, double[] baseline, Mode mode) {
        double[] change = new double[input.length];
        for (int t = 0; t < change.length; t++) {
            change[t] = input[t] - baseline[t];
        }
        if (mode == Mode.MATRIX) {
            return change;
        }
        double total = 0;
        for (double c : change) {
            total += c;
        }
        return new double[] {total};
    }

    /** Closes the objectives within the tolerance, and those the cap stops; doubles the level of an event with any left open. */
    private static void check(EventState state, Plan plan) {
        boolean canRefine = 2 * state.intervals + 1 <= plan.maxPoints();
        for (int o = 0; o < state.open.length; o++) {
            if (!state.open[o]) {
                continue;
            }
            state.objectiveIntervals[o] = state.intervals;
            double delta = state.change[o] - sum(integral(state, o, plan.rule()));
            // A NaN delta (the model overflowed: inf − inf) fails every tolerance, and more points do not
            // make it a number; refining it would only spend the passes up to the cap before its event is refused.
            if (withinTolerance(plan.tolerance(), state.change[o], delta) || !canRefine || Double.isNaN(delta)) {
                state.open[o] = false;
            }
        }
        if (state.anyOpen()) {
            // Point j of n intervals is point 2j of 2n: the gradients move, nothing is recomputed.
            double[][][] refined = new double[2 * state.intervals + 1][][];
            for (int j = 0; j <= state.intervals; j++) {
                refined[2 * j] = state.values[j];
            }
            state.values = refined;
            state.intervals *= 2;
        }
    }

    static boolean withinTolerance(double tolerance, double change, double delta) {
        return Math.abs(delta) <= tolerance * Math.max(Math.abs(change), ABSOLUTE_DELTA_FLOOR);
    }

    /** (L) Σ_j w_j · g_j of objective o, with the rule at the level o was last integrated at. */
    private static double[] integral(EventState state, int o, NestedRule rule) {
        int intervals = state.objectiveIntervals[o];
        int stride = state.intervals / intervals;
        Quadrature quadrature = rule.withIntervals(intervals);
        double[] total = null;
        for (int j = 0; j <= intervals; j++) {
            double[] g = state.values[j * stride][o]; // (L)
            if (total == null) {
                total = new double[g.length];
            }
            for (int i = 0; i < g.length; i++) {
                total[i] += quadrature.weights()[j] * g[i];
            }
        }
        return total;
    }

    private static Scores scores(EventState state, NestedRule rule, Mode mode, int length) {
        if (mode == Mode.SEQUENCE) {
            return new Scores.Sequence(integral(state, 0, rule));
        }
        double[][] tokenAttr = new double[state.open.length][];
        for (int t = 0; t < tokenAttr.length; t++) {
            tokenAttr[t] = integral(state, t, rule);
        }
        return new Scores.Matrix(tokenAttr);
    }

    /** A point's integrand so far, with the objectives this pass added. */
    private static double[][] merge(double[][] known, double[][] added) {
        if (known == null) {
            return added;
        }
        for (int o = 0; o < added.length; o++) {
            if (added[o] != null) {
                known[o] = added[o];
            }
        }
        return known;
    }

    private static double sum(double[] values) {
        double total = 0;
        for (double value : values) {
            total += value;
        }
        return total;
    }
}
