package io.explainstream.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Which group fields have a value per event or per user (the start warns of them). */
class GroupByTest {

    @Test
    void theEventIdTheEventsTimestampsAndIdentifyingMetadataKeysArePerEvent() {
        assertEquals(List.of("event_id", "event_time", "processing_time"),
                GroupBy.parse("stats.group.by", "source_model,event_id,event_time,processing_time,model_id,method").perEventFields());
        assertEquals(List.of("metadata.user_id", "metadata.userId", "metadata.trace-id", "metadata.Request_ID", "metadata.session_id",
                "metadata.conversation_id", "metadata.email"),
                GroupBy.parse("stats.group.by", "metadata.user_id,metadata.userId,metadata.trace-id,metadata.Request_ID,metadata.session_id,"
                        + "metadata.conversation_id,metadata.email").perEventFields(),
                "spelled in snake case, camel case, with dashes or in capitals");
    }

    @Test
    void whatADashboardPlotsIsNot() {
        assertEquals(List.of(), GroupBy.parse("stats.group.by", "source_model,model_fingerprint,replay_id,tier,metadata.application,metadata.tenant,"
                + "metadata.tenant_id,metadata.user_agent,metadata.region").perEventFields(),
                "a replay id is one value per replay; a tenant id names a customer, not a user; a user agent names a client");
    }
}
