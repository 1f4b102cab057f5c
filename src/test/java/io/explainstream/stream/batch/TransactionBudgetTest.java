package io.explainstream.stream.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.attribution.GradientMethod;
import io.explainstream.stream.audit.Call;
import org.junit.jupiter.api.Test;

/** How the engine time inside one transaction is planned from the measured cost. */
class TransactionBudgetTest {

    /** Two kinds of engine call: input x gradient, and integrated gradients at 50 steps (the one most tests make). */
    private static final Call CHEAP = new Call(GradientMethod.INPUT_X_GRADIENT, 1);
    private static final Call FULL = new Call(GradientMethod.INTEGRATED_GRADIENTS, 50);

    private final TransactionBudget budget = new TransactionBudget(20, 60);

    /** Work of events padded to 24 tokens: one length class. */
    private static TransactionBudget.Work w(double units) {
        return new TransactionBudget.Work(units, 24, FULL);
    }

    @Test
    void untilACostIsMeasuredOnlyTheEventAndTokenLimitsApply() {
        budget.commits(0);
        assertFalse(budget.measured());
        assertEquals(0, budget.estimate(w(100_000)));
        assertTrue(budget.batchFits(w(100_000)), "so the batching processor sends the first event alone");
        assertFalse(budget.exceedsTransaction(w(100_000)));
    }

    /**
     * The explanations written in a transaction are read only once it commits: after a batch of
     * 1 s, a batch estimated at 5 s waits for the next transaction, one of 0.1 s goes in this one,
     * and the first batch of a transaction always goes.
     */
    @Test
    void aBatchJoinsATransactionThatHoldsExplanationsOnlyWhereItHoldsThemUpForATenthOfTheirTime() {
        budget.commits(0);
        budget.spent(1, w(100)); // the warm-up
        budget.commits(1);
        budget.spent(1, w(100)); // 0.01 s per unit
        budget.commits(2);
        assertTrue(budget.joins(w(500)), "the first batch of a transaction");
        budget.spent(1, w(100));
        assertFalse(budget.joins(w(500)), "5 s after 1 s");
        assertTrue(budget.joins(w(10)), "0.1 s after 1 s");
        assertFalse(budget.joins(w(11)));
        budget.commits(3);
        assertTrue(budget.joins(w(500)), "after the commit");
    }

    /** Whatever the estimates, an engine call may take 3/4 of the transaction timeout less what the transaction has spent. */
    @Test
    void theEngineTimeLeftIsThreeQuartersOfTheTransactionTimeoutLessWhatWasSpent() {
        budget.commits(0);
        assertTrue(budget.fresh());
        assertEquals(java.time.Duration.ofSeconds(45), budget.engineTimeLeft());
        budget.spent(30, w(1000));
        assertFalse(budget.fresh());
        assertEquals(java.time.Duration.ofSeconds(15), budget.engineTimeLeft());
        budget.spent(20, w(1000));
        assertEquals(java.time.Duration.ZERO, budget.engineTimeLeft(), "never negative");
        budget.commits(1);
        assertTrue(budget.fresh(), "a new transaction");
        assertEquals(java.time.Duration.ofSeconds(45), budget.engineTimeLeft());
    }

    /**
     * The warm-up batch overstates the cost, but it bounds the second batch until that one's own
     * measurement replaces it. It does not condemn an event as too large to commit.
     */
    @Test
    void theWarmUpBatchBoundsTheNextBatchUntilAMeasurementReplacesIt() {
        budget.commits(0);
        budget.spent(30, w(1000)); // the warm-up batch: 30 ms per token, slower than the engine will be
        budget.commits(1);
        assertTrue(budget.measured());
        assertEquals(30.0, budget.estimate(w(1000)), 1e-9, "an upper bound, where nothing was known before");
        assertFalse(budget.batchFits(w(1000)), "30 s would pass the 20 s budget: the next batch is cut");
        assertFalse(budget.exceedsTransaction(w(20_000)), "600 s at the warm-up's cost, but that cost may be tenfold the engine's");
        budget.spent(5, w(1000)); // measured: 5 ms per token
        assertTrue(budget.exceedsTransaction(w(10_801)), "a measured cost: over 54 s, 20% past what a transaction allows, is flagged");
        assertFalse(budget.exceedsTransaction(w(10_800)));
        assertEquals(5.0, budget.estimate(w(1000)), 1e-9, "replaced, not averaged with the warm-up");
        budget.spent(8, w(1000)); // 8 ms per token
        assertEquals(0.3 * 8 + 0.7 * 5, budget.estimate(w(1000)), 1e-9, "from now on, a running mean");
    }

