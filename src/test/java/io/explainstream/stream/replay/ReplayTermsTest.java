package io.explainstream.stream.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class ReplayTermsTest {

    private static ReplayTerms terms(long fromMs, String modelDir, String steps) {
        return new ReplayTerms("llm-interactions", "explanations-replay", fromMs, 2_000, new TreeMap<>(Map.of("model.dir", modelDir,
                "attribution.steps", steps)), new TreeMap<>(Map.of(0, 5L, 1, 7L)));
    }

    /** Model paths may hold any character: '=', ':', '#', a line break, emoji; the text reads back to the same terms. */
    @Test
    void theTextReadsBackToTheSameTerms() {
        ReplayTerms terms = terms(1_000, "/models/a=b: #c\nd \uD83D\uDE00 \u00e9", "50");
        String text = terms.encode();
        assertEquals(terms.startingAt(Map.of()), ReplayTerms.decode(text), "all but the start offsets, kept as the offsets themselves");
        assertEquals(text, ReplayTerms.decode(text).encode(), "equal terms are equal text (no date comment)");
    }

    /** The text is an offset's metadata (at most 4096 bytes by default): it does not grow with the partitions. */
    @Test
    void theTextDoesNotGrowWithThePartitionsAndOlderTextWithStartOffsetsStillReads() {
        Map<Integer, Long> starts = new TreeMap<>();
        for (int p = 0; p < 1000; p++) {
            starts.put(p, 1_000_000_000L + p);
        }
        assertEquals(terms(1_000, "/models/a", "50").encode(), terms(1_000, "/models/a", "50").startingAt(starts).encode());
        String older = terms(1_000, "/models/a", "50").encode() + "start.0=5\nstart.1=7\n";
        assertEquals(terms(1_000, "/models/a", "50"), ReplayTerms.decode(older), "recorded before the offsets were kept apart");
    }

    @Test
    void eachDifferenceIsOneLineWithTheEarlierValueFirst() {
        ReplayTerms earlier = terms(1_000, "/models/a", "50");
        ReplayTerms now = terms(1_500, "/models/b", "50").startingAt(Map.of(0, 9L));
        assertEquals(List.of("range [1970-01-01T00:00:01Z, 1970-01-01T00:00:02Z); this run: [1970-01-01T00:00:01.500Z, 1970-01-01T00:00:02Z)"
                + " (times relative to now, such as -1h and now, name another range at each run: resume with --from 1970-01-01T00:00:01Z"
                + " --to 1970-01-01T00:00:02Z)",
                "model.dir = '/models/a'; this run: '/models/b'"), now.differencesFrom(earlier));
        assertTrue(earlier.startingAt(Map.of(0, 9L)).differencesFrom(earlier).isEmpty(), "start offsets move with retention and are not compared");
    }

    /**
     * Resumed with attribution.method = gradient, which uses no steps: the steps were said to be
     * '' in this run (a hostile test), as if the user had cleared them; one change read as five.
     */
    @Test
    void aSettingThisRunDoesNotUseIsSaidToBeUnusedNotEmpty() {
        ReplayTerms earlier = terms(1_000, "/models/a", "50");
        TreeMap<String, String> settings = new TreeMap<>(earlier.settings());
        settings.remove("attribution.steps");
        ReplayTerms now = new ReplayTerms(earlier.inputTopic(), earlier.outputTopic(), earlier.fromMs(), earlier.toMs(), settings, earlier.startOffsets());
        assertEquals(List.of("attribution.steps = '50'; this run: (not used)"), now.differencesFrom(earlier));
        assertEquals(List.of("attribution.steps = (not used then); this run: '50'"), earlier.differencesFrom(now));
    }

    /** A replay recorded before the out-of-order bound existed stopped at the first record stamped --to or later: 0. */
    @Test
    void termsRecordedBeforeTheOutOfOrderBoundReadAsZero() {
        ReplayTerms earlier = terms(1_000, "/models/a", "50");
        TreeMap<String, String> settings = new TreeMap<>(earlier.settings());
        settings.put("replay.out.of.order.ms", "300000");
        ReplayTerms now = new ReplayTerms(earlier.inputTopic(), earlier.outputTopic(), earlier.fromMs(), earlier.toMs(), settings, earlier.startOffsets());
        assertEquals(List.of("replay.out.of.order.ms = '0'; this run: '300000'"), now.differencesFrom(earlier));
        settings.put("replay.out.of.order.ms", "0");
        ReplayTerms same = new ReplayTerms(earlier.inputTopic(), earlier.outputTopic(), earlier.fromMs(), earlier.toMs(), settings, earlier.startOffsets());
        assertEquals(List.of(), same.differencesFrom(earlier), "resumed with its bound, it goes on");
    }

    @Test
    void textOfAnotherFormatIsRefusedSayingWhatItFound() {
        io.explainstream.stream.config.ConfigException e = assertThrows(io.explainstream.stream.config.ConfigException.class, () -> ReplayTerms.decode("format=something else\n"));
        assertEquals("the replay's recorded terms have format 'something else', not 'explainstream replay terms 1'", e.getMessage());
        io.explainstream.stream.config.ConfigException cut = assertThrows(io.explainstream.stream.config.ConfigException.class, () -> ReplayTerms.decode("format=explainstream replay terms 1\n"));
        assertTrue(cut.getMessage().startsWith("the replay's recorded terms are not readable: "), cut.getMessage());
    }
}
