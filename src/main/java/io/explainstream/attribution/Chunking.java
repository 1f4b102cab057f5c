package io.explainstream.attribution;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * How the rows of one call (path points, or events at fixed embeddings) are cut into forward
 * passes: at most {@code rowsPerChunk} rows per pass, and the cancellation check before each.
 *
 * @param rowsPerChunk rows per forward pass, at least 1
 * @param cancelled checked before each forward pass; true stops the call with {@link AttributionCancelledException}
 * @param overdue checked before each forward pass; true stops the call with {@link AttributionTimeLimitException}
 */
record Chunking(int rowsPerChunk, BooleanSupplier cancelled, BooleanSupplier overdue) {

    /** Without a time limit. */
    Chunking(int rowsPerChunk, BooleanSupplier cancelled) {
        this(rowsPerChunk, cancelled, () -> false);
    }

    /** Rows [from, to) of one forward pass. */
    record Range(int from, int to) {

        int[] of(int[] perRow) {
            return Arrays.copyOfRange(perRow, from, to);
        }

        double[] of(double[] perRow) {
            return Arrays.copyOfRange(perRow, from, to);
        }
    }

    Chunking {
        if (rowsPerChunk < 1) {
            throw new IllegalArgumentException("rows per chunk = " + rowsPerChunk + " must be at least 1");
        }
    }

    /** The memory budget for sequences of {@code length} tokens on a model with {@code heads} attention heads. */
    static Chunking of(int maxBatchTokens, int length, int heads, BooleanSupplier cancelled, BooleanSupplier overdue) {
        return new Chunking(rowsPerChunk(maxBatchTokens, length, heads), cancelled, overdue);
    }

    /**
     * Rows (path points) per forward pass: at most {@code maxBatchTokens} tokens, and attention
     * scores (heads × L² per row) of at most 1024 × {@code maxBatchTokens} elements. On a CPU,
     * tensors over glibc's 32 MB mmap threshold are mapped and faulted in afresh each time: with
     * long sequences, scores past that size made passes twice as slow (measured: P401/T48 on the
     * bundled model, 12.2 s with 9 rows per pass, 6.6 s with 2).
     */
    static int rowsPerChunk(int maxBatchTokens, int length, int heads) {
        long byTokens = maxBatchTokens / length;
        long byScores = 1024L * maxBatchTokens / ((long) heads * length * length);
        return (int) Math.max(1, Math.min(byTokens, byScores));
    }

    /** The passes over {@code rows} rows, in order. */
    List<Range> split(int rows) {
        List<Range> ranges = new ArrayList<>();
        for (int from = 0; from < rows; from += rowsPerChunk) {
            ranges.add(new Range(from, Math.min(rows, from + rowsPerChunk)));
        }
        return ranges;
    }

    /**
     * Throws {@link AttributionCancelledException} once the engine is cancelled, and
     * {@link AttributionTimeLimitException} once the call is overdue: called before each forward pass.
     */
    void checkCancelled() {
        if (cancelled.getAsBoolean()) {
            throw new AttributionCancelledException();
        }
        if (overdue.getAsBoolean()) {
            throw new AttributionTimeLimitException();
        }
    }
}
