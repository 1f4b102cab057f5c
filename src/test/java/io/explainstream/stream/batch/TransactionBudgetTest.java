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
        assertEquals(0, budget.estimate(100_000));
        assertTrue(budget.batchFits(100_000));
        assertFalse(budget.exceedsTransaction(100_000));
        budget.spent(30, 100); // the warm-up batch: slow, and not planned by
        assertEquals(0, budget.estimate(100));
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
    void anEventThatWouldOutlastTheTransactionTimeoutIsFlagged() {
        budget.spent(1, 100);
        budget.spent(10, 1000);
        assertFalse(budget.exceedsTransaction(6000), "60 s: at the timeout");
        assertTrue(budget.exceedsTransaction(6001));
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
