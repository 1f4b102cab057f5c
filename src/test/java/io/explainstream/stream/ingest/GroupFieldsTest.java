package io.explainstream.stream.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The one lenient reading of a record's group fields that the event counters and the statistics share. */
class GroupFieldsTest {

    private static GroupFields read(String json) {
        return GroupFields.readLeniently(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aRecordThatFailsDecodingStillNamesItsGroup() {
        GroupFields group = read("{\"event_id\":\"e-1\",\"timestamp\":\"2026-11-29T10:00:00Z\",\"model\":\"m\",\"messages\":[{\"role\":\"tool\"}],"
                + "\"metadata\":{\"tenant\":\"acme\",\"tier\":2,\"tags\":{\"a\":1},\"gone\":null}}");
        assertEquals("e-1", group.eventId());
        assertEquals(Instant.parse("2026-11-29T10:00:00Z").toEpochMilli(), group.timestampMs());
        assertEquals("m", group.model());
        assertEquals(Map.of("tenant", "acme", "tier", "2", "tags", "{\"a\":1}", "gone", "null"), group.metadata(),
                "a value that is not a string is kept as its JSON text, so that such records group apart, not as none");
    }

    @Test
    void aFieldGivenTwiceIsReadAsItsLastValue() {
        GroupFields group = read("{\"model\":\"first\",\"model\":\"last\",\"metadata\":{\"a\":\"1\",\"a\":\"2\"}}");
        assertEquals("last", group.model());
        assertEquals(Map.of("a", "2"), group.metadata());
    }

    @Test
    void missingOrMistypedFieldsAreNull() {
        GroupFields group = read("{\"event_id\":7,\"timestamp\":\"yesterday\",\"model\":[\"m\"]}");
        assertNull(group.eventId());
        assertNull(group.timestampMs());
        assertNull(group.model());
        assertNull(group.metadata(), "no metadata object: grouped as an explanation without metadata");
        assertEquals(Map.of(), group.metadataOrEmpty());
        assertEquals(1_000L, read("{\"timestamp\":1000}").timestampMs(), "epoch milliseconds, as the input decoder reads them");
    }

    @Test
    void whatIsNotAJsonObjectHasNoGroup() {
        assertNull(read("{not json"));
        assertNull(read("[1,2]"));
        assertNull(read("\"text\""));
        assertNull(GroupFields.readLeniently(new byte[0]));
        assertNull(GroupFields.readLeniently(null));
        assertNull(GroupFields.readLeniently(new byte[] {(byte) 0xC3, (byte) 0x28}), "not UTF-8");
    }
}
