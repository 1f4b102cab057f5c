package io.explainstream.stream.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.stream.config.ConfigException;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class ReplayRecordTest {

    private static ReplayTerms terms() {
        return new ReplayTerms("llm-interactions \uD83D\uDE00", "explanations-replay", 1_000, 2_000, new TreeMap<>(Map.of("model.dir",
                "/models/a=b: #c\nd", "attribution.steps", "50")), new TreeMap<>(Map.of(0, 5L, 1, 7L)));
    }

    /** Terms, start, stop and done offsets, the input's bound and the released mark read back as written, for any partition count. */
    @Test
    void theTextReadsBackToTheSameRecord() {
        Map<Integer, Long> stops = new TreeMap<>();
        for (int p = 0; p < 2000; p++) {
            stops.put(p, 1_000_000_000L + p);
        }
        ReplayRecord record = ReplayRecord.starting(terms(), stops, OptionalLong.of(3_600_000)).withDone(Map.of(0, 6L, 1, 7L));
        assertEquals(record, ReplayRecord.decode(record.encode()));
        assertEquals(record.asReleased(), ReplayRecord.decode(record.asReleased().encode()));
        ReplayRecord unbounded = ReplayRecord.starting(terms(), Map.of(), OptionalLong.empty());
        assertEquals(unbounded, ReplayRecord.decode(unbounded.encode()), "a bound not known stays unknown");
    }

    /**
     * The parts --allow-gaps skipped read back as written; a gap found again is new only where it
     * reaches past the parts recorded (retention deleted more since); a record written before
     * records kept skipped parts reads as not knowing them.
     */
    @Test
    void skippedPartsReadBackAndAGapFoundAgainIsNewOnlyPastThem() {
        ReplayRecord started = ReplayRecord.starting(terms(), Map.of(0, 9L, 1, 9L), OptionalLong.empty());
        assertTrue(started.skipsKnown() && started.skipped().isEmpty());
        ReplayRecord once = started.withSkipped(List.of(new ReplayPlan.Gap(1, 0, 5, false), new ReplayPlan.Gap(0, 6, 1, true)));
        assertEquals(once, ReplayRecord.decode(once.encode()));
        // Found again, grown at both ends since: only the growth is new, and needs --allow-gaps.
        List<ReplayPlan.Gap> grown = once.notSkipped(List.of(new ReplayPlan.Gap(0, 4, 5, true), new ReplayPlan.Gap(1, 0, 5, true)));
        assertEquals(List.of(new ReplayPlan.Gap(0, 4, 2, true), new ReplayPlan.Gap(0, 7, 2, true)), grown, "offsets 4..5 and 7..8; 6 was skipped");
        assertEquals(List.of(), once.notSkipped(List.of(new ReplayPlan.Gap(0, 6, 1, true))), "found again as it was: not new");
        ReplayRecord twice = once.withSkipped(grown);
        assertEquals(List.of(new ReplayPlan.Gap(0, 4, 2, true), new ReplayPlan.Gap(0, 6, 1, true), new ReplayPlan.Gap(0, 7, 2, true),
                new ReplayPlan.Gap(1, 0, 5, false)), ReplayRecord.decode(twice.encode()).skipped());
        assertEquals(twice, twice.withSkipped(List.of(new ReplayPlan.Gap(0, 7, 2, true))), "a part recorded once");
        String before = started.encode().lines().filter(line -> !line.startsWith("skipped.")).collect(java.util.stream.Collectors.joining("\n"));
        assertFalse(ReplayRecord.decode(before).skipsKnown(), "a record that predates skipped parts does not know them");
        assertTrue(assertThrows(ConfigException.class, () -> ReplayRecord.decode(started.encode() + "skipped.0=0 6\n")).getMessage()
                .startsWith("the replay's record is not readable"));
    }

    @Test
    void aReplayHasReadNothingWhileItsOffsetsAreItsStartOffsetsOrItWasReleased() {
        ReplayRecord record = ReplayRecord.starting(terms(), Map.of(0, 9L, 1, 9L), OptionalLong.empty());
        assertTrue(record.nothingReadAt(record.doneOffsets()), "a replay that has just started");
        assertFalse(record.nothingReadAt(Map.of(0, 6L, 1, 7L)));
        assertTrue(record.asReleased().nothingReadAt(Map.of(0, 6L, 1, 7L)), "finished with no event in range: its id is free");
    }

    @Test
    void whetherTheReplayFinishedReadsBackAndIsUnknownInARecordFromBeforeItWasKept() {
        ReplayRecord running = ReplayRecord.starting(terms(), Map.of(0, 9L), OptionalLong.empty()).withDone(Map.of(0, 4L));
        assertEquals(ReplayRecord.Finish.NOT_YET, ReplayRecord.decode(running.encode()).finish());
        ReplayRecord finished = running.withDone(Map.of(0, 9L)).withFinish(ReplayRecord.Finish.FINISHED);
        assertEquals(finished, ReplayRecord.decode(finished.encode()));
        assertEquals(ReplayRecord.Finish.FINISHED, finished.withDone(Map.of(0, 9L)).finish(), "a later save keeps it");
        String older = running.encode().lines().filter(line -> !line.startsWith("finished=")).collect(java.util.stream.Collectors.joining("\n"));
        assertEquals(ReplayRecord.Finish.UNKNOWN, ReplayRecord.decode(older).finish(), "a record from before says nothing either way");
    }

    @Test
    void otherTextIsRefusedNamingWhatItFound() {
        assertEquals("the replay's record has format 'explainstream replay terms 1', not 'explainstream replay record 1'",
                assertThrows(ConfigException.class, () -> ReplayRecord.decode(terms().encode())).getMessage());
        assertEquals("the replay's record has no terms",
                assertThrows(ConfigException.class, () -> ReplayRecord.decode("format=explainstream replay record 1\n")).getMessage());
        assertTrue(assertThrows(ConfigException.class, () -> ReplayRecord.decode("format=explainstream replay record 1\nterms=x\n")).getMessage()
                .startsWith("the replay's recorded terms have format"));
        assertTrue(assertThrows(ConfigException.class, () -> ReplayRecord.decode(ReplayRecord.starting(terms(), Map.of(), OptionalLong.empty()).encode()
                + "done.0=seven\n")).getMessage().startsWith("the replay's record is not readable"));
    }
}
