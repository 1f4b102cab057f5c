package io.explainstream.stats;

import java.util.Map;
import java.util.TreeMap;

/**
 * Counts of non-negative values in logarithmic buckets: bucket i holds (γ^(i-1), γ^i] with
 * γ = 1.02, so a quantile read back from it is within 1% of the true one, whatever the spread
 * (a millisecond or an hour), in a few hundred buckets at most. The largest value and the smallest
 * positive one are kept exactly, and a quantile never reads outside them: every share of a window
 * at 1.0 read p10 = 0.990 (the bucket's middle), so a rule such as share.prompt.p10 >= 1 could
 * never fire, and a window of one event read another value than its own.
 * Mutable: it lives inside one window's aggregate.
 */
public final class LogHistogram {

    static final double GAMMA = 1.02;
    private static final double LOG_GAMMA = Math.log(GAMMA);

    /** Bucket index → count; values ≤ 0 are counted in {@link #zeros}. Public for the JSON codec of the store. */
    public TreeMap<Integer, Long> buckets = new TreeMap<>();
    public long zeros;
    public long count;
    public double max;
    /**
     * The smallest positive value; 0 while there is none, or when a histogram stored before this
     * was kept had positive values (then unknown, and no lower bound is applied).
     */
    public double min;

    public void add(double value) {
        count++;
        if (!(value > 0)) {
            zeros++;
            return;
        }
        max = Math.max(max, value);
        long positives = count - zeros;
        min = positives == 1 ? value : min > 0 ? Math.min(min, value) : 0;
        buckets.merge((int) Math.ceil(Math.log(value) / LOG_GAMMA), 1L, Long::sum);
    }

    /** The value at quantile q (nearest rank), as the middle of its bucket in relative terms; 0 when empty. */
    public double quantile(double q) {
        if (count == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(q * count));
        long seen = zeros;
        if (seen >= rank) {
            return 0;
        }
        for (Map.Entry<Integer, Long> bucket : buckets.entrySet()) {
            seen += bucket.getValue();
            if (seen >= rank) {
                // (γ^(i-1), γ^i]: 2γ^i/(γ+1) is within (γ-1)/(γ+1) < 1% of every value in it.
                return Math.max(min, Math.min(max, 2 * Math.pow(GAMMA, bucket.getKey()) / (GAMMA + 1)));
            }
        }
        return max;
    }
}
