package io.explainstream.diff;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * The measures of how an explanation changed, as pure functions of scores: nothing here knows
 * Avro, Kafka or which side is which beyond "replay" (new) and "against" (old).
 */
public final class DiffMeasures {

    private DiffMeasures() {}

    /** One segment's share on both sides; a side without the segment counts it as 0. */
    public record ShareChange(String name, double replayShare, double againstShare) {
        public double change() {
            return replayShare - againstShare;
        }
    }

    /**
     * Positions of the {@code k} largest |score| among the attributed positions, largest first;
     * equal |score| goes to the earlier position, so the choice does not depend on sort stability.
     */
    public static List<Integer> topK(double[] scores, boolean[] attributed, int k) {
        return IntStream.range(0, scores.length).filter(i -> attributed[i]).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -Math.abs(scores[i])).thenComparingInt(i -> i))
                .limit(k).toList();
    }

    /** |a ∩ b| / |a ∪ b|; empty when both are empty (nothing to compare, not "identical"). */
    public static OptionalDouble jaccard(Set<?> a, Set<?> b) {
        Set<Object> union = new HashSet<>(a);
        union.addAll(b);
        if (union.isEmpty()) {
            return OptionalDouble.empty();
        }
        long shared = a.stream().filter(b::contains).count();
        return OptionalDouble.of((double) shared / union.size());
    }

    /** Ranks 1..n of the values, ascending; tied values all get the average of the ranks they span. */
    public static double[] averageRanks(double[] values) {
        Integer[] order = IntStream.range(0, values.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble(i -> values[i]));
        double[] ranks = new double[values.length];
        int start = 0;
        while (start < order.length) {
            int end = start;
            while (end + 1 < order.length && values[order[end + 1]] == values[order[start]]) {
                end++;
            }
            double average = (start + end) / 2.0 + 1;
            for (int i = start; i <= end; i++) {
                ranks[order[i]] = average;
            }
            start = end + 1;
        }
        return ranks;
    }

    /**
     * Spearman's rank correlation: Pearson's correlation of the average ranks (the form that stays
     * exact with ties, unlike 1 - 6Σd²/(n(n²-1))). Empty with fewer than 2 pairs or when either
     * side's values are all equal (no ranking to correlate).
     */
    public static OptionalDouble spearman(double[] replay, double[] against) {
        if (replay.length != against.length) {
            throw new IllegalArgumentException("spearman: " + replay.length + " values against " + against.length);
        }
        if (replay.length < 2) {
            return OptionalDouble.empty();
        }
        return pearson(averageRanks(replay), averageRanks(against));
    }

    static OptionalDouble pearson(double[] x, double[] y) {
        double meanX = Arrays.stream(x).average().orElse(0);
        double meanY = Arrays.stream(y).average().orElse(0);
        double xy = 0;
        double xx = 0;
        double yy = 0;
        for (int i = 0; i < x.length; i++) {
            xy += (x[i] - meanX) * (y[i] - meanY);
            xx += (x[i] - meanX) * (x[i] - meanX);
            yy += (y[i] - meanY) * (y[i] - meanY);
        }
        if (xx == 0 || yy == 0) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(xy / Math.sqrt(xx * yy));
    }

    /**
     * Every segment of either side with its share on both, matched by name: the replay's segments
     * in its order, then those only the other side has.
     */
    public static List<ShareChange> shareChanges(Map<String, Double> replayShares, Map<String, Double> againstShares) {
        Map<String, ShareChange> changes = new LinkedHashMap<>();
        replayShares.forEach((name, share) -> changes.put(name, new ShareChange(name, share, againstShares.getOrDefault(name, 0.0))));
        againstShares.forEach((name, share) -> changes.putIfAbsent(name, new ShareChange(name, 0.0, share)));
        return new ArrayList<>(changes.values());
    }

    /** The largest |change|; 0 without segments. */
    public static double maxShareChange(List<ShareChange> changes) {
        return changes.stream().mapToDouble(c -> Math.abs(c.change())).max().orElse(0);
    }

    /** Σ values of the replay minus Σ values of the other side: for log-probabilities, the change of the response's total. */
    public static double sumChange(List<Double> replay, List<Double> against) {
        return replay.stream().mapToDouble(Double::doubleValue).sum() - against.stream().mapToDouble(Double::doubleValue).sum();
    }

    /**
     * One number to rank events by, in [0, 1]: the mean of (1 - jaccard), (1 - spearman) / 2 and
     * the largest share change, each in [0, 1]; a missing measure counts as "no change", so an event
     * is never ranked high for lacking data.
     */
    public static double change(OptionalDouble jaccard, OptionalDouble spearman, double maxShareChange) {
        double overlap = jaccard.isPresent() ? 1 - jaccard.getAsDouble() : 0;
        double ranks = spearman.isPresent() ? (1 - spearman.getAsDouble()) / 2 : 0;
        return (overlap + ranks + Math.min(1, maxShareChange)) / 3;
    }
}
