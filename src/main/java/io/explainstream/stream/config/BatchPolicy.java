package io.explainstream.stream.config;

/**
 * When a batch of waiting events goes to the engine, and how much engine time one transaction may
 * hold.
 *
 * @param maxEvents flush when this many events wait
 * @param maxTokens flush when their prompt + response tokens reach this
 * @param maxWaitMs flush when the oldest has waited this long (wall clock)
 * @param maxSeconds engine seconds per transaction: batches are cut to fit ({@code batch.max.seconds})
 * @param transactionTimeoutMs the producer's transaction timeout, which bounds a transaction's life
 * @param byLength batch events only with events of similar length ({@code batch.by.length})
 */
public record BatchPolicy(int maxEvents, int maxTokens, long maxWaitMs, double maxSeconds, long transactionTimeoutMs, boolean byLength) {

    /** The defaults of batch.max.seconds, producer.transaction.timeout.ms and batch.by.length with these sizes. */
    public BatchPolicy(int maxEvents, int maxTokens, long maxWaitMs) {
        this(maxEvents, maxTokens, maxWaitMs, 20, 60_000, true);
    }

    /** How long a batch may stay in the engine, or events wait, before /health calls the service stalled. */
    public long stallMs() {
        return maxWaitMs + (long) (3 * maxSeconds * 1000);
    }
}
