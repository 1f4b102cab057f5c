package io.explainstream.diff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.explainstream.avro.WireFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * diff joins by event id, not by record key: the service keys its records like the input, and a
 * producer may key by conversation or user. (OlderBrokerTest joins 40 events keyed by 7
 * conversations on a broker; these are the edge cases.)
 */
class EventIdsTest {

    @Test
    void anExplanationsEventIdIsReadFromTheFirstFieldOfItsValue() throws IOException {
        String id = "évent-😀-" + "x".repeat(200); // a length that takes two varint bytes
        ByteArrayOutputStream avro = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(avro, null);
        encoder.writeString(id);
        encoder.writeLong(42); // the fields after it
        encoder.flush();
        byte[] value = WireFormat.frame(7, avro.toByteArray());
        assertEquals(id, SpillJoin.eventIdOf(value));
        assertNull(SpillJoin.eventIdOf(Arrays.copyOf(value, WireFormat.HEADER_BYTES + 10)), "cut inside the event id");
        assertNull(SpillJoin.eventIdOf(WireFormat.frame(7, new byte[] {(byte) 0x80})), "cut inside the length");
        assertNull(SpillJoin.eventIdOf(WireFormat.frame(7, new byte[] {0x01})), "a negative length");
    }

    @Test
    void aDeadLettersEventIdIsItsOriginalsElseItsKey() {
        assertEquals("e-7", SpillJoin.deadLetterEventId(record("conv-3", "{\"model\":\"m\",\"meta\":{\"event_id\":\"no\"},\"event_id\":\"e-7\",\"response\":\"\"}")),
                "the JSON event's own event_id, not a nested one, not the conversation key");
        assertEquals("e-8", SpillJoin.deadLetterEventId(record("conv-3", "{\"event_id\":\"e-8\",\"timestamp\":yesterday}")),
                "found before the JSON breaks");
        assertEquals("dup-first", SpillJoin.deadLetterEventId(record("conv-3", "{\"event_id\":\"dup-first\",\"event_id\":\"x\",\"prompt\":\"a\"}")),
                "the first of two, as the statistics read it (StatsTopologyTest.anAlertNamesADeadLetterByTheEventIdDiffNamesItBy)");
        assertEquals("nan-1", SpillJoin.deadLetterEventId(record("conv-9", "{\"event_id\":\"nan-1\",\"prompt\":\"Once\",\"timestamp\":NaN}")));
        assertEquals("conv-3", SpillJoin.deadLetterEventId(record("conv-3", "{not json")), "nothing else to go by");
        assertEquals("conv-3", SpillJoin.deadLetterEventId(record("conv-3", "{\"event_id\":7}")), "an event_id that is not a string");
        assertNull(SpillJoin.deadLetterEventId(record(null, "{not json")));
        assertEquals("k", SpillJoin.deadLetterEventId(record("k", null)));
    }

    private static ConsumerRecord<byte[], byte[]> record(String key, String value) {
        return new ConsumerRecord<>("dlq", 0, 0, key == null ? null : key.getBytes(StandardCharsets.UTF_8),
                value == null ? null : value.getBytes(StandardCharsets.UTF_8));
    }
}