    @Test
    void batchesAreCutToWhatIsLeftOfTheTransactionAndAFreshOneStartsAtTheNextCommit() {
        budget.commits(0);
        budget.spent(1, w(100)); // warm-up
        budget.spent(10, w(1000)); // 10 ms per token
        budget.commits(1);
        assertEquals(5.0, budget.estimate(w(500)), 1e-9);
        assertTrue(budget.batchFits(w(2000)), "20 s of the 20 s budget");
        assertFalse(budget.batchFits(w(2001)));
        budget.spent(15, w(1500));
        assertFalse(budget.fits(w(600)), "15 s spent, 6 s more would pass 20 s: wait for the next transaction");
        assertTrue(budget.fits(w(400)));
        budget.commits(1);
        assertFalse(budget.fits(w(600)), "no commit yet: the same transaction");
        budget.commits(2);
        assertTrue(budget.fits(w(600)), "committed: a fresh budget");
        assertTrue(budget.fits(w(1_000_000)), "the first batch of a transaction always goes, however large");
        assertTrue(budget.fitsAfter(14, w(600)), "after 14 s more, 6 s still fit");
        assertFalse(budget.fitsAfter(14.5, w(600)));
        assertFalse(budget.fitsAfter(0.001, w(2_100)), "21 s goes only as the first batch of a transaction, and nothing before it");
    }

    /** Flagged by the estimate: past what a transaction allows by more than the engine's noise; nearer the limit an event is tried. */
    @Test
    void anEventThatWouldOutlastWhatATransactionAllowsByMoreThanTheNoiseIsFlagged() {
        budget.spent(1, w(100));
        budget.spent(10, w(1000));
        assertFalse(budget.exceedsTransaction(w(4500)), "45 s: 3/4 of the 60 s timeout, where the engine would be stopped");
        assertFalse(budget.exceedsTransaction(w(5400)), "54 s: 20% past it, within the noise of one length's engine times");
        assertTrue(budget.exceedsTransaction(w(5401)));
    }

    /**
     * Events of one length at the limit are a coin toss (a hostile test, 15 s allowed: a 507-token
     * event explained in 14.2 s, the next as long stopped at 15.3 s and dead-lettered, and then five
     * more as long dead-lettered untried by the estimate the stop had raised). One stop after a
     * measurement leaves the next event as long to be tried; two stops in a row condemn the length.
     */
    @Test
    void anEventAsLongAsOneStoppedAfterAnotherFitIsTriedUntilTwoInARowAreStopped() {
        TransactionBudget.Work longEvent = new TransactionBudget.Work(507 * 50, 507, FULL);
        TransactionBudget tight = new TransactionBudget(5, 20);
        tight.commits(0);
        tight.spent(1, w(100)); // warm-up
        tight.spent(0.05, w(100));
        tight.commits(1);
        tight.spent(14.2, longEvent); // explained in 14.2 s of the 15 s allowed
        tight.commits(2);
        tight.stopped(15.3, longEvent); // the next as long, stopped
        assertTrue(tight.stopIsFinal(longEvent), "the stopped event itself is a dead letter: its length's cost is known");
        assertEquals(15.3, tight.leastEstimate(longEvent), 1e-9);
        assertFalse(tight.exceedsTransaction(longEvent), "one stop: the next as long is tried");
        assertFalse(tight.lengthStoppedTwice(longEvent));
        tight.commits(3);
        tight.spent(14.8, longEvent); // and fits
        tight.commits(4);
        tight.stopped(15.2, longEvent);
        assertFalse(tight.exceedsTransaction(longEvent), "a completed call between two stops: still tried");
        tight.commits(5);
        tight.stopped(15.4, longEvent);
        assertTrue(tight.lengthStoppedTwice(longEvent));
        assertTrue(tight.exceedsTransaction(longEvent), "two stops in a row: the length is past the limit");
        assertFalse(tight.exceedsTransaction(new TransactionBudget.Work(400 * 50, 507, FULL)), "an event estimated within the limit is still tried");
        tight.commits(6);
        tight.spent(13, new TransactionBudget.Work(480 * 50, 507, FULL)); // a shorter event of the class completes
        assertFalse(tight.exceedsTransaction(longEvent), "a completed call ends the run of stops");
    }

