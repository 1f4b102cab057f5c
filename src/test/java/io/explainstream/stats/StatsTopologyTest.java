package io.explainstream.stats;

import static io.explainstream.stats.StatsFixture.segment;
import static io.explainstream.stats.StatsFixture.word;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.schema.AuditAlert;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.schema.SegmentKind;
import io.explainstream.schema.ShareStats;
import io.explainstream.schema.WordStats;
import io.explainstream.stream.config.TimestampWindow;
import io.explainstream.stream.ingest.SourcePosition;
import io.explainstream.stream.output.DeadLetters;
import io.explainstream.stream.output.SkipNotice;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.StandardError;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The statistics sub-topology on TopologyTestDriver, with real Avro bytes through the built-in
 * registry: windows by event time and group, grace, late events, updates and final records, dead
 * letters, and alerts.
 */
class StatsTopologyTest {

    private static final long T0 = Instant.parse("2026-11-29T10:00:00Z").toEpochMilli();
    private static final Duration WINDOW = Duration.ofMinutes(1);
    private static final Duration GRACE = Duration.ofSeconds(30);
    private static final Duration EMIT = Duration.ofSeconds(10);

    /** One registry for the class: its tests register only the project's own schemas. */
    @RegisterExtension
    static final BuiltInRegistry REGISTRY = new BuiltInRegistry();

    @TempDir
    Path stateDir;

    private TopologyTestDriver driver;
    private SimpleMeterRegistry meters;
    private TestInputTopic<String, Explanation> explanations;
    private TestInputTopic<byte[], byte[]> deadLetters;
    private TestOutputTopic<String, ExplanationStats> stats;
    private TestOutputTopic<String, AuditAlert> alerts;

    @AfterEach
    void stop() {
        if (driver != null) {
            driver.close();
        }
    }

    private void start(List<AlertRule> rules) {
        start(1000, rules);
    }

    private void start(int maxGroups, List<AlertRule> rules) {
        start(maxGroups, rules, TimestampWindow.ANY);
    }

    private void start(int maxGroups, List<AlertRule> rules, TimestampWindow accepted) {
        StatsSettings settings = StatsFixture.settings(WINDOW, GRACE, EMIT, maxGroups, rules);
        Topology topology = new Topology();
        meters = new SimpleMeterRegistry();
        StatsTopology.addTo(topology, settings, codecs(), meters, accepted);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "stats-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(topology, props, Instant.ofEpochMilli(T0));
        explanations = driver.createInputTopic("explanations", Serdes.String().serializer(), serializer());
        deadLetters = driver.createInputTopic("dlq", Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer());
        stats = driver.createOutputTopic("explanation-stats", Serdes.String().deserializer(), ConfluentAvroDeserializer.specific(REGISTRY.client(), ExplanationStats.class));
        alerts = driver.createOutputTopic("explanation-alerts", Serdes.String().deserializer(), ConfluentAvroDeserializer.specific(REGISTRY.client(), AuditAlert.class));
    }

    private StatsTopology.Codecs codecs() {
        return new StatsTopology.Codecs(ConfluentAvroDeserializer.specific(REGISTRY.client(), Explanation.class),
                ConfluentAvroDeserializer.specific(REGISTRY.client(), LlmInteraction.class), serializer(), serializer());
    }

    private <T extends org.apache.avro.specific.SpecificRecord> ConfluentAvroSerializer<T> serializer() {
        return new ConfluentAvroSerializer<>(REGISTRY.client(), SubjectNameStrategy.TOPIC_NAME, true, false);
    }

    private void explain(Explanation explanation) {
        explanations.pipeInput(explanation.getEventId(), explanation, explanation.getProcessingTime());
    }

    private void deadLetter(String key, String value, long sourceTimestamp, String reason) {
        deadLetter(key, value.getBytes(StandardCharsets.UTF_8), sourceTimestamp, reason);
    }

    private void deadLetter(String key, byte[] value, long sourceTimestamp, String reason) {
        Record<byte[], byte[]> letter = new DeadLetters(1_000_000).record(key.getBytes(StandardCharsets.UTF_8), value,
                new SourcePosition("in", 0, 7, sourceTimestamp), DeadLetters.Stage.VALIDATION, new IllegalArgumentException(reason), "explainstream", T0);
        deadLetters.pipeInput(new TestRecord<>(letter.key(), letter.value(), letter.headers(), Instant.ofEpochMilli(sourceTimestamp)));
    }

    private static List<AlertRule> rules(String... whens) {
        Map<String, String> entries = new java.util.TreeMap<>();
        for (int i = 0; i < whens.length; i += 2) {
            entries.put("alert." + whens[i] + ".when", whens[i + 1]);
        }
        return AlertRule.fromConfig(entries, StatsFixture.GROUP_BY);
    }

    private Map<String, ExplanationStats> latestByKey() {
        return stats.readKeyValuesToMap();
    }

