package io.explainstream.stream.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** How the engine time inside one transaction is planned from the measured cost. */
class TransactionBudgetTest {

    private final TransactionBudget budget = new TransactionBudget(20, 60);

    @Test
    void untilACostIsMeasuredOnlyTheEventAndTokenLimitsApply() {
        budget.commits(0);
        assertFalse(budget.measured());
        assertEquals(0, budget.estimate(100_000));
        assertTrue(budget.batchFits(100_000), "so the batching processor sends the first event alone");
        assertFalse(budget.exceedsTransaction(100_000));
    }

    /** Whatever the estimates, an engine call may take 3/4 of the transaction timeout less what the transaction has spent. */
    @Test
    void theEngineTimeLeftIsThreeQuartersOfTheTransactionTimeoutLessWhatWasSpent() {
        budget.commits(0);
        assertTrue(budget.fresh());
        assertEquals(java.time.Duration.ofSeconds(45), budget.engineTimeLeft());
        budget.spent(30, 1000);
        assertFalse(budget.fresh());
        assertEquals(java.time.Duration.ofSeconds(15), budget.engineTimeLeft());
        budget.spent(20, 1000);
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
        budget.spent(30, 1000); // the warm-up batch: 30 ms per token, slower than the engine will be
        budget.commits(1);
        assertTrue(budget.measured());
        assertEquals(30.0, budget.estimate(1000), 1e-9, "an upper bound, where nothing was known before");
        assertFalse(budget.batchFits(1000), "30 s would pass the 20 s budget: the next batch is cut");
        assertFalse(budget.exceedsTransaction(20_000), "600 s at the warm-up's cost, but that cost may be tenfold the engine's");
        budget.spent(5, 1000); // measured: 5 ms per token
        assertTrue(budget.exceedsTransaction(9_001), "a measured cost: over 45 s, what a transaction allows, is flagged");
        assertFalse(budget.exceedsTransaction(9_000));
        assertEquals(5.0, budget.estimate(1000), 1e-9, "replaced, not averaged with the warm-up");
        budget.spent(8, 1000); // 8 ms per token
        assertEquals(0.3 * 8 + 0.7 * 5, budget.estimate(1000), 1e-9, "from now on, a running mean");
    }

    @Test
    void batchesAreCutToWhatIsLeftOfTheTransactionAndAFreshOneStartsAtTheNextCommit() {
        budget.commits(0);
        budget.spent(1, 100); // warm-up
        budget.spent(10, 1000); // 10 ms per token
        budget.commits(1);
        assertEquals(5.0, budget.estimate(500), 1e-9);
        assertTrue(budget.batchFits(2000), "20 s of the 20 s budget");
        assertFalse(budget.batchFits(2001));
        budget.spent(15, 1500);
        assertFalse(budget.fits(600), "15 s spent, 6 s more would pass 20 s: wait for the next transaction");
        assertTrue(budget.fits(400));
        budget.commits(1);
        assertFalse(budget.fits(600), "no commit yet: the same transaction");
        budget.commits(2);
        assertTrue(budget.fits(600), "committed: a fresh budget");
        assertTrue(budget.fits(1_000_000), "the first batch of a transaction always goes, however large");
    }

    @Test
    void anEventThatWouldOutlastWhatATransactionAllowsIsFlagged() {
        budget.spent(1, 100);
        budget.spent(10, 1000);
        assertFalse(budget.exceedsTransaction(4500), "45 s: 3/4 of the 60 s timeout, where the engine would be stopped");
        assertTrue(budget.exceedsTransaction(4501));
    }

    /**
     * A call stopped at the limit needed more than it got: the cost is raised to at least that, so
     * that an event as large is flagged at once instead of taking a whole transaction's time again.
     */
    @Test
    void aStoppedCallTeachesTheCostALowerBound() {
        budget.spent(1, 100);
        budget.spent(1, 100); // 10 ms per unit
        budget.commits(1);
        budget.stopped(45, 1000); // stopped after 45 s: at least 45 ms per unit
        assertEquals(45, budget.estimate(1000), 1e-9);
        assertTrue(budget.exceedsTransaction(1001), "an event larger than the stopped one is flagged");
        assertFalse(budget.exceedsTransaction(999), "a smaller one may still fit");
        budget.commits(2);
        budget.spent(1, 100); // short batches bring the cost back down
        assertTrue(budget.estimate(1000) < 45);

        TransactionBudget warmingUp = new TransactionBudget(20, 60);
        warmingUp.commits(0);
        warmingUp.stopped(45, 1000); // the warm-up call itself stopped
        assertFalse(warmingUp.exceedsTransaction(2000), "the warm-up's stop condemns nothing");
        assertEquals(90, warmingUp.estimate(2000), 1e-9, "but it bounds the batches");
    }

    @Test
    void anUnknownCommitCountStartsAFreshBudgetEachTime() {
        budget.spent(1, 100);
        budget.spent(10, 1000);
        budget.spent(19, 1900);
        budget.commits(-1);
        assertTrue(budget.fits(1000), "TopologyTestDriver commits after each record and reports no count");
    }
}
