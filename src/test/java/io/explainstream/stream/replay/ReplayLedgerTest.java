package io.explainstream.stream.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class ReplayLedgerTest {

    /** A replays topic that also deletes by time (made by hand, or auto-created after it was deleted) loses records: said, naming the fix. */
    @Test
    void aReplaysTopicThatDeletesByTimeIsSaidToLoseRecords() {
        assertEquals(Optional.empty(), ReplayLedger.policyWarning("explainstream-replays", "compact"));
        assertEquals(Optional.of("the replays topic explainstream-replays has cleanup.policy=delete: Kafka deletes its records after its retention.ms,"
                + " and a replay stopped longer can no longer resume; set cleanup.policy=compact"),
                ReplayLedger.policyWarning("explainstream-replays", "delete"));
        assertTrue(ReplayLedger.policyWarning("explainstream-replays", "compact, delete").isPresent());
        assertTrue(ReplayLedger.policyWarning("explainstream-replays", "delete,compact").isPresent());
    }

    @Test
    void theTopicIsNamedAfterTheServicesApplicationId() {
        assertEquals("explainstream-replays", ReplayLedger.topicOf("explainstream"));
    }
}
