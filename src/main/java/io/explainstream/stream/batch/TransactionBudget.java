package io.explainstream.stream.batch;

/**
 * The engine time allowed inside one Kafka transaction, shared by all the tasks of the stream
 * thread. Under exactly-once a batch is attributed inside the open transaction, and after a hard
 * crash consumers wait for that transaction to time out; so the engine time of a transaction is
 * bounded by {@code batch.max.seconds} and the transaction timeout is kept small (see
 * {@link ServiceConfig}). The processors of one stream thread share one transaction, which ends at
 * each commit: the budget starts afresh when the thread's commit count moves.
 *
 * <p>Batch sizes come from the measured cost: seconds per unit of the explainer's work estimate
 * ({@link Explainer#work}: padded tokens times path points, as a batch pads every event to its
 * longest), averaged over the last batches. An estimate can be far off; {@link #engineTimeLeft}
 * bounds what an engine call may take whatever it says. Before the first batch the cost is unknown: the batching processor then sends one
 * event alone, so that no batch of many events is cut by nothing (at a large step count such a
 * batch can outlast the transaction timeout, and be aborted and redone). That first batch warms
 * the JVM and libtorch up and overstates the cost: it cuts the next batches, as an upper bound,
 * until the second batch's measurement replaces it, but it never dead-letters an event as too
 * large to commit: that verdict is final, so it waits for a measured cost.
 */
public final class TransactionBudget {

    /**
     * The share of the transaction timeout the engine may take in one transaction, whatever the
     * estimates say: the rest is for the events' other writes and the commit, and a call past it is
     * stopped ({@link #engineTimeLeft}).
     */
    public static final double ENGINE_SHARE = 0.75;

    /** Weight of the newest batch in the running mean of the cost per unit of work. */
    private static final double SMOOTHING = 0.3;

    private final double maxSeconds;
    private final double hardLimitSeconds;
    private double secondsPerWork = Double.NaN;
    private double spentSeconds;
    private double commitsSeen = Double.NaN;
    private boolean warmedUp;
    /** Whether {@link #secondsPerWork} is the warm-up batch's, an upper bound the next measurement replaces. */
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

    /** Estimated engine seconds for this much work; 0 while nothing has been measured. */
    public synchronized double estimate(double work) {
        return Double.isNaN(secondsPerWork) ? 0 : work * secondsPerWork;
    }

    /** Whether a batch of this much work still fits in the open transaction; the first batch of a transaction always does. */
    public synchronized boolean fits(double work) {
        return spentSeconds == 0 || spentSeconds + estimate(work) <= maxSeconds;
    }

    /** Whether a batch of {@code batchWork} (the events taken so far and one more) fits in what is left of the transaction's budget. */
    public synchronized boolean batchFits(double batchWork) {
        return spentSeconds + estimate(batchWork) <= maxSeconds;
    }

    /** Whether no engine time has been spent in the open transaction. */
    public synchronized boolean fresh() {
        return spentSeconds == 0;
    }

    /**
     * The engine time the open transaction has left: {@link #ENGINE_SHARE} of the transaction
     * timeout less what it has spent (at least 0). A call that runs past it must stop, or the broker
     * aborts the transaction and its work is redone, again and again.
     */
    public synchronized java.time.Duration engineTimeLeft() {
        return java.time.Duration.ofNanos((long) (Math.max(0, allowedSeconds() - spentSeconds) * 1e9));
    }

    /** Whether a cost has been measured; before the first batch nothing is known of the engine's speed. */
    public synchronized boolean measured() {
        return !Double.isNaN(secondsPerWork);
    }

    /**
     * Whether one event of this much work is expected to take more engine time than a transaction
     * allows ({@link #ENGINE_SHARE} of its timeout), so that it would be stopped there and could
     * never commit. Only a measured cost says so: the warm-up batch's can be many times the
     * engine's, and would send explainable events to the dead-letter topic.
     */
    public synchronized boolean exceedsTransaction(double work) {
        return !provisional && estimate(work) > allowedSeconds();
    }

    /** The engine time one transaction allows, whatever the estimates: {@link #ENGINE_SHARE} of the transaction timeout. */
    public double allowedSeconds() {
        return ENGINE_SHARE * hardLimitSeconds;
    }

    /**
     * A call of this much work was stopped after {@code seconds} ({@link #engineTimeLeft}): it
     * needed more. The cost per unit becomes at least what that says, so that an event at least as
     * large is dead-lettered at once instead of taking a whole transaction's time again; later
     * batches' measurements bring the cost back down.
     */
    public synchronized void stopped(double seconds, double work) {
        spentSeconds += seconds;
        if (work > 0) {
            double atLeast = seconds / work;
            secondsPerWork = Double.isNaN(secondsPerWork) ? atLeast : Math.max(secondsPerWork, atLeast);
            if (!warmedUp) {
                // The warm-up call's stop is no verdict either: an upper bound until a measurement.
                warmedUp = true;
                provisional = true;
            }
        }
    }

    public synchronized void spent(double seconds, double work) {
        spentSeconds += seconds;
        if (work <= 0) {
            return;
        }
        double cost = seconds / work;
        if (!warmedUp) {
            // The first batch pays for class loading, JIT and libtorch's first allocations: an upper bound, not a cost to average.
            warmedUp = true;
            provisional = true;
            secondsPerWork = cost;
            return;
        }
        secondsPerWork = provisional ? cost : SMOOTHING * cost + (1 - SMOOTHING) * secondsPerWork;
        provisional = false;
    }

    double maxSeconds() {
        return maxSeconds;
    }

    public double hardLimitSeconds() {
        return hardLimitSeconds;
    }
}