    /**
     * A call stopped at the limit needed more than it got: the cost is raised to at least that, so
     * that an event as large is flagged at once instead of taking a whole transaction's time again.
     */
    /**
     * A cheap call's cost per unit (one path point: the call's fixed work is all of it) is no lower
     * bound for a call of 50 steps (a hostile test under a CPU hog: a sampled 512-token event was
     * dead-lettered untried, "estimated at 81 s", from one input-x-gradient call at its length of
     * 1,629 ms times 50; such events took 18 to 43 s). Only calls of the same kind (method and
     * steps) condemn; the others still cut batches.
     */
    @Test
    void aCostMeasuredOnCallsOfAnotherKindCondemnsNothing() {
        TransactionBudget hogged = new TransactionBudget(20, 60); // 45 s allowed
        hogged.spent(1, new TransactionBudget.Work(8 * 24, 24, CHEAP)); // warm-up
        hogged.commits(1);
        hogged.spent(1.629, new TransactionBudget.Work(512, 512, CHEAP)); // one cheap event of 512 tokens
        TransactionBudget.Work sampled = new TransactionBudget.Work(512 * 50, 512, FULL);
        assertEquals(81.45, hogged.estimate(sampled), 0.01, "batches are still cut by it, as an upper bound");
        assertFalse(hogged.exceedsTransaction(sampled), "tried: nothing measured of its kind");
        assertFalse(hogged.stopIsFinal(sampled), "and its first stop is no verdict");
        hogged.commits(2);
        hogged.spent(60, new TransactionBudget.Work(512 * 50, 512, FULL)); // one of its kind took 60 s (a test's number)
        assertTrue(hogged.exceedsTransaction(sampled), "measured at its own kind: condemned");
        assertTrue(hogged.stopIsFinal(sampled));
    }

    @Test
    void aStoppedCallTeachesTheCostALowerBound() {
        budget.spent(1, w(100));
        budget.spent(1, w(100)); // 10 ms per unit
        budget.commits(1);
        budget.stopped(45, w(1000)); // stopped after 45 s: at least 45 ms per unit
        assertEquals(45, budget.estimate(w(1000)), 1e-9);
        assertTrue(budget.exceedsTransaction(w(1201)), "an event over 20% larger than the stopped one is flagged");
        assertFalse(budget.exceedsTransaction(w(1001)), "one a little larger is within the noise, and tried");
        budget.commits(2);
        budget.stopped(45, w(1000));
        assertTrue(budget.exceedsTransaction(w(1001)), "stopped twice in a row: an event larger than the stopped ones is flagged");
        assertFalse(budget.exceedsTransaction(w(999)), "a smaller one may still fit");
        budget.commits(3);
        budget.spent(1, w(100)); // short batches bring the cost back down
        assertTrue(budget.estimate(w(1000)) < 45);

        TransactionBudget warmingUp = new TransactionBudget(20, 60);
        warmingUp.commits(0);
        warmingUp.stopped(45, w(1000)); // the warm-up call itself stopped
        assertFalse(warmingUp.exceedsTransaction(w(2000)), "the warm-up's stop condemns nothing");
        assertEquals(90, warmingUp.estimate(w(2000)), 1e-9, "but it bounds the batches");
    }

    /**
     * The first call at a length pays for libtorch's first run at its shapes (a hostile test, with
     * 15 s of engine time to a transaction: a 512-token event stopped at 15.1 s when first seen,
     * the next five as long dead-lettered at once as "could never commit", and one as long then
     * explained in 11.9 s). Its stop bounds the batches of that length but condemns nothing, and the
     * event gets one more try; a second stop, or a measurement, settles the length's cost.
     */
    @Test
    void aFirstStopAtALengthIsNoVerdictUntilASecondStopOrAMeasurement() {
        TransactionBudget.Work shortEvent = new TransactionBudget.Work(32 * 16, 32, FULL);
        TransactionBudget.Work longEvent = new TransactionBudget.Work(512 * 16, 512, FULL);
        TransactionBudget.Work longer = new TransactionBudget.Work(512 * 16 + 1, 512, FULL);
        budget.commits(0);
        budget.spent(1, shortEvent); // warm-up
        budget.spent(0.05, shortEvent); // measured
        assertTrue(budget.stopIsFinal(shortEvent), "a measured length");
        assertFalse(budget.stopIsFinal(longEvent), "the first call at 512 tokens");
        budget.commits(1);
        budget.stopped(45, longEvent); // at the limit: 3/4 of the 60 s timeout
        assertFalse(budget.exceedsTransaction(longer), "the first stop condemns nothing");
        assertEquals(45, budget.estimate(longEvent), 1e-9, "but it bounds the batches");
        assertTrue(budget.stopIsFinal(longEvent), "a second stop would be final");
        budget.commits(2);
        budget.spent(35, longEvent); // the retry fits
        assertEquals(35, budget.estimate(longEvent), 1e-9, "a measurement replaces the first stop's bound");
        assertFalse(budget.exceedsTransaction(longer));

        TransactionBudget twice = new TransactionBudget(20, 60);
        twice.commits(0);
        twice.spent(1, shortEvent);
        twice.spent(0.05, shortEvent);
        twice.commits(1);
        twice.stopped(45, longEvent);
        twice.commits(2);
        twice.stopped(45, longEvent);
        assertTrue(twice.exceedsTransaction(longer), "stopped twice: an event larger than the stopped one is flagged");
    }

