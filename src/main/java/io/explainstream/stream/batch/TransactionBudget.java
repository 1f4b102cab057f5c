package io.explainstream.stream.batch;

import io.explainstream.stream.audit.Call;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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
 * longest), averaged over the last batches of each length class (a power of two of the padded
 * length, as the batcher buckets events). A token's cost grows with the length (attention: a token
 * of a 504-token prompt cost 8.5 times one of a 24-token prompt on the bundled model, 8 response tokens each), so one cost
 * for all lengths, learnt on short traffic, ran the first batch of long prompts at 29 s against a
 * 20 s target. A length not measured yet is bounded from the lengths that are, on the model of a
 * token's cost as a + b L with a, b at least 0: over a measured length M, at most L / M times its
 * cost (all attention) and at least its cost (no attention); under a measured length, at most its
 * cost. Batches are cut by the upper bound, so a new length's first batch is planned as if
 * attention were all its work, and measured; an event is judged too large to commit only by the
 * lower bound. An estimate can still be off; {@link #engineTimeLeft} bounds what an engine call
 * may take whatever it says. Before the first batch the cost is unknown: the batching processor then sends one
 * event alone, so that no batch of many events is cut by nothing (at a large step count such a
 * batch can outlast the transaction timeout, and be aborted and redone). That first batch warms
 * the JVM and libtorch up and overstates the cost: it cuts the next batches, as an upper bound,
 * until the second batch's measurement replaces it, but it never dead-letters an event as too
 * large to commit: that verdict is final, so it waits for a measured cost. Likewise the first call
 * at a length, which pays for libtorch's first run at its shapes: stopped, it bounds the batches of
 * that length and the event is tried once more; only a second stop, or a measurement, makes the
 * length's cost a verdict ({@link #stopIsFinal}). And since events of one length vary in engine
 * time, an event whose estimate is only a little past the limit is tried rather than condemned,
 * unless the last two calls at its length were stopped ({@link #exceedsTransaction}).
 */
public final class TransactionBudget {

    /**
     * The share of the transaction timeout the engine may take in one transaction, whatever the
     * estimates say: the rest is for the events' other writes and the commit, and a call past it is
     * stopped ({@link #engineTimeLeft}).
     */
    public static final double ENGINE_SHARE = 0.75;

    /**
     * How far past what a transaction allows an event's least estimate must be before it is
     * dead-lettered untried: the engine time of events of one length varies this much on a busy
     * machine (a hostile test, 15 s allowed: a 507-token event explained in 14.2 s and the next as
     * long stopped at 15.3 s, after which five more as long were dead-lettered untried). Nearer the
     * limit an event is tried, alone, unless the last two calls at its length were stopped
     * ({@link #exceedsTransaction}).
     */
    public static final double NOISE_MARGIN = 0.2;

    /**
     * The most engine time a batch may add to a transaction that already holds some, as a share of
     * what it holds: the explanations written in a transaction are read only once it commits, so a
     * batch added to it holds them up for its whole time. A long prompt's batch run after short
     * ones in one transaction kept them unread for its 4.9 s (bench pipeline --mix).
     */
    public static final double HOLD_UP_SHARE = 0.1;

    /** Weight of the newest batch in the running mean of the cost per unit of work. */
    private static final double SMOOTHING = 0.3;

    /**
     * A batch's engine work in the explainer's unit ({@link Explainer#work}), the length its
     * events are padded to, which sets the cost of a unit, and the kind of engine call (its method
     * and steps): a call's fixed work weighs on its cost per unit more the fewer path points it
     * has, so the cost of a one-point call bounds a 50-step call's from above, never from below.
     */
    public record Work(double units, int length, Call call) {}

    /**
     * The measured cost of a length class: seconds per unit, and the mean padded length it was
     * measured at; {@code confirmed} unless it is only the lower bound of one stopped call, the
     * first at that length, which may have paid for libtorch's first run at new shapes;
     * {@code stopsInARow}: the calls at that length stopped since the last one that completed.
     */
    private record Cost(double secondsPerUnit, double length, boolean confirmed, int stopsInARow) {

        Cost add(double seconds, Work work) {
            return new Cost(SMOOTHING * seconds / work.units() + (1 - SMOOTHING) * secondsPerUnit,
                    SMOOTHING * work.length() + (1 - SMOOTHING) * length, true, 0);
        }

        /** A call stopped after {@code atLeast} seconds per unit: the cost is at least that. */
        Cost stop(double atLeast) {
            return new Cost(Math.max(atLeast, secondsPerUnit), length, true, stopsInARow + 1);
        }
    }

    private final double maxSeconds;
    private final double hardLimitSeconds;
    /** The measured cost of each length class ({@link #lengthClass}), over every kind of call: what cuts batches. */
    private final TreeMap<Integer, Cost> costs = new TreeMap<>();
    /** The same, per kind of call ({@link Work#call}): what condemns an event, which only calls of its kind may. */
    private final Map<Call, TreeMap<Integer, Cost>> costsByKind = new HashMap<>();
    private double spentSeconds;
    private double commitsSeen = Double.NaN;
    private boolean warmedUp;
    /** Whether the only cost known is the warm-up batch's, an upper bound the next measurement replaces. */
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

    /** The length class of a padded length: the exponent of the power of two at or above it, at least 6 (64 tokens; the batcher's length buckets). */
    public static int lengthClass(int length) {
        return Math.max(6, 32 - Integer.numberOfLeadingZeros(Math.max(1, length) - 1));
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

    /**
     * Estimated engine seconds for this much work, at most what it can take by the measured
     * lengths (its own class's cost where measured); 0 while nothing has been measured.
     */
    public synchronized double estimate(Work work) {
        return work.units() * perUnit(work.length(), costs).most();
    }

    /**
     * The least engine seconds this much work can take by the measured lengths (its own class's
     * cost where measured): what condemns an event as too large to commit. 0 while nothing has been measured.
     */
    public synchronized double leastEstimate(Work work) {
        TreeMap<Integer, Cost> confirmed = new TreeMap<>();
        ofKind(work).forEach((lengthClass, cost) -> {
            if (cost.confirmed()) {
                confirmed.put(lengthClass, cost);
            }
        });
        return work.units() * perUnit(work.length(), confirmed).least();
    }

    /** Bounds on the seconds per unit of work at one length. */
    private record PerUnit(double least, double most) {}

    /**
     * The seconds per unit at this length: its class's measured cost, or bounds from the nearest
     * measured classes on either side, on the model of a token's cost as a + b L (a, b at least 0).
     * From a shorter class measured at M tokens: at least its cost (no attention) and at most L / M
     * times it (all attention); from a longer one at N tokens: at most its cost and at least L / N
     * times it. Zero while nothing has been measured.
     */
    private static PerUnit perUnit(int length, TreeMap<Integer, Cost> costs) {
        int lengthClass = lengthClass(length);
        Cost own = costs.get(lengthClass);
        if (own != null) {
            return new PerUnit(own.secondsPerUnit(), own.secondsPerUnit());
        }
        Map.Entry<Integer, Cost> shorter = costs.lowerEntry(lengthClass);
        Map.Entry<Integer, Cost> longer = costs.higherEntry(lengthClass);
        double least = 0;
        double most = Double.POSITIVE_INFINITY;
        if (shorter != null) {
            least = shorter.getValue().secondsPerUnit();
            most = shorter.getValue().secondsPerUnit() * Math.max(1, length / shorter.getValue().length());
        }
        if (longer != null) {
            least = Math.max(least, longer.getValue().secondsPerUnit() * Math.min(1, length / longer.getValue().length()));
            most = Math.min(most, longer.getValue().secondsPerUnit());
        }
        return new PerUnit(least, Double.isInfinite(most) ? 0 : most);
    }

    /** Whether a batch of this much work still fits in the open transaction; the first batch of a transaction always does. */
    public synchronized boolean fits(Work work) {
        return spentSeconds == 0 || spentSeconds + estimate(work) <= maxSeconds;
    }

    /**
     * Whether this work would still fit in what is left of the transaction's budget after
     * {@code seconds} more of engine time: a batch that quicker ones put off to the next
     * transaction could be put off there again, for as long as quick ones come.
     */
    public synchronized boolean fitsAfter(double seconds, Work work) {
        return spentSeconds + seconds + estimate(work) <= maxSeconds;
    }

    /** Whether a batch of {@code batchWork} (the events taken so far and one more) fits in what is left of the transaction's budget. */
    public synchronized boolean batchFits(Work batchWork) {
        return fitsAfter(0, batchWork);
    }

    /**
     * Whether a batch of {@code batchWork} goes in the open transaction rather than the next: the
     * first batch of a transaction always does; after it, a batch estimated at most
     * {@link #HOLD_UP_SHARE} of the engine time the transaction holds, where it fits.
     */
    public synchronized boolean joins(Work batchWork) {
        return spentSeconds == 0 || estimate(batchWork) <= HOLD_UP_SHARE * spentSeconds && fitsAfter(0, batchWork);
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
        return !costs.isEmpty();
    }

    /**
     * Whether one event of this much work is expected to take more engine time than a transaction
     * allows ({@link #ENGINE_SHARE} of its timeout), so that it would be stopped there and could
     * never commit: by the least it can take ({@link #leastEstimate}), since the verdict is final,
     * and by more than the engine's noise ({@link #NOISE_MARGIN}) unless the last two calls at its
     * length were stopped ({@link #lengthStoppedTwice}): nearer the limit, where an event as long
     * may fit one time in two, it is tried. Only a measured cost says so: the warm-up batch's can
     * be many times the engine's, and would send explainable events to the dead-letter topic.
     */
    public synchronized boolean exceedsTransaction(Work work) {
        if (provisional) {
            return false;
        }
        double least = leastEstimate(work);
        return least > allowedSeconds() * (1 + NOISE_MARGIN) || least > allowedSeconds() && lengthStoppedTwice(work);
    }

    /** Whether the last two calls at this work's length class were stopped at the transaction's limit, with none completing since. */
    public synchronized boolean lengthStoppedTwice(Work work) {
        Cost cost = ofKind(work).get(lengthClass(work.length()));
        return cost != null && cost.stopsInARow() >= 2;
    }

    /** The engine time one transaction allows, whatever the estimates: {@link #ENGINE_SHARE} of the transaction timeout. */
    public double allowedSeconds() {
        return ENGINE_SHARE * hardLimitSeconds;
    }

    /**
     * Whether a lone event of this much work, stopped at the transaction's limit now, could never
     * commit: its length class has a cost, measured or from an earlier stop. The first call at a
     * length pays for libtorch's first run at those shapes (a hostile test: a 512-token event
     * stopped at 15.1 s when first seen, and others as long then took 11.9 s), so its stop is no
     * verdict: the event is tried once more in the next transaction.
     */
    public synchronized boolean stopIsFinal(Work work) {
        return !provisional && ofKind(work).containsKey(lengthClass(work.length()));
    }

    /** The costs measured on calls of this work's kind. */
    private TreeMap<Integer, Cost> ofKind(Work work) {
        return costsByKind.getOrDefault(work.call(), new TreeMap<>());
    }

    /** The tables a call of this work teaches: the costs of every kind, and those of its own. */
    private List<TreeMap<Integer, Cost>> tablesOf(Work work) {
        return List.of(costs, costsByKind.computeIfAbsent(work.call(), k -> new TreeMap<>()));
    }

    /**
     * A call of this much work was stopped after {@code seconds} ({@link #engineTimeLeft}): it
     * needed more. The cost of its length class becomes at least what that says, so that an event
     * at least as large is dead-lettered at once instead of taking a whole transaction's time again
     * (once a second stop or a measurement confirms the first stop at a length:
     * {@link #stopIsFinal}; where the stop is its only evidence, an event as large is within the
     * noise of the limit and is tried until two calls in a row are stopped:
     * {@link #exceedsTransaction}); later batches' measurements bring the cost back down.
     */
    public synchronized void stopped(double seconds, Work work) {
        spentSeconds += seconds;
        if (work.units() > 0) {
            double atLeast = seconds / work.units();
            for (TreeMap<Integer, Cost> table : tablesOf(work)) {
                table.merge(lengthClass(work.length()), new Cost(atLeast, work.length(), false, 1), (known, stop) -> known.stop(atLeast));
            }
            if (!warmedUp) {
                // The warm-up call's stop is no verdict either: an upper bound until a measurement.
                warmedUp = true;
                provisional = true;
            }
        }
    }

    public synchronized void spent(double seconds, Work work) {
        spentSeconds += seconds;
        if (work.units() <= 0) {
            return;
        }
        Cost measured = new Cost(seconds / work.units(), work.length(), true, 0);
        if (!warmedUp) {
            // The first batch pays for class loading, JIT and libtorch's first allocations: an upper bound, not a cost to average.
            warmedUp = true;
            provisional = true;
            costs.put(lengthClass(work.length()), measured);
            return;
        }
        if (provisional) {
            // The first measurement replaces the warm-up's bound, whatever its length.
            costs.clear();
            costsByKind.clear();
            provisional = false;
        }
        // A completed call replaces the bound of a first stop at its length (which may have paid for new shapes).
        for (TreeMap<Integer, Cost> table : tablesOf(work)) {
            table.merge(lengthClass(work.length()), measured, (known, latest) -> known.confirmed() ? known.add(seconds, work) : latest);
        }
    }

    double maxSeconds() {
        return maxSeconds;
    }

    public double hardLimitSeconds() {
        return hardLimitSeconds;
    }
}