    /**
     * A broker that refuses timestamps more than 30 s old (message.timestamp.before.max.ms): an
     * explanation read two hours after it was written gives an observation stamped with the time it
     * is written, and a window's record, stamped with the window's start, takes the write time once
     * that start is too old (a day-long window against a day's bound is the case in practice).
     */
    @Test
    void recordsTheBrokerWouldRefuseForTheirAgeAreStampedWithTheWriteTime() {
        start(1000, List.of(), new TimestampWindow(30_000, Long.MAX_VALUE));
        var observations = driver.createOutputTopic("app-stats-observations", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
        explain(StatsFixture.explanation("old", T0 - Duration.ofHours(2).toMillis(), "storybook", 100, 0.02));
        assertEquals(T0, observations.readRecord().timestamp(), "the observation of a two-hour-old record: the write time");
        explain(StatsFixture.explanation("a1", T0 + 1_000, "storybook", 100, 0.02));
        assertEquals(T0, observations.readRecord().timestamp(), "not ahead of the wall clock");
        driver.advanceWallClockTime(EMIT);
        assertTrue(stats.readRecordsToList().stream().allMatch(r -> r.timestamp() == T0), "a window start 10 s old is kept");
        explain(StatsFixture.explanation("a2", T0 + 2_000, "storybook", 100, 0.02));
        driver.advanceWallClockTime(EMIT);
        List<Long> stamps = stats.readRecordsToList().stream().map(r -> r.timestamp()).toList();
        assertEquals(List.of(T0 + 20_000), stamps, "the window's start, 20 s old, is within the bound's margin: the write time");
        explain(StatsFixture.explanation("a3", T0 + 10_000, "storybook", 100, 0.02));
        observations.readRecord(); // a2's
        assertEquals(T0 + 11_500, observations.readRecord().timestamp(), "a timestamp 8.5 s old, which the broker takes, is kept");
    }

    /**
     * A producer whose clock runs 30 minutes ahead: its record's timestamp (which a broker takes up to
     * an hour ahead) became the observation's, the windows' stream time, and every current event
     * after it was late. The observation is stamped no later than the wall clock. (The test driver
     * runs both sub-topologies as one task, with one stream time, so the end effect shows on a real
     * broker: FutureEventTimeOnBrokerTest.)
     */
    @Test
    void anObservationIsNeverStampedAheadOfTheWallClock() {
        start(List.of());
        var observations = driver.createOutputTopic("app-stats-observations", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
        explain(StatsFixture.explanation("ahead", T0 + Duration.ofMinutes(30).toMillis(), "storybook", 100, 0.02));
        assertEquals(T0, observations.readRecord().timestamp());
    }

    @Test
    void windowsGroupByEventTimeAndFieldsEmitUpdatesAtTheIntervalAndOneFinalRecordAfterTheGrace() {
        start(List.of());
        explain(StatsFixture.explanation("a1", T0 + 1_000, "storybook", 100, 0.02));
        explain(StatsFixture.explanation("a2", T0 + 2_000, "storybook", 300, 0.2));
        explain(StatsFixture.gradient("a3", T0 + 3_000, "storybook"));
        explain(StatsFixture.explanation("b1", T0 + 4_000, "helpdesk", 50, 0));
        assertTrue(stats.isEmpty(), "nothing before the emit interval");

        driver.advanceWallClockTime(EMIT);
        List<ExplanationStats> updates = stats.readValuesToList();
        assertEquals(2, updates.size(), "one update per changed window: " + updates);
        ExplanationStats storybook = updates.stream().filter(s -> s.getGroup().get("metadata.application").equals("storybook")).findFirst().orElseThrow();
        assertFalse(storybook.getFinal$());
        assertEquals(3, storybook.getEvents());
        assertEquals(Map.of("integrated_gradients", 2L, "gradient", 1L), storybook.getEventsByMethod());
        assertEquals("source_model=stories260K,metadata.application=storybook", storybook.getGroupKey());
        assertEquals(Instant.ofEpochMilli(T0), storybook.getWindowStart());
        assertEquals(Instant.ofEpochMilli(T0 + 60_000), storybook.getWindowEnd());
        // relative deltas 0.01 and 0.1; the gradient explanation has none
        assertEquals(2, storybook.getFaithfulness().getEvents());
        assertEquals(0.055, storybook.getFaithfulness().getRelDeltaMean(), 1e-9);
        assertEquals(0.1, storybook.getFaithfulness().getRelDeltaMax(), 1e-9);
        assertEquals(1, storybook.getFaithfulness().getOverWarn());
        assertEquals(300, storybook.getLatency().getMaxMs(), 0);
        assertEquals(100, storybook.getLatency().getP50Ms(), 1.0, "p50 of 100, 300, 10 within 1%");
        assertEquals(1_500, storybook.getLag().getMaxMs(), 0);

        driver.advanceWallClockTime(EMIT);
        assertTrue(stats.isEmpty(), "no update of an unchanged window");

        // Inside the grace: an event of the first window after stream time moved past its end is still counted.
        explain(StatsFixture.explanation("c1", T0 + 70_000, "storybook", 100, 0));
        explain(StatsFixture.explanation("a4", T0 + 59_000, "storybook", 100, 0));
        driver.advanceWallClockTime(EMIT);
        Map<String, ExplanationStats> byKey = latestByKey();
        assertEquals(4, byKey.get("source_model=stories260K,metadata.application=storybook@2026-11-29T10:00:00Z").getEvents());
        assertFalse(byKey.get("source_model=stories260K,metadata.application=storybook@2026-11-29T10:00:00Z").getFinal$());

        // Stream time past end + grace: the first windows close, each with one final record.
        explain(StatsFixture.explanation("c2", T0 + 90_000, "storybook", 100, 0));
        driver.advanceWallClockTime(EMIT);
        List<ExplanationStats> finals = stats.readValuesToList().stream().filter(ExplanationStats::getFinal$).toList();
        assertEquals(2, finals.size(), "both groups' first windows: " + finals);
        assertEquals(Map.of("storybook", 4L, "helpdesk", 1L), finals.stream()
                .collect(Collectors.toMap(s -> s.getGroup().get("metadata.application"), ExplanationStats::getEvents)));

        driver.advanceWallClockTime(EMIT);
        assertTrue(stats.readValuesToList().stream().noneMatch(s -> s.getWindowStart().toEpochMilli() == T0), "a closed window is not written again");
    }

    @Test
    void lateEventsAreDroppedAndCountedInTheGroupsNewestWindowAndTheMetric() {
        start(List.of());
        explain(StatsFixture.explanation("a1", T0 + 1_000, "storybook", 100, 0));
        explain(StatsFixture.explanation("b1", T0 + 95_000, "storybook", 100, 0));
        driver.advanceWallClockTime(EMIT);
        explain(StatsFixture.explanation("late", T0 + 2_000, "storybook", 100, 0));
        driver.advanceWallClockTime(EMIT);
        Map<String, ExplanationStats> byKey = latestByKey();
        ExplanationStats first = byKey.get("source_model=stories260K,metadata.application=storybook@2026-11-29T10:00:00Z");
        ExplanationStats second = byKey.get("source_model=stories260K,metadata.application=storybook@2026-11-29T10:01:00Z");
        assertTrue(first.getFinal$());
        assertEquals(1, first.getEvents(), "the late event is not in its window");
        assertEquals(1, second.getEvents());
        assertEquals(1, second.getLateEvents(), "it is counted in the newest window of its group");
        assertEquals(0, second.getLateDeadLetters());
        assertEquals(0, second.getLateSkipped());
        assertEquals(1.0, meters.get("explainstream.stats.late.events").counter().count());
    }

    /**
     * A late dead letter or skipped event is counted as late by its kind, so that each kind still
     * adds up: under a backlog many of them were late, and late_events alone could not say how
     * many dead letters and skips the windows' own counts were missing (helper-77).
     */
    @Test
    void lateDeadLettersAndSkipsAreCountedAsSuchSoEachKindAddsUp() {
        start(rules("late", "late.events > 0"));
        var notices = driver.createInputTopic("app-skipped", Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer());
        explain(StatsFixture.explanation("a1", T0 + 1_000, "storybook", 100, 0));
        explain(StatsFixture.explanation("b1", T0 + 95_000, "storybook", 100, 0));
        driver.advanceWallClockTime(EMIT);
        explain(StatsFixture.explanation("late", T0 + 2_000, "storybook", 100, 0));
        deadLetter("bad-1", "{\"event_id\":\"bad-1\",\"timestamp\":" + (T0 + 3_000) + ",\"model\":\"stories260K\",\"metadata\":{\"application\":\"storybook\"}}",
                T0 + 3_000, "field 'prompt' or 'messages' is required");
        for (int i = 0; i < 2; i++) {
            byte[] notice = new SkipNotice("s" + i, T0 + 4_000, "stories260K", Map.of("application", "storybook"), "backlog", T0 + 4_000L).toBytes();
            notices.pipeInput(new TestRecord<>(("s" + i).getBytes(StandardCharsets.UTF_8), notice, null, Instant.ofEpochMilli(T0 + 96_000)));
        }
        driver.advanceWallClockTime(EMIT);
        Map<String, ExplanationStats> byKey = latestByKey();
        ExplanationStats first = byKey.get("source_model=stories260K,metadata.application=storybook@2026-11-29T10:00:00Z");
        ExplanationStats second = byKey.get("source_model=stories260K,metadata.application=storybook@2026-11-29T10:01:00Z");
        assertEquals(0, first.getDeadLetters().getCount() + first.getSkipped().getCount(), "neither is in its closed window");
        assertEquals(4, second.getLateEvents());
        assertEquals(1, second.getLateDeadLetters());
        assertEquals(2, second.getLateSkipped());
        assertEquals(0, second.getDeadLetters().getCount() + second.getSkipped().getCount(), "nor in the window that counts them as late");
        assertEquals(4.0, meters.get("explainstream.stats.late.events").counter().count());
        assertTrue(StatsText.line(second).contains(", 4 late (1 dead letter, 2 skipped) ·"), StatsText.line(second));
        // Once the window is final, its late.events alert names the late events, not the window's own first ones (helper-78).
        explain(StatsFixture.explanation("after", T0 + 200_000, "storybook", 100, 0));
        driver.advanceWallClockTime(EMIT);
        List<AuditAlert> fired = alerts.readValuesToList();
        assertEquals(1, fired.size(), fired.toString());
        assertEquals(List.of("late", "bad-1", "s0", "s1"), fired.get(0).getExampleEventIds().stream().map(Object::toString).toList());
    }

    /**
     * A skip notice is written when the event is skipped, under a backlog long after its input
     * record; its observation carries the input record's time, as an explanation's does, and the
     * windows' stream time follows that. Stamped with the notice's write time, one skip moved the
     * stream time of the windows past those of the events still waiting to be explained, and they
     * and the skips all counted as late (helper-77: 133 of 149 skips late). (The test driver runs
     * both sub-topologies in one task, whose stream time the notice's own record moves, so the
     * observation's timestamp is checked here rather than the windows.)
     */
    @Test
    void aSkipsObservationIsTimedByItsInputRecordNotByWhenTheNoticeWasWritten() throws Exception {
        start(List.of());
        var notices = driver.createInputTopic("app-skipped", Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer());
        var observations = driver.createOutputTopic("app-stats-observations", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
        driver.advanceWallClockTime(Duration.ofSeconds(100));
        byte[] notice = new SkipNotice("s1", T0 + 11_000, "stories260K", Map.of("application", "storybook"), "backlog", T0 + 11_500L).toBytes();
        notices.pipeInput(new TestRecord<>("s1".getBytes(StandardCharsets.UTF_8), notice, null, Instant.ofEpochMilli(T0 + 100_000)));
        byte[] older = new SkipNotice("s0", T0 + 11_000, "stories260K", Map.of("application", "storybook"), "backlog", null).toBytes();
        notices.pipeInput(new TestRecord<>("s0".getBytes(StandardCharsets.UTF_8), older, null, Instant.ofEpochMilli(T0 + 100_000)));
        List<Long> stamps = observations.readRecordsToList().stream().map(r -> r.timestamp()).toList();
        assertEquals(List.of(T0 + 11_500, T0 + 100_000), stamps, "the input record's time; a notice from before it was carried, its own");
    }

    /** The wall clock moves on while the stream thread is free: a punctuation every emit interval. */
    private void idle(Duration time) {
        for (long waited = 0; waited < time.toMillis(); waited += EMIT.toMillis()) {
            driver.advanceWallClockTime(EMIT);
        }
    }

    @Test
    void aQuietInputClosesWindowsByTheWallClockAfterTheGrace() {
        start(List.of());
        explain(StatsFixture.explanation("a1", T0 + 1_000, "storybook", 100, 0));
        idle(Duration.ofSeconds(60));
        assertTrue(stats.readValuesToList().stream().noneMatch(ExplanationStats::getFinal$), "the wall clock is not yet past end + grace");
        idle(Duration.ofSeconds(40));
        List<ExplanationStats> finals = stats.readValuesToList().stream().filter(ExplanationStats::getFinal$).toList();
        assertEquals(1, finals.size());
        assertEquals(1, finals.get(0).getEvents());
    }

    /**
     * The stream thread held for 100 s by one engine call (one punctuation after a gap): the
     * explanations it made before and during it arrive only now, and are not late. Before, the
     * wall clock took those 100 s for a quiet input and closed the window they belong to.
     */
    @Test
    void timeTheThreadWasBusyIsNotAQuietInput() {
        start(List.of());
        explain(StatsFixture.explanation("a1", T0 + 1_000, "storybook", 100, 0));
        driver.advanceWallClockTime(EMIT);
        driver.advanceWallClockTime(Duration.ofSeconds(100));
        explain(StatsFixture.explanation("a2", T0 + 2_000, "storybook", 100, 0));
        idle(Duration.ofSeconds(40));
        List<ExplanationStats> finals = stats.readValuesToList().stream().filter(ExplanationStats::getFinal$).toList();
        assertEquals(1, finals.size(), "closed once the input was quiet for the grace while the thread was free");
        assertEquals(2, finals.get(0).getEvents(), "both explanations in their window");
        assertEquals(0, finals.get(0).getLateEvents());
        assertEquals(0.0, meters.get("explainstream.stats.late.events").counter().count());
    }

    /**
     * A late event whose window the wall clock closed, while stream time is still in that window:
     * counted in the group's window at the wall clock's time, which is then written. Before, it was
     * dropped with no trace but the metric.
     */
    @Test
    void anEventLateForAWindowTheWallClockClosedIsCountedInTheNextWindowWritten() {
        start(List.of());
        explain(StatsFixture.explanation("a1", T0 + 1_000, "storybook", 100, 0));
        idle(Duration.ofSeconds(100));
        String first = "source_model=stories260K,metadata.application=storybook@2026-11-29T10:00:00Z";
        ExplanationStats closed = latestByKey().get(first);
        assertTrue(closed.getFinal$(), "closed by the wall clock");
        assertEquals(1, closed.getEvents());
        explain(StatsFixture.explanation("late", T0 + 2_000, "storybook", 100, 0));
        driver.advanceWallClockTime(EMIT);
        Map<String, ExplanationStats> byKey = latestByKey();
        assertFalse(byKey.containsKey(first), "a closed window is not written again");
        ExplanationStats now = byKey.get("source_model=stories260K,metadata.application=storybook@2026-11-29T10:01:00Z");
        assertNotNull(now, "the window at the wall clock's time is written: " + byKey.keySet());
        assertEquals(1, now.getLateEvents(), "with the late event counted");
        assertEquals(1.0, meters.get("explainstream.stats.late.events").counter().count());
    }

    @Test
    void deadLettersCountInTheGroupTheirOriginalNamesOrInTheUnknownGroup() {
        start(List.of());
        explain(StatsFixture.explanation("a1", T0 + 1_000, "storybook", 100, 0));
        deadLetter("bad-1", "{\"event_id\":\"bad-1\",\"timestamp\":" + (T0 + 2_000) + ",\"model\":\"stories260K\",\"metadata\":{\"application\":\"storybook\"}}",
                T0 + 5_000, "field 'prompt' or 'messages' is required");
        deadLetter("bad-2", "{\"event_id\":\"bad-2\",\"timestamp\":\"yesterday\",\"model\":\"stories260K\"}", T0 + 6_000, "timestamp is not a time");
        deadLetter("bad-3", "{not json", T0 + 7_000, "value is not valid JSON");
        // helper-78: no model is none, as documented (it was unknown); a model of another type cannot be told: unknown;
        // an original cut (over record.max.bytes) counts by the fields before the cut, a field past it unknown.
        deadLetter("bad-4", "{\"event_id\":\"bad-4\",\"metadata\":{\"application\":\"storybook\"}}", T0 + 8_000, "field 'model' is missing");
        deadLetter("bad-5", "{\"event_id\":\"bad-5\",\"model\":7,\"metadata\":{\"application\":\"storybook\"}}", T0 + 8_000, "field 'model' must be a string");
        deadLetter("bad-6", "{\"event_id\":\"bad-6\",\"model\":\"stories260K\",\"prompt\":\"aaaa", T0 + 8_000, "value is 2000000 bytes");
        driver.advanceWallClockTime(EMIT);
        Map<String, ExplanationStats> byGroup = stats.readValuesToList().stream().collect(Collectors.toMap(ExplanationStats::getGroupKey, s -> s));
        ExplanationStats storybook = byGroup.get("source_model=stories260K,metadata.application=storybook");
        assertEquals(1, storybook.getEvents());
        assertEquals(1, storybook.getDeadLetters().getCount());
        assertEquals(Map.of("validation", 1L), storybook.getDeadLetters().getByStage());
        assertEquals(Map.of("field 'prompt' or 'messages' is required", 1L), storybook.getDeadLetters().getByReason());
        assertEquals(1, byGroup.get("source_model=stories260K,metadata.application=none").getDeadLetters().getCount(),
                "no metadata at all is the same absence as an explanation without metadata: none");
        assertEquals(1, byGroup.get("source_model=unknown,metadata.application=unknown").getDeadLetters().getCount(), "not JSON");
        assertEquals(1, byGroup.get("source_model=none,metadata.application=storybook").getDeadLetters().getCount(), "no model");
        assertEquals(1, byGroup.get("source_model=unknown,metadata.application=storybook").getDeadLetters().getCount(), "a model of another type");
        assertEquals(1, byGroup.get("source_model=stories260K,metadata.application=unknown").getDeadLetters().getCount(),
                "cut before its metadata: the model it gave, the metadata unknown");
        assertEquals(6, byGroup.size());
    }

    /**
     * A dead letter is named among an alert's examples by the event id diff names it by (helper-76:
     * {"event_id":"h76b-dupfield","event_id":"x",...} fired "e.g. x", where diff named h76b-dupfield;
     * a record broken after its id, by a NaN, was named by its key).
     */
    @Test
    void anAlertNamesADeadLetterByTheEventIdDiffNamesItBy() {
        start(rules("dlq", "dlq.count >= 1"));
        String twice = "{\"event_id\":\"dup-first\",\"event_id\":\"x\",\"timestamp\":" + (T0 + 1_000) + ",\"prompt\":\"a\",\"response\":\"b\"}";
        String nan = "{\"event_id\":\"nan-1\",\"prompt\":\"Once\",\"response\":\"x\",\"timestamp\":NaN}";
        deadLetter("", twice, T0 + 2_000, "Duplicate field 'event_id'");
        deadLetter("conv-9", nan, T0 + 3_000, "value is not valid JSON");
        explain(StatsFixture.explanation("later", T0 + 200_000, "other", 100, 0));
        driver.advanceWallClockTime(EMIT);
        driver.advanceWallClockTime(EMIT);
        List<String> examples = alerts.readValuesToList().stream().flatMap(a -> a.getExampleEventIds().stream()).sorted().toList();
        assertEquals(List.of("dup-first", "nan-1"), examples, "diff names them alike: EventIdsTest");
    }

    /**
     * Events skipped to stay within the budget count in the window and group their explanation
     * would have had, by reason, beside the explanations and dead letters (helper-74: a window read
     * "14 events, 1 dead letter" with 17 events skipped beside them); skipped.rate alerts on them.
     */
    @Test
    void skippedEventsCountInTheirGroupsWindowByReasonAndAnAlertOnTheSkippedRateFires() {
        start(rules("coverage", "skipped.rate > 0.5"));
        var notices = driver.createInputTopic("app-skipped", Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer());
        explain(StatsFixture.explanation("a1", T0 + 1_000, "storybook", 100, 0));
        deadLetter("bad-1", "{\"event_id\":\"bad-1\",\"timestamp\":" + (T0 + 2_000) + ",\"model\":\"stories260K\",\"metadata\":{\"application\":\"storybook\"}}",
                T0 + 5_000, "field 'prompt' or 'messages' is required");
        for (int i = 0; i < 3; i++) {
            String reason = i < 2 ? "not_sampled" : "backlog";
            byte[] notice = new SkipNotice("s" + i, T0 + 3_000 + i, "stories260K", Map.of("application", "storybook"), reason, null).toBytes();
            notices.pipeInput(new TestRecord<>(("s" + i).getBytes(StandardCharsets.UTF_8), notice, null, Instant.ofEpochMilli(T0 + 4_000)));
        }
        notices.pipeInput(new TestRecord<>("h".getBytes(StandardCharsets.UTF_8),
                new SkipNotice("h1", T0 + 3_000, "stories260K", Map.of("application", "helpdesk"), "not_sampled", null).toBytes(), null, Instant.ofEpochMilli(T0 + 4_000)));
        notices.pipeInput(new TestRecord<>("x".getBytes(StandardCharsets.UTF_8), "not a notice".getBytes(StandardCharsets.UTF_8), null,
                Instant.ofEpochMilli(T0 + 4_000)));
        driver.advanceWallClockTime(EMIT);
        Map<String, ExplanationStats> byGroup = stats.readValuesToList().stream().collect(Collectors.toMap(ExplanationStats::getGroupKey, w -> w, (x, y) -> y));
        ExplanationStats storybook = byGroup.get("source_model=stories260K,metadata.application=storybook");
        assertEquals(1, storybook.getEvents());
        assertEquals(1, storybook.getDeadLetters().getCount());
        assertEquals(3, storybook.getSkipped().getCount());
        assertEquals(Map.of("not_sampled", 2L, "backlog", 1L), storybook.getSkipped().getByReason());
        assertTrue(StatsText.line(storybook).contains(": 1 event, 1 dead letter, 3 skipped (backlog 1, not_sampled 2) · "), StatsText.line(storybook));
        ExplanationStats helpdesk = byGroup.get("source_model=stories260K,metadata.application=helpdesk");
        assertEquals(0, helpdesk.getEvents());
        assertEquals(1, helpdesk.getSkipped().getCount(), "a group of skipped events only has its window too");
        assertEquals(1.0, meters.get("explainstream.stats.unreadable").counter().count(), "a record that is no notice is counted and left");

        explain(StatsFixture.explanation("later", T0 + 200_000, "other", 100, 0));
        driver.advanceWallClockTime(EMIT);
        driver.advanceWallClockTime(EMIT);
        Map<String, AuditAlert> fired = alerts.readValuesToList().stream().collect(Collectors.toMap(a -> a.getGroup().get("metadata.application"), a -> a));
        assertEquals(Set.of("storybook", "helpdesk"), fired.keySet(), "3 of 5 and 1 of 1 skipped; the later window skipped none");
        assertEquals(0.6, fired.get("storybook").getValue(), 1e-9, "skipped / (explained + dead letters + skipped)");
        assertEquals(List.of("s0", "s1", "s2"), fired.get("storybook").getExampleEventIds(), "the skipped events as examples");
    }

    @Test
    void aDeadLetterIsWindowedByItsOriginalsTimestampLikeTheExplanationOfItsTwin() {
        start(List.of());
        long eventTime = T0 + 59_000; // logged at the end of the first window, consumed in the next
        long recordTime = T0 + 62_000;
        explain(StatsFixture.explanation("good", eventTime, "storybook", 100, 0));
        deadLetter("bad-json", "{\"event_id\":\"bad-json\",\"timestamp\":\"" + Instant.ofEpochMilli(eventTime)
                + "\",\"model\":\"stories260K\",\"metadata\":{\"application\":\"storybook\"}}", recordTime, "no prompt");
        deadLetter("bad-avro", serializer().serialize("dlq", LlmInteraction.newBuilder().setEventId("bad-avro").setTimestamp(Instant.ofEpochMilli(eventTime))
                .setModel("stories260K").setPrompt("").setResponse("x").setMetadata(Map.of("application", "storybook")).build()), recordTime, "empty prompt");
        // A timestamp validation rejects (years ahead) would move stream time and close every window: the record's time stands in.
        deadLetter("bad-future", "{\"event_id\":\"bad-future\",\"timestamp\":\"2031-01-01T00:00:00Z\",\"model\":\"stories260K\","
                + "\"metadata\":{\"application\":\"storybook\"}}", recordTime, "more than a day in the future");
        driver.advanceWallClockTime(EMIT);
        Map<String, ExplanationStats> byKey = latestByKey();
        ExplanationStats first = byKey.get("source_model=stories260K,metadata.application=storybook@2026-11-29T10:00:00Z");
        assertEquals(1, first.getEvents());
        assertEquals(2, first.getDeadLetters().getCount(), "the JSON and the Avro twin, by their timestamp field: " + byKey.keySet());
        ExplanationStats second = byKey.get("source_model=stories260K,metadata.application=storybook@2026-11-29T10:01:00Z");
        assertEquals(1, second.getDeadLetters().getCount(), "the one from the future, by its source record's time");
        assertEquals(2, byKey.size(), "nothing in 2031: " + byKey.keySet());
    }

    @Test
    void aMissingMetadataObjectAnEmptyOneAndAnExplanationWithoutMetadataShareTheNoneGroup() {
        start(List.of());
        Explanation bare = StatsFixture.explanation("bare", T0 + 1_000, "x", 100, 0);
        bare.setMetadata(Map.of());
        explain(bare);
        deadLetter("no-metadata", "{\"event_id\":\"no-metadata\",\"timestamp\":" + (T0 + 2_000) + ",\"model\":\"stories260K\"}", T0 + 2_000, "no prompt");
        deadLetter("empty-metadata", "{\"event_id\":\"empty-metadata\",\"timestamp\":" + (T0 + 3_000) + ",\"model\":\"stories260K\",\"metadata\":{}}",
                T0 + 3_000, "no prompt");
        driver.advanceWallClockTime(EMIT);
        Map<String, ExplanationStats> byGroup = stats.readValuesToList().stream().collect(Collectors.toMap(ExplanationStats::getGroupKey, s -> s));
        assertEquals(java.util.Set.of("source_model=stories260K,metadata.application=none"), byGroup.keySet());
        ExplanationStats none = byGroup.get("source_model=stories260K,metadata.application=none");
        assertEquals(1, none.getEvents());
        assertEquals(2, none.getDeadLetters().getCount());
    }

    @Test
    void theTextLineOfAWindowOfDeadLettersOnlySaysThereAreNoEventsInTheSingular() {
        start(List.of());
        deadLetter("bad-1", "{\"event_id\":\"bad-1\",\"timestamp\":" + (T0 + 1_000) + ",\"model\":\"stories260K\",\"metadata\":{\"application\":\"a\"}}",
                T0 + 1_000, "no prompt");
        explain(StatsFixture.gradient("g1", T0 + 2_000, "b"));
        driver.advanceWallClockTime(EMIT);
        Map<String, String> lines = stats.readValuesToList().stream().collect(Collectors.toMap(s -> s.getGroup().get("metadata.application"), StatsText::line));
        assertTrue(lines.get("a").contains(" open: 0 events, 1 dead letter · ") && lines.get("a").contains(" · no delta (no events)"), lines.get("a"));
        assertTrue(lines.get("b").contains(" open: 1 event, 0 dead letters · ") && lines.get("b").contains(" · no delta (gradient methods)"), lines.get("b"));
    }

    /** A chat prompt: BOS (added, kept fixed), the template's [INST], the user's words; the template's markup outscores them. */
    @Test
    void theTopWordsOfAWindowLeaveOutTheTemplatesMarkupAndAFixedBos() {
        start(List.of());
        Explanation chat = StatsFixture.withSegments(StatsFixture.explanation("chat", T0 + 1_000, "storybook", 100, 0),
                List.of(segment("template", SegmentKind.TEMPLATE, 0.7), segment("user[0]", SegmentKind.USER, 0.3)), "template", 1.0,
                List.of(new io.explainstream.schema.PromptWord("<s>", 0, 0, 0, 1, 0.0, 0.0), new io.explainstream.schema.PromptWord("[INST]", 0, 6, 1, 2, 5.0, 5.0),
                        new io.explainstream.schema.PromptWord("Once", 7, 11, 2, 3, 1.0, 1.0), new io.explainstream.schema.PromptWord("upon", 12, 16, 3, 4, 0.0, 0.0)));
        chat.setPromptTokens(List.of(new io.explainstream.schema.PromptToken(1L, "<s>", 0, 0, false, 0),
                new io.explainstream.schema.PromptToken(2L, "[INST]", 0, 6, true, 0), new io.explainstream.schema.PromptToken(3L, "▁Once", 6, 11, true, 1),
                new io.explainstream.schema.PromptToken(4L, "▁upon", 11, 16, true, 1)));
        explain(chat);
        driver.advanceWallClockTime(EMIT);
        ExplanationStats window = stats.readValuesToList().get(0);
        assertEquals(List.of(new WordStats("Once", 1.0, 1L, 0.0), new WordStats("upon", 0.0, 1L, 0.0)), window.getTopWords(),
                "a user's word that scored 0 stays; the template's markup and the fixed BOS do not");
    }

    /**
     * Anything can be produced to the observations topic (a tester sent a logged event there): a
     * record that is not an observation is skipped and counted, where it failed the statistics
     * task at every try, for good, since it stays in the topic.
     */
    @Test
    void aRecordOfTheObservationsTopicThatIsNotAnObservationIsSkipped() {
        start(List.of());
        var observations = driver.createInputTopic("app-stats-observations", Serdes.String().serializer(), Serdes.ByteArray().serializer());
        observations.pipeInput("s-1", "{\"event_id\":\"s-1\",\"prompt\":\"p\",\"response\":\"r\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        observations.pipeInput(null, new byte[] {1, 2, 3});
        explain(StatsFixture.explanation("after", T0 + 1_000, "storybook", 100, 0));
        driver.advanceWallClockTime(EMIT);
        List<ExplanationStats> windows = stats.readValuesToList();
        assertEquals(1, windows.size(), "the statistics go on");
        assertEquals(1, windows.get(0).getEvents());
    }

    /** A group key (a metadata value), a segment name and a word come from the traffic: tail --stats shows them escaped. */
    @Test
    void theTextLineShowsTrafficTextEscaped() {
        start(List.of());
        Explanation hostile = StatsFixture.withSegments(StatsFixture.explanation("h", T0 + 1_000, "app\u001b[2J", 100, 0),
                List.of(segment("doc\u202e", SegmentKind.SPAN, 1.0)), "doc\u202e", 1.0,
                List.of(new io.explainstream.schema.PromptWord("\u001b[31mred", 0, 8, 0, 1, 1.0, 1.0)));
        hostile.setPromptTokens(List.of(new io.explainstream.schema.PromptToken(3L, "\u001b[31mred", 0, 8, true, 0)));
        explain(hostile);
        driver.advanceWallClockTime(EMIT);
        String line = StatsText.line(stats.readValuesToList().get(0));
        assertTrue(line.chars().noneMatch(c -> c == 0x1b || c == 0x202e), line);
        assertTrue(line.contains("metadata.application=app\\x1b[2J open") && line.contains("top words \\x1b[31mred"), line);
    }

    /**
     * An event sent twice (a file given to send again, a replay into the live topic) is counted
     * twice but named once among an alert's examples, with its largest value: "e.g. a2, a2, a1"
     * named fewer events than it seemed to.
     */
    @Test
    void anEventExplainedTwiceIsOneExample() {
        start(rules("gt", "delta.rel.max > 0.1", "few", "events < 9"));
        explain(StatsFixture.explanation("a1", T0 + 1_000, "storybook", 100, 0.2));
        explain(StatsFixture.explanation("a2", T0 + 2_000, "storybook", 100, 0.3));
        explain(StatsFixture.explanation("a2", T0 + 2_500, "storybook", 100, 0.5));
        explain(StatsFixture.explanation("a1", T0 + 3_000, "storybook", 100, 0.15));
        explain(StatsFixture.explanation("later", T0 + 200_000, "other", 100, 0));
        driver.advanceWallClockTime(EMIT);
        driver.advanceWallClockTime(EMIT);
        Map<String, AuditAlert> fired = alerts.readValuesToList().stream().filter(a -> "storybook".equals(a.getGroup().get("metadata.application")))
                .collect(Collectors.toMap(AuditAlert::getRule, a -> a));
        assertEquals(List.of("a2", "a1"), fired.get("gt").getExampleEventIds(), "largest delta first, each once");
        assertEquals(4, fired.get("few").getEvents());
        assertEquals(List.of("a1", "a2"), fired.get("few").getExampleEventIds(), "the first events, each once");
    }

    /** A dead letter's empty event id is said among an alert's examples, not left as a blank between two commas. */
    @Test
    void anEmptyEventIdAmongTheExamplesIsSaid() {
        io.explainstream.schema.AuditAlert alert = io.explainstream.schema.AuditAlert.newBuilder().setRule("dlqb").setCondition("dlq.count > 0")
                .setMetric("dlq.count").setOperator(">").setValue(3).setThreshold(0).setGroupKey("metadata.application=none")
                .setGroup(Map.of("metadata.application", "none")).setWindowStart(Instant.ofEpochMilli(T0)).setWindowEnd(Instant.ofEpochMilli(T0 + 60_000))
                .setEvents(3).setExampleEventIds(List.of("bad-ts", "", "bad\u001b[2J")).setFiredAt(Instant.ofEpochMilli(T0 + 90_000)).build();
        String line = StatsText.line(alert);
        assertTrue(line.endsWith(" · 3 events · e.g. bad-ts, (empty id), bad\\x1b[2J"), line);
    }

    @Test
    void eachOperatorFiresOnClosedWindowsOnlyOncePerWindowAndGroupWithExamples() {
        start(rules("lt", "events < 3", "le", "events <= 2", "gt", "delta.rel.max > 0.1", "ge", "dlq.count >= 1", "eq", "events == 2",
                "ne", "events != 2", "no-data", "delta.rel.mean > 0"));
        explain(StatsFixture.explanation("a1", T0 + 1_000, "storybook", 100, 0.1));
        explain(StatsFixture.explanation("a2", T0 + 2_000, "storybook", 100, 0.5));
        explain(StatsFixture.gradient("g1", T0 + 3_000, "helpdesk"));
        driver.advanceWallClockTime(EMIT);
        assertTrue(alerts.isEmpty(), "rules are tested when a window closes");
        explain(StatsFixture.explanation("later", T0 + 200_000, "other", 100, 0));
        driver.advanceWallClockTime(EMIT);
        driver.advanceWallClockTime(EMIT);
        Map<String, AuditAlert> fired = alerts.readValuesToList().stream().collect(Collectors.toMap(a -> a.getRule() + " " + a.getGroup().get("metadata.application"), a -> a));
        assertEquals(List.of("eq storybook", "gt storybook", "le helpdesk", "le storybook", "lt helpdesk", "lt storybook", "ne helpdesk",
                "no-data storybook"), fired.keySet().stream().sorted().toList(),
                "no dead letters: ge does not fire; helpdesk has gradient explanations only: no delta, so no-data does not fire there");
        AuditAlert unfaithful = fired.get("gt storybook");
        assertEquals(0.25, unfaithful.getValue(), 1e-9);
        assertEquals(0.1, unfaithful.getThreshold(), 0);
        assertEquals(">", unfaithful.getOperator());
        assertEquals("delta.rel.max", unfaithful.getMetric());
        assertEquals(List.of("a2", "a1"), unfaithful.getExampleEventIds(), "largest delta first");
        assertEquals(Instant.ofEpochMilli(T0), unfaithful.getWindowStart());
        assertEquals(2.0, meters.get("explainstream.alerts").tag("rule", "lt").counter().count());
    }

    @Test
    void aGroupFilterLimitsARuleToItsGroups() {
        Map<String, String> entries = Map.of("alert.few.when", "events < 10", "alert.few.group", "metadata.application=helpdesk");
        start(AlertRule.fromConfig(entries, StatsFixture.GROUP_BY));
        explain(StatsFixture.explanation("a1", T0 + 1_000, "storybook", 100, 0));
        explain(StatsFixture.explanation("b1", T0 + 1_000, "helpdesk", 100, 0));
        idle(Duration.ofSeconds(100));
        List<AuditAlert> fired = alerts.readValuesToList();
        assertEquals(1, fired.size());
        assertEquals("helpdesk", fired.get(0).getGroup().get("metadata.application"));
    }

    /**
     * Three explanations with segments and one written before segments existed, in one window:
     * reliance, concentration and top words against values worked out by hand below, and a rule
     * on the system prompt's share.
     */
    @Test
    void relianceConcentrationAndTopWordsOfAWindowAndAnAlertOnTheSystemShare() {
        start(rules("low-system-reliance", "share.system.mean < 0.05", "diffuse", "entropy.mean > 1", "user-led", "top_segment.user.fraction > 0.5",
                "span-heavy", "share.span.p90 > 0.45"));
        explain(StatsFixture.withSegments(StatsFixture.explanation("r1", T0 + 1_000, "storybook", 100, 0),
                List.of(segment("system", SegmentKind.SYSTEM, 0.02), segment("user[0]", SegmentKind.USER, 0.5),
                        segment("template", SegmentKind.TEMPLATE, 0.08), segment("doc:a", SegmentKind.SPAN, 0.4)),
                "user[0]", 1.0, List.of(word("Once", 1.5), word("upon", -0.5), word("Once", 0.25), word(" ", 9.0), word(null, 9.0))));
        explain(StatsFixture.withSegments(StatsFixture.explanation("r2", T0 + 2_000, "storybook", 100, 0),
                List.of(segment("system", SegmentKind.SYSTEM, 0.04), segment("user[0]", SegmentKind.USER, 0.3),
                        segment("user[1]", SegmentKind.USER, 0.2), segment("doc:a", SegmentKind.SPAN, 0.46)),
                "doc:a", 2.0, List.of(word("upon", 2.0), word("time", 0.1))));
        explain(StatsFixture.withSegments(StatsFixture.explanation("r3", T0 + 3_000, "storybook", 100, 0),
                List.of(segment("system", SegmentKind.SYSTEM, 0.03), segment("user[0]", SegmentKind.USER, 0.97)),
                "user[0]", 0.5, List.of(word("Once", -1.0))));
        explain(StatsFixture.explanation("legacy", T0 + 4_000, "storybook", 100, 0));
        explain(StatsFixture.explanation("later", T0 + 200_000, "other", 100, 0));
        driver.advanceWallClockTime(EMIT);
        driver.advanceWallClockTime(EMIT);

        Map<String, ExplanationStats> byKey = latestByKey();
        ExplanationStats window = byKey.get("source_model=stories260K,metadata.application=storybook@2026-11-29T10:00:00Z");
        assertTrue(window.getFinal$());
        assertEquals(4, window.getEvents());
        assertEquals(java.util.Set.of("span", "system", "template", "user"), window.getReliance().keySet(),
                "kinds no explanation has are absent; the legacy record counts in none");
        // system: 0.02, 0.04, 0.03; never the top segment
        ShareStats system = window.getReliance().get("system");
        assertEquals(3, system.getEvents());
        assertEquals(0.03, system.getShareMean(), 1e-12);
        assertEquals(0.02, system.getShareP10(), 0.02 * 0.01, "nearest rank 1 of 3");
        assertEquals(0.04, system.getShareP90(), 0.04 * 0.01, "nearest rank 3 of 3");
        assertEquals(0, system.getTopFraction(), 0);
        // user: 0.5, 0.3 + 0.2 (both user messages of r2), 0.97; top segment of r1 and r3
        ShareStats user = window.getReliance().get("user");
        assertEquals(3, user.getEvents());
        assertEquals((0.5 + 0.5 + 0.97) / 3, user.getShareMean(), 1e-12);
        assertEquals(0.5, user.getShareP10(), 0.5 * 0.01);
        assertEquals(0.97, user.getShareP90(), 0.97 * 0.01);
        assertEquals(2.0 / 3, user.getTopFraction(), 1e-12);
        // template: r1 only
        assertEquals(1, window.getReliance().get("template").getEvents());
        assertEquals(0.08, window.getReliance().get("template").getShareMean(), 1e-12);
        // span doc:a: 0.4, 0.46; top segment of r2
        ShareStats span = window.getReliance().get("span");
        assertEquals(0.43, span.getShareMean(), 1e-12);
        assertEquals(1.0 / 3, span.getTopFraction(), 1e-12);
        assertEquals(Map.of("doc:a", span), window.getSpanReliance());
        assertEquals(0, window.getSpansDropped());
        // entropy: (1 + 2 + 0.5) / 3 over the explanations with segments
        assertEquals(3, window.getConcentration().getEvents());
        assertEquals(3.5 / 3, window.getConcentration().getEntropyMean(), 1e-12);
        // words by summed |score|: Once 1.5 + 0.25 + 1.0, upon 0.5 + 2.0, time 0.1; blank and redacted words left out
        assertEquals(List.of(new WordStats("Once", 2.75, 3L, 0.0), new WordStats("upon", 2.5, 2L, 0.0), new WordStats("time", 0.1, 1L, 0.0)),
                window.getTopWords());

        ExplanationStats legacyOnly = byKey.values().stream().filter(s -> s.getGroup().get("metadata.application").equals("other"))
                .findFirst().orElseThrow();
        assertEquals(Map.of(), legacyOnly.getReliance());
        assertEquals(0, legacyOnly.getConcentration().getEvents());
        assertEquals(List.of(), legacyOnly.getTopWords());

        Map<String, AuditAlert> fired = alerts.readValuesToList().stream().collect(Collectors.toMap(AuditAlert::getRule, a -> a));
        assertEquals(List.of("diffuse", "low-system-reliance", "span-heavy", "user-led"), fired.keySet().stream().sorted().toList());
        AuditAlert lowSystem = fired.get("low-system-reliance");
        assertEquals("share.system.mean", lowSystem.getMetric());
        assertEquals(0.03, lowSystem.getValue(), 1e-12);
        assertEquals(0.05, lowSystem.getThreshold(), 0);
        assertEquals("storybook", lowSystem.getGroup().get("metadata.application"));
        // The examples of a rule on a kind are events with that kind, the lowest shares first for "<" (a hostile test: the
        // window's first events, plain prompts without a system message among them).
        assertEquals(List.of("r1", "r3", "r2"), lowSystem.getExampleEventIds());
        assertEquals(List.of("r1", "r3"), fired.get("user-led").getExampleEventIds(), "top_segment > : the events whose top segment is of the kind");
        assertEquals(List.of("r2", "r1"), fired.get("span-heavy").getExampleEventIds(), "share > : the highest shares first");
        assertEquals(3.5 / 3, fired.get("diffuse").getValue(), 1e-12);
        assertEquals(2.0 / 3, fired.get("user-led").getValue(), 1e-12);
        assertEquals(0.46, fired.get("span-heavy").getValue(), 0.46 * 0.01);
    }

    /**
     * A segment with no tokens (cut off by truncation, or a span that lies inside one token) is not
     * in what the model read: its share of 0 is no reading, and counts as absent, as a kind the
     * prompt lacks does (a hostile test: a document cut off counted as "share 0", so a rule on it
     * read "ignored the document").
     */
    @Test
    void aSegmentWithNoTokensCountsAsAbsentNotAsAShareOfZero() {
        start(rules("ignored-doc", "share.span:doc:early.mean < 0.1", "no-system", "share.system.mean < 0.05"));
        io.explainstream.schema.PromptSegment cutSystem = segment("system", SegmentKind.SYSTEM, 0);
        cutSystem.setTokens(0);
        io.explainstream.schema.PromptSegment cutDoc = segment("doc:early", SegmentKind.SPAN, 0);
        cutDoc.setTokens(0);
        explain(StatsFixture.withSegments(StatsFixture.explanation("cut", T0 + 1_000, "storybook", 100, 0),
                List.of(cutSystem, cutDoc, segment("user[0]", SegmentKind.USER, 1.0)), "user[0]", 1.0, List.of()));
        explain(StatsFixture.withSegments(StatsFixture.explanation("whole", T0 + 2_000, "storybook", 100, 0),
                List.of(segment("doc:early", SegmentKind.SPAN, 0.3), segment("user[0]", SegmentKind.USER, 0.7)), "user[0]", 1.0, List.of()));
        driver.advanceWallClockTime(EMIT);
        driver.advanceWallClockTime(EMIT);

        ExplanationStats window = latestByKey().get("source_model=stories260K,metadata.application=storybook@2026-11-29T10:00:00Z");
        assertEquals(java.util.Set.of("span", "user"), window.getReliance().keySet(), "the cut system message is absent");
        ShareStats doc = window.getSpanReliance().get("doc:early");
        assertEquals(1, doc.getEvents(), "only the explanation whose prompt held the document");
        assertEquals(0.3, doc.getShareMean(), 1e-12);
        assertEquals(1, window.getReliance().get("span").getEvents());
        assertEquals(List.of(), alerts.readValuesToList().stream().map(AuditAlert::getRule).toList(), "no rule reads the cut segments' 0");
    }

    /**
     * Rules on one named span ({@code share.span:<name>.*}, {@code top_segment.span:<name>.fraction})
     * against values worked out by hand, and a span a rule names aggregated past the first 20
     * span names of a window.
     */
    @Test
    void rulesOnNamedSpansReadThatSpansSharesAndTopFractionEvenPastTheFirstTwentySpans() {
        start(rules("kb-low", "share.span:doc:kb-4411.mean < 0.5", "kb-high", "share.span:doc:kb-4411.mean > 0.5", "kb-p10",
                "share.span:doc:kb-4411.p10 < 0.2", "kb-p90", "share.span:doc:kb-4411.p90 > 0.7", "kb-top", "top_segment.span:doc:kb-4411.fraction >= 0.3",
                "tool-mean", "share.span:tool.search/v2.mean > 0.05", "tool-top", "top_segment.span:tool.search/v2.fraction == 0",
                "never", "share.span:doc:never.mean < 1"));
        explain(StatsFixture.withSegments(StatsFixture.explanation("s1", T0 + 1_000, "storybook", 100, 0),
                List.of(segment("user[0]", SegmentKind.USER, 0.5), segment("doc:kb-4411", SegmentKind.SPAN, 0.1), segment("doc:kb-9", SegmentKind.SPAN, 0.4)),
                "doc:kb-9", 1.0, List.of()));
        explain(StatsFixture.withSegments(StatsFixture.explanation("s2", T0 + 2_000, "storybook", 100, 0),
                List.of(segment("user[0]", SegmentKind.USER, 0.6), segment("doc:kb-4411", SegmentKind.SPAN, 0.3),
                        segment("tool.search/v2", SegmentKind.SPAN, 0.1)), "user[0]", 1.0, List.of()));
        explain(StatsFixture.withSegments(StatsFixture.explanation("s3", T0 + 3_000, "storybook", 100, 0),
                List.of(segment("user[0]", SegmentKind.USER, 0.2), segment("doc:kb-4411", SegmentKind.SPAN, 0.8)), "doc:kb-4411", 1.0, List.of()));
        // Another group: 25 spans whose names sort before doc:kb-4411 fill the window's 20 places first.
        List<io.explainstream.schema.PromptSegment> many = new java.util.ArrayList<>();
        for (int i = 0; i < 25; i++) {
            many.add(segment(String.format("doc:f%02d", i), SegmentKind.SPAN, 0.02));
        }
        many.add(segment("doc:kb-4411", SegmentKind.SPAN, 0.25));
        many.add(segment("user[0]", SegmentKind.USER, 0.25));
        explain(StatsFixture.withSegments(StatsFixture.explanation("m1", T0 + 4_000, "rag", 100, 0), many, "user[0]", 1.0, List.of()));
        explain(StatsFixture.explanation("later", T0 + 200_000, "other", 100, 0));
        driver.advanceWallClockTime(EMIT);
        driver.advanceWallClockTime(EMIT);

        Map<String, ExplanationStats> byKey = latestByKey();
        ExplanationStats storybook = byKey.get("source_model=stories260K,metadata.application=storybook@2026-11-29T10:00:00Z");
        // doc:kb-4411: shares 0.1, 0.3, 0.8 (mean 0.4, nearest-rank p10 = 0.1, p90 = 0.8); the top segment of s3 of 3
        ShareStats kb = storybook.getSpanReliance().get("doc:kb-4411");
        assertEquals(3, kb.getEvents());
        assertEquals(0.4, kb.getShareMean(), 1e-12);
        assertEquals(1.0 / 3, kb.getTopFraction(), 1e-12);
        ExplanationStats rag = byKey.get("source_model=stories260K,metadata.application=rag@2026-11-29T10:00:00Z");
        assertEquals(5, rag.getSpansDropped(), "doc:f20..doc:f24 past the 20 places");
        assertEquals(21, rag.getSpanReliance().size(), "20 places and the span a rule names");
        assertEquals(0.25, rag.getSpanReliance().get("doc:kb-4411").getShareMean(), 1e-12);

        Map<String, AuditAlert> fired = alerts.readValuesToList().stream()
                .collect(Collectors.toMap(a -> a.getRule() + " " + a.getGroup().get("metadata.application"), a -> a));
        assertEquals(List.of("kb-low rag", "kb-low storybook", "kb-p10 storybook", "kb-p90 storybook", "kb-top storybook", "tool-mean storybook",
                "tool-top rag", "tool-top storybook"), fired.keySet().stream().sorted().toList(),
                "kb-high: 0.4 and 0.25 are not > 0.5; rag's kb-4411 was never the top segment (0 < 0.3) and its p10/p90 are 0.25;"
                        + " doc:never is in no window: no share, no alert; tool.search/v2 is in no rag explanation: top fraction 0 of 1");
        AuditAlert low = fired.get("kb-low storybook");
        assertEquals("share.span:doc:kb-4411.mean", low.getMetric());
        assertEquals(0.4, low.getValue(), 1e-12);
        assertEquals(0.5, low.getThreshold(), 0);
        assertEquals(0.25, fired.get("kb-low rag").getValue(), 1e-12);
        assertEquals(0.1, fired.get("kb-p10 storybook").getValue(), 0.1 * 0.01);
        assertEquals(0.8, fired.get("kb-p90 storybook").getValue(), 0.8 * 0.01);
        assertEquals(1.0 / 3, fired.get("kb-top storybook").getValue(), 1e-12);
        assertEquals(0.1, fired.get("tool-mean storybook").getValue(), 1e-12);
        assertEquals(0.0, fired.get("tool-top storybook").getValue(), 0);
        // Examples: the events with the span, by their share in the rule's direction, or whose top segment it is.
        assertEquals(List.of("s1", "s2", "s3"), low.getExampleEventIds());
        assertEquals(List.of("s3", "s2", "s1"), fired.get("kb-p90 storybook").getExampleEventIds());
        assertEquals(List.of("s3"), fired.get("kb-top storybook").getExampleEventIds());
        assertEquals(List.of("s2"), fired.get("tool-top storybook").getExampleEventIds(), "== 0: the events with the span, least reliance first");
        assertEquals(List.of("m1"), fired.get("tool-top rag").getExampleEventIds(), "no event has the span: the window's first events");
    }

    /**
     * stats.max.groups = 2: the third and fourth application of a window count in the overflow
     * group, a dead letter of a new group too; the next window starts empty; one warning per
     * window and the overflow counted in the metric.
     */
    @Test
    void groupsPastTheCapOfAWindowFoldIntoTheOverflowGroupWithOneWarningAndTheMetric() {
        start(2, rules("busy", "events >= 3"));
        String warnings = StandardError.during(() -> {
            explain(StatsFixture.explanation("a1", T0 + 1_000, "a", 100, 0));
            explain(StatsFixture.explanation("b1", T0 + 2_000, "b", 100, 0));
            explain(StatsFixture.explanation("c1", T0 + 3_000, "c", 100, 0));
            explain(StatsFixture.explanation("a2", T0 + 4_000, "a", 100, 0));
            explain(StatsFixture.explanation("d1", T0 + 5_000, "d", 100, 0));
            explain(StatsFixture.explanation("c2", T0 + 6_000, "c", 100, 0));
            deadLetter("bad-1", "{\"event_id\":\"bad-1\",\"model\":\"stories260K\",\"metadata\":{\"application\":\"e\"}}", T0 + 7_000, "no prompt");
            explain(StatsFixture.explanation("b2", T0 + 8_000, "b", 100, 0));
            // The next window: its own two groups, c first this time.
            explain(StatsFixture.explanation("c3", T0 + 61_000, "c", 100, 0));
            explain(StatsFixture.explanation("d2", T0 + 62_000, "d", 100, 0));
            explain(StatsFixture.explanation("a3", T0 + 63_000, "a", 100, 0));
            explain(StatsFixture.explanation("later", T0 + 300_000, "z", 100, 0));
            driver.advanceWallClockTime(EMIT);
            driver.advanceWallClockTime(EMIT);
        });
        Map<String, ExplanationStats> finals = stats.readValuesToList().stream().filter(ExplanationStats::getFinal$)
                .collect(Collectors.toMap(s -> s.getGroup().get("metadata.application") + "@" + s.getWindowStart().toEpochMilli() / 60_000 % 60, s -> s));
        String other = GroupBy.OVERFLOW;
        assertEquals(java.util.Set.of("a@0", "b@0", other + "@0", "c@1", "d@1", other + "@1"), finals.keySet());
        assertEquals(2, finals.get("a@0").getEvents());
        assertEquals(2, finals.get("b@0").getEvents());
        ExplanationStats overflow = finals.get(other + "@0");
        assertEquals("source_model=_other,metadata.application=_other", overflow.getGroupKey());
        assertEquals(3, overflow.getEvents(), "c1, d1, c2");
        assertEquals(1, overflow.getDeadLetters().getCount(), "the dead letter of group e");
        assertEquals(1, finals.get("c@1").getEvents());
        assertEquals(1, finals.get(other + "@1").getEvents(), "a3: a is new to the second window, which is full");
        assertEquals(5.0, meters.get("explainstream.stats.overflow.events").counter().count());
        List<String> capWarnings = warnings.lines().filter(l -> l.contains("stats.max.groups = 2")).toList();
        assertEquals(2, capWarnings.size(), "one warning per window:\n" + warnings);
        assertTrue(capWarnings.get(0).contains("the window from 2026-11-29T10:00:00Z already holds stats.max.groups = 2 groups in this task; the events of"
                + " further groups count in group source_model=_other,metadata.application=_other"), capWarnings.get(0));
        List<String> busy = alerts.readValuesToList().stream().map(a -> a.getGroupKey() + "@" + a.getWindowStart()).toList();
        assertEquals(List.of("source_model=_other,metadata.application=_other@2026-11-29T10:00:00Z"), busy, "rules see the overflow group as any other");
    }

    /**
     * Grouping by a field with a value per event or per user is allowed (a short investigation may
     * want it), but the start says once what it costs, naming the setting, its value, the fields
     * and stats.max.groups; the default grouping says nothing.
     */
    @Test
    void groupingByAPerEventFieldLogsOneWarningAtStartNamingTheSettingTheFieldsAndTheCap() {
        String warnings = StandardError.during(() -> {
            StatsTopology.addTo(new Topology(), settingsGroupedBy("source_model,event_id,metadata.user_id"), codecs(), new SimpleMeterRegistry());
            StatsTopology.addTo(new Topology(), settingsGroupedBy("source_model,metadata.application"), codecs(), new SimpleMeterRegistry());
        });
        List<String> lines = warnings.lines().filter(l -> l.contains("stats.group.by")).toList();
        assertEquals(1, lines.size(), "one warning, for the per-event grouping only:\n" + warnings);
        String line = lines.get(0);
        assertTrue(line.contains(" WARN "), line);
        assertTrue(line.contains("stats.group.by = source_model,event_id,metadata.user_id groups by event_id and metadata.user_id, which have a value"
                + " per event or per user"), line);
        assertTrue(line.contains("stats.max.groups = 1000"), line);
    }

    private static StatsSettings settingsGroupedBy(String fields) {
        StatsSettings base = StatsFixture.settings(WINDOW, GRACE, EMIT, List.of());
        return new StatsSettings(base.explanationsTopic(), base.deadLetterTopic(), base.statsTopic(), base.alertsTopic(), base.observationsTopic(),
                base.skipNoticesTopic(), base.window(), base.grace(), base.emitInterval(), base.retention(), GroupBy.parse("stats.group.by", fields), base.deltaWarn(),
                base.maxGroups(), base.rules());
    }

    @Test
    void theWordCounterHoldsTwoHundredWordsAndKeepsTheStrongOnesExactPastThat() {
        WindowAggregate aggregate = WindowAggregate.open(new GroupKey(List.of("source_model"), List.of("m")), T0, T0 + 60_000);
        for (int i = 0; i < 20; i++) {
            aggregate.add(observation(List.of(new Observation.WordScore("strong" + i, 1000 + i, 1))), 0.05);
        }
        for (int i = 0; i < 280; i++) {
            aggregate.add(observation(List.of(new Observation.WordScore("weak" + i, 1, 1))), 0.05);
        }
        // Arrives after the counter is full: evicts the weakest word and inherits its sum as error.
        aggregate.add(observation(List.of(new Observation.WordScore("late", 500, 1))), 0.05);
        assertEquals(WindowAggregate.MAX_WORDS, aggregate.words.size());
        List<WordStats> top = aggregate.topWords();
        assertEquals(WindowAggregate.TOP_WORDS, top.size());
        assertEquals(new WordStats("strong19", 1019.0, 1L, 0.0), top.get(0), "never evicted: exact");
        assertEquals(new WordStats("strong0", 1000.0, 1L, 0.0), top.get(19));
        WindowAggregate.Word late = aggregate.words.get("late");
        assertEquals(500, late.score - late.error, 1e-9, "over its true sum by exactly its error");
        assertTrue(late.error > 0);
    }

    private static Observation observation(List<Observation.WordScore> words) {
        return new Observation(Observation.Kind.EXPLANATION, "e", T0, "gradient", false, false, false, false, 1, 1, null, null, null,
                new Observation.Reliance(Map.of(), Map.of(), null, null, 0, words));
    }
}
