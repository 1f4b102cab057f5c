package io.explainstream.diff;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.explainstream.stream.config.KafkaClients;
import io.explainstream.testing.InJvmKafka;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class WriteTimeLeadTest {

    private static final long HOUR = Duration.ofHours(1).toMillis();
    private static final long MARGIN = WriteTimeLead.CLOCK_MARGIN_MS;

    @Test
    void aRangeIsReadFromItsStartLessTheLeadAndNeverBeforeTheFirstRecord() {
        assertEquals(10 * HOUR - HOUR - MARGIN, WriteTimeLead.readFrom(10 * HOUR, HOUR + MARGIN));
        assertEquals(10 * HOUR, WriteTimeLead.readFrom(10 * HOUR, 0));
        assertEquals(Long.MIN_VALUE, WriteTimeLead.readFrom(10 * HOUR, Long.MAX_VALUE), "no bound: from the beginning");
        assertEquals(Long.MIN_VALUE, WriteTimeLead.readFrom(HOUR, 2 * HOUR), "not before 1970");
        assertEquals(Long.MIN_VALUE, WriteTimeLead.readFrom(Long.MIN_VALUE, 0), "no --from");
    }

    /**
     * On a broker with Kafka 4's defaults (one hour ahead): a topic that bounds the future may hold
     * records written before their events' time by as much as the input let them be ahead.
     */
    @Test
    @Tag("slow")
    void theLeadIsTheInputsBoundAheadWhereTheTopicReadMovesRecordsBack() throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start()) {
            kafka.createTopic("lead-in", 1, Map.of("message.timestamp.after.max.ms", Long.toString(3 * HOUR)));
            kafka.createTopic("lead-in-unbounded", 1, Map.of("message.timestamp.after.max.ms", Long.toString(Long.MAX_VALUE)));
            kafka.createTopic("lead-in-append", 1, Map.of("message.timestamp.type", "LogAppendTime"));
            kafka.createTopic("lead-out", 1);
            kafka.createTopic("lead-out-any", 1, Map.of("message.timestamp.after.max.ms", Long.toString(Long.MAX_VALUE)));
            try (Admin admin = KafkaClients.admin(kafka.clientSettings())) {
                List<String> read = List.of("lead-out", "lead-out-any");
                assertEquals(Map.of("lead-out", 3 * HOUR + MARGIN, "lead-out-any", 0L), WriteTimeLead.ofTopics(admin, read, Map.of("lead-in", 0L)),
                        "a topic that accepts any time ahead moved nothing back");
                assertEquals(Map.of("lead-out", 3 * HOUR + MARGIN, "lead-out-any", 0L),
                        WriteTimeLead.ofTopics(admin, read, Map.of("lead-in-append", 0L, "lead-in", 0L)), "the largest of the inputs'");
                assertEquals(5 * HOUR + MARGIN, WriteTimeLead.ofTopics(admin, read, Map.of("lead-in", 5 * HOUR)).get("lead-out"),
                        "the wider bound a replay recorded for its input, which has been narrowed since");
                assertEquals(3 * HOUR + MARGIN, WriteTimeLead.ofTopics(admin, read, Map.of("lead-in", HOUR)).get("lead-out"),
                        "the input's own bound where it is wider than the recorded one");
                assertEquals(MARGIN, WriteTimeLead.ofTopics(admin, read, Map.of("lead-in-append", 0L)).get("lead-out"),
                        "an input the broker stamps is never ahead");
                assertEquals(Long.MAX_VALUE, WriteTimeLead.ofTopics(admin, read, Map.of("lead-in-unbounded", 0L)).get("lead-out"));
                assertEquals(Long.MAX_VALUE, WriteTimeLead.ofTopics(admin, read, Map.of("deleted-input", 0L)).get("lead-out"),
                        "an input that is gone bounds nothing");
                assertEquals(3 * HOUR + MARGIN, WriteTimeLead.ofTopics(admin, List.of("not-read-yet"), Map.of("lead-in", 0L)).get("not-read-yet"),
                        "a configuration not read bounds nothing");
            }
        }
    }
}
