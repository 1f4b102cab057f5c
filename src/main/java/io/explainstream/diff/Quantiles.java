package io.explainstream.diff;

import java.util.Map;
import java.util.TreeMap;

/**
 * Quantiles of a stream of values in memory that does not grow with the values: exact while there
 * are at most {@link #EXACT_UP_TO} values (kept as they are), beyond that each value is counted in
 * a logarithmic bucket of its magnitude (relative width 2%), so a quantile is known to within 1%
 * relative error; |values| under 1e-12 count as 0 there. At most a few thousand buckets exist for
 * any data (magnitudes 1e-12 to 1e12). Each bucket keeps the least and the largest value it holds,
 * and a quantile is the bucket's midpoint moved into them: a bucket of one value (a Jaccard of 1 for
 * every unchanged event, 1/9 for many) gives that value exactly, where its midpoint read 0.99 for
 * 11,100 unchanged events, and 0.1119, a value no event had.
 */
public final class Quantiles {

    static final double RELATIVE_ERROR = 0.01;
    private static final double GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR);
    private static final double LOG_GAMMA = Math.log(GAMMA);
    private static final double ZERO = 1e-12;

    /** Bucket index by signed key: negative values get negative keys, ordered so the map iterates in value order. */
    private final TreeMap<Integer, Bucket> negative = new TreeMap<>();
    private final TreeMap<Integer, Bucket> positive = new TreeMap<>();
    private long zeros;
    private long count;
    static final int EXACT_UP_TO = 1024;
    private final double[] exact = new double[EXACT_UP_TO];

    public void add(double value) {
        if (Double.isNaN(value)) {
            return;
        }
        if (count < EXACT_UP_TO) {
            exact[(int) count] = value;
        }
        count++;
        double magnitude = Math.abs(value);
        if (magnitude < ZERO) {
            zeros++;
            return;
        }
        int bucket = (int) Math.ceil(Math.log(Math.min(magnitude, 1e300)) / LOG_GAMMA);
        (value < 0 ? negative : positive).computeIfAbsent(bucket, b -> new Bucket(magnitude)).add(magnitude);
    }

    /** The count of a bucket's values and the least and largest of their magnitudes. */
    private static final class Bucket {
        long count;
        double least;
        double largest;

        Bucket(double first) {
            least = first;
            largest = first;
        }

        void add(double magnitude) {
            count++;
            least = Math.min(least, magnitude);
            largest = Math.max(largest, magnitude);
        }

        /** Its midpoint within RELATIVE_ERROR of every value in it, moved into the values it holds. */
        double magnitude(int bucket) {
            return Math.max(least, Math.min(largest, value(bucket)));
        }
    }

    public long count() {
        return count;
    }

    /** The nearest-rank q-quantile (the value at rank ceil(q·n)): exact up to EXACT_UP_TO values, else within 1% relative error; NaN when empty. */
    public double quantile(double q) {
        if (count == 0) {
            return Double.NaN;
        }
        long rank = Math.max(1, (long) Math.ceil(q * count));
        if (count <= EXACT_UP_TO) {
            double[] sorted = java.util.Arrays.copyOf(exact, (int) count);
            java.util.Arrays.sort(sorted);
            return sorted[(int) rank - 1];
        }
        long seen = 0;
        for (Map.Entry<Integer, Bucket> entry : negative.descendingMap().entrySet()) {
            seen += entry.getValue().count;
            if (seen >= rank) {
                return -entry.getValue().magnitude(entry.getKey());
            }
        }
        seen += zeros;
        if (seen >= rank) {
            return 0;
        }
        for (Map.Entry<Integer, Bucket> entry : positive.entrySet()) {
            seen += entry.getValue().count;
            if (seen >= rank) {
                return entry.getValue().magnitude(entry.getKey());
            }
        }
        return positive.lastEntry().getValue().magnitude(positive.lastKey());
    }

    /** The bucket (γ^(i-1), γ^i]'s representative, within RELATIVE_ERROR of every value in it. */
    private static double value(int bucket) {
        return 2 * Math.pow(GAMMA, bucket) / (GAMMA + 1);
    }
}