    /**
     * On the bundled model an event of a 24-token prompt and 8 response tokens took 50.2 ms at 16
     * steps and one of a 504-token prompt 6,786.9 ms (`bench engine --shapes 24/8,504/8`): a token
     * of the long event costs 8.5 times one of the short. Learnt on short traffic alone, one cost for
     * all lengths planned three long events at 2.4 s, and they took 20.4 s. A length not measured is
     * bounded by the lengths that are: from above as if attention were all its work (a token's cost
     * in proportion to the length), from below as if there were none; batches are cut by the first,
     * events condemned only by the second.
     */
    @Test
    void aLengthNotMeasuredIsBoundedByTheLengthsThatAre() {
        TransactionBudget.Work shortEvent = new TransactionBudget.Work(32 * 16, 32, FULL);
        TransactionBudget.Work longEvent = new TransactionBudget.Work(512 * 16, 512, FULL);
        TransactionBudget.Work threeLong = new TransactionBudget.Work(3 * 512 * 16, 512, FULL);
        budget.commits(0);
        budget.spent(1, shortEvent); // warm-up
        for (int i = 0; i < 5; i++) {
            budget.spent(0.0502, shortEvent);
        }
        budget.commits(1);
        double perUnit = 0.0502 / (32 * 16);
        assertEquals(0.0502, budget.estimate(shortEvent), 1e-9, "its own class: as measured");
        assertEquals(3 * 512 * 16 * perUnit * 512 / 32, budget.estimate(threeLong), 1e-6, "at most: a token's cost times 512 / 32");
        assertFalse(budget.batchFits(threeLong), "38.6 s planned: cut (one cost for all lengths planned 2.4 s)");
        assertEquals(512 * 16 * perUnit, budget.leastEstimate(longEvent), 1e-9, "at least: a token's cost at 32 tokens");
        assertFalse(budget.exceedsTransaction(new TransactionBudget.Work(40 * 512 * 16, 512, FULL)),
                "514 s at most, 32 s at least: not condemned by a bound");

        budget.spent(6.7869, longEvent); // the first long event, alone
        budget.commits(2);
        assertEquals(6.7869, budget.estimate(longEvent), 1e-9, "measured: its own class's cost");
        assertTrue(budget.batchFits(new TransactionBudget.Work(2 * 512 * 16, 512, FULL)), "13.6 s");
        assertFalse(budget.batchFits(threeLong), "20.4 s is over 20 s");
        assertEquals(0.0502, budget.estimate(shortEvent), 1e-9, "the short class keeps its own cost");

        TransactionBudget.Work middle = new TransactionBudget.Work(200 * 16, 200, FULL);
        double longPerUnit = 6.7869 / (512 * 16);
        assertEquals(200 * 16 * Math.min(perUnit * 200 / 32, longPerUnit), budget.estimate(middle), 1e-9,
                "between two measured lengths: at most the longer one's cost per unit");
        assertEquals(200 * 16 * Math.max(perUnit, longPerUnit * 200 / 512), budget.leastEstimate(middle), 1e-9,
                "and at least the longer one's scaled down to its length");
    }

    /** The warm-up's cost bounds every length until the first measurement, at any length, replaces it. */
    @Test
    void theFirstMeasurementReplacesTheWarmUpsBoundAtEveryLength() {
        budget.commits(0);
        budget.spent(30, new TransactionBudget.Work(1000, 24, FULL)); // warm-up: 30 ms per unit
        assertEquals(30 * 21.0, budget.estimate(new TransactionBudget.Work(1000, 504, FULL)), 1e-9, "scaled up from the warm-up's length");
        budget.spent(5, new TransactionBudget.Work(1000, 504, FULL)); // measured: 5 ms per unit at 504 tokens
        assertEquals(5.0, budget.estimate(new TransactionBudget.Work(1000, 24, FULL)), 1e-9, "the warm-up's class is forgotten: at most the longer cost");
        assertEquals(5.0 * 24 / 504, budget.leastEstimate(new TransactionBudget.Work(1000, 24, FULL)), 1e-9);
        assertTrue(budget.exceedsTransaction(new TransactionBudget.Work(10_801, 504, FULL)), "measured, so a verdict");
    }

    @Test
    void anUnknownCommitCountStartsAFreshBudgetEachTime() {
        budget.spent(1, w(100));
        budget.spent(10, w(1000));
        budget.spent(19, w(1900));
        budget.commits(-1);
        assertTrue(budget.fits(w(1000)), "TopologyTestDriver commits after each record and reports no count");
    }
}
