package io.explainstream.stream.batch;

/**
 * The engine time allowed inside one Kafka transaction, shared by all the tasks of the stream
 * thread. Under exactly-once a batch is attributed inside the open transaction, and after a hard
 * crash consumers wait for that transaction to time out; so the engine time of a transaction is
 * bounded by {@code batch.max.seconds} and the transaction timeout is kept small (see
 * {@link ServiceConfig}). The processors of one stream thread share one transaction, which ends at
 * each commit: the budget starts afresh when the thread's commit count moves.
 *
 * <p>Batch sizes come from the measured cost: seconds per padded token (a batch pads every event
 * to its longest, so a batch costs its events × its longest prompt + response), averaged over the
 * last batches. Before the first batch the cost is unknown: the batching processor then sends one
 * event alone, so that no batch of many events is cut by nothing (at a large step count such a
 * batch can outlast the transaction timeout, and be aborted and redone). That first batch warms
 * the JVM and libtorch up and overstates the cost: it cuts the next batches, as an upper bound,
 * until the second batch's measurement replaces it, but it never dead-letters an event as too
 * large to commit: that verdict is final, so it waits for a measured cost.
 */
public final class TransactionBudget {

    /** Weight of the newest batch in the running mean of the cost per token. */
    private static final double SMOOTHING = 0.3;

    private final double maxSeconds;
    private final double hardLimitSeconds;
    private double secondsPerToken = Double.NaN;
    private double spentSeconds;
    private double commitsSeen = Double.NaN;
    private boolean warmedUp;
    /** Whether {@link #secondsPerToken} is the warm-up batch's, an upper bound the next measurement replaces. */
    private boolean provisional;

    /**
     * @param maxSeconds engine time per transaction ({@code batch.max.seconds})
     * @param transactionTimeoutSeconds the producer's transaction timeout: an event estimated to take
     *     longer can never commit (the broker aborts its transaction, and the batch is redone forever)
     */
    public TransactionBudget(double maxSeconds, double transactionTimeoutSeconds) {
        this.maxSeconds = maxSeconds;
        this.hardLimitSeconds = transactionTimeoutSeconds;
    }

    /**
     * Tells the budget the thread's commit count; a change means the previous transaction is
     * committed. A negative count (not known, as in TopologyTestDriver, which commits after each
     * record) starts a new budget every time.
     */
    public synchronized void commits(double count) {
        if (count < 0 || count != commitsSeen) {
            commitsSeen = count;
            spentSeconds = 0;
        }
    }

    /** Estimated engine seconds for this many tokens; 0 while nothing has been measured. */
    public synchronized double estimate(int tokens) {
        return Double.isNaN(secondsPerToken) ? 0 : tokens * secondsPerToken;
    }

    /** Whether a batch of this many tokens still fits in the open transaction; the first batch of a transaction always does. */
    public synchronized boolean fits(int tokens) {
        return spentSeconds == 0 || spentSeconds + estimate(tokens) <= maxSeconds;
    }

    /** Whether adding tokens to a batch of {@code batchTokens} keeps it within what is left of the transaction's budget. */
    public synchronized boolean batchFits(int batchTokens) {
        return spentSeconds + estimate(batchTokens) <= maxSeconds;
    }

    /** Whether a cost has been measured; before the first batch nothing is known of the engine's speed. */
    public synchronized boolean measured() {
        return !Double.isNaN(secondsPerToken);
    }

    /**
     * Whether one event of this many tokens is expected to outlast the transaction timeout, so that
     * it could never commit. Only a measured cost says so: the warm-up batch's can be many times the
     * engine's, and would send explainable events to the dead-letter topic.
     */
    public synchronized boolean exceedsTransaction(int tokens) {
        return !provisional && estimate(tokens) > hardLimitSeconds;
    }

    public synchronized void spent(double seconds, int tokens) {
        spentSeconds += seconds;
        if (tokens <= 0) {
            return;
        }
        double cost = seconds / tokens;
        if (!warmedUp) {
            // The first batch pays for class loading, JIT and libtorch's first allocations: an upper bound, not a cost to average.
            warmedUp = true;
            provisional = true;
            secondsPerToken = cost;
            return;
        }
        secondsPerToken = provisional ? cost : SMOOTHING * cost + (1 - SMOOTHING) * secondsPerToken;
        provisional = false;
    }

    double maxSeconds() {
        return maxSeconds;
    }

    public double hardLimitSeconds() {
        return hardLimitSeconds;
    }
}
