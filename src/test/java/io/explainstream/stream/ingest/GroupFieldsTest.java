package io.explainstream.stream.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
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

    /**
     * A field given twice is read as its first value, the event id too, as diff reads a dead
     * letter's event id (a hostile test: for {"event_id":"h76b-dupfield","event_id":"x",...} the
     * statistics' alert said "e.g. x" where diff named h76b-dupfield).
     */
    @Test
    void aFieldGivenTwiceIsReadAsItsFirstValue() {
        String twice = "{\"event_id\":\"first-id\",\"event_id\":\"x\",\"model\":\"first\",\"model\":\"last\",\"metadata\":{\"a\":\"1\",\"a\":\"2\"},"
                + "\"metadata\":{\"b\":\"3\"}}";
        GroupFields group = read(twice);
        assertEquals("first-id", group.eventId());
        assertEquals("first", group.model());
        assertEquals(Map.of("a", "1"), group.metadata());
        assertEquals("first-id", GroupFields.eventId(twice.getBytes(StandardCharsets.UTF_8)));
        assertNull(GroupFields.eventId("{\"event_id\":7,\"event_id\":\"x\"}".getBytes(StandardCharsets.UTF_8)), "the first value, not the first string");
    }

    /**
     * A record broken after its event_id (a NaN, a cut) names its event, and its group as far as it
     * reads, not being whole: the statistics had named such a dead letter by its key, or "(no key)",
     * where diff named the event id; and a dead letter cut at record.max.bytes counted in the group
     * of all unknown though its model came first (helper-78).
     */
    @Test
    void aRecordBrokenAfterItsEventIdStillNamesItsEvent() {
        for (String broken : List.of("{\"event_id\":\"e-nan\",\"prompt\":\"Once\",\"timestamp\":NaN}", "{\"model\":\"m\",\"event_id\":\"e-cut\",\"prompt\":\"On")) {
            GroupFields group = read(broken);
            assertFalse(group.whole(), broken);
            assertEquals(broken.contains("\"model\"") ? "m" : null, group.model(), "the fields before the break: " + broken);
            assertEquals(broken.substring(broken.indexOf("e-"), broken.indexOf('"', broken.indexOf("e-"))),
                    GroupFields.eventId(broken.getBytes(StandardCharsets.UTF_8)), broken);
        }
        byte[] twoObjects = "{\"event_id\":\"e-two\",\"model\":\"m\"} {\"event_id\":\"other\"}".getBytes(StandardCharsets.UTF_8);
        assertEquals("e-two", GroupFields.eventId(twoObjects), "text after the object: the first object's");
        assertEquals("m", GroupFields.readLeniently(twoObjects).model(), "and its group");
        assertNull(GroupFields.eventId("{\"prompt\":NaN,\"event_id\":\"after\"}".getBytes(StandardCharsets.UTF_8)), "broken before it");
        assertNull(read("{\"prompt\":NaN,\"model\":\"m\"}"), "broken before any field of its group: no group");
        assertNull(GroupFields.eventId("[{\"event_id\":\"in-array\"}]".getBytes(StandardCharsets.UTF_8)));
        assertNull(GroupFields.eventId("{\"meta\":{\"event_id\":\"nested\"}}".getBytes(StandardCharsets.UTF_8)), "top level only");
        assertNull(GroupFields.eventId(null));
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
