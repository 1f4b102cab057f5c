package io.explainstream.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.schema.AuditAlert;
import io.explainstream.schema.ConcentrationStats;
import io.explainstream.schema.DeadLetterCounts;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.schema.FaithfulnessStats;
import io.explainstream.schema.FlagCounts;
import io.explainstream.schema.LatencyStats;
import io.explainstream.schema.ShareStats;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Trends from the statistics and alerts topics without a broker: the latest version of a window
 * replaces the earlier ones, the groups of a window add up, the held windows are bounded, and
 * until the topic has a window the trends come from memory, labelled with the reason.
 */
class TopicTrendsTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final long T0 = 1_764_000_000_000L;
    private static final long MINUTE = 60_000;

    private final TopicTrends topic = new TopicTrends("explanation-stats", "explanation-alerts");

    @Test
    void theLatestVersionOfAWindowReplacesTheEarlierOnes() throws Exception {
        topic.add(stats("source_model=m1", T0, false, 2, 0.10, 20));
        topic.add(stats("source_model=m1", T0, false, 5, 0.20, 30));
        topic.add(stats("source_model=m1", T0, true, 6, 0.25, 40));
        JsonNode answer = stats(topic, Map.of());
        assertEquals("topic", answer.get("source").asText());
        assertEquals(1, answer.get("windows").size(), "one window, however often it was published");
        JsonNode window = answer.get("windows").get(0);
        assertEquals(6, window.get("events").asLong());
        assertTrue(window.get("final").asBoolean());
        assertEquals(0.25, window.get("faithfulness").get("rel_delta_max").asDouble());
        assertEquals(T0, window.get("start").asLong());
        assertEquals(Instant.ofEpochMilli(T0).toString(), window.get("window_start").asText(), "the record's own fields as published");
        assertTrue(answer.get("note").asText().contains("3 versions read"), answer.get("note").asText());
    }

    @Test
    void theGroupsOfAWindowAddUpAndAModelNarrowsThem() throws Exception {
        topic.add(ExplanationStats.newBuilder(stats("source_model=m1", T0, true, 3, 0.10, 20))
                .setSkipped(new io.explainstream.schema.SkipCounts(5L, Map.of("not_sampled", 5L))).setLateEvents(4).setLateDeadLetters(1).setLateSkipped(2).build());
        topic.add(ExplanationStats.newBuilder(stats("source_model=m2", T0, true, 1, 0.50, 90))
                .setSkipped(new io.explainstream.schema.SkipCounts(2L, Map.of("backlog", 2L))).setLateEvents(3).build());
        topic.add(stats("source_model=m1", T0 + MINUTE, false, 4, 0.00, 10));
        JsonNode totals = stats(topic, Map.of()).get("totals");
        assertEquals(2, totals.size());
        JsonNode first = totals.get(0);
        assertEquals(4, first.get("events").asLong());
        assertEquals(2, first.get("groups").asInt());
        assertEquals(7, first.get("skipped").asLong(), "the groups' skipped events added up");
        assertEquals(7, first.get("late_events").asLong(), "and their late events (helper-76: the totals read 109 of 113 explanations)");
        assertEquals(1, first.get("late_dead_letters").asLong(), "of which dead letters (helper-77)");
        assertEquals(2, first.get("late_skipped").asLong(), "and skipped events");
        assertEquals(0, totals.get(1).get("late_events").asLong());
        assertEquals(0, totals.get(1).get("late_skipped").asLong());
        // means weighted by the events each is over: (3 × 0.05 + 1 × 0.25) / 4 with rel_delta_mean = max / 2
        assertEquals((3 * 0.05 + 1 * 0.25) / 4, first.get("relative_delta_mean").asDouble(), 1e-12);
        assertEquals(0.5, first.get("relative_delta_max").asDouble());
        assertEquals(90, first.get("latency_ms_p50").asDouble(), "the largest group's");
        assertEquals(0.6, first.get("segment_share_mean").get("user").asDouble(), 1e-12);
        assertFalse(totals.get(1).get("final").asBoolean());

        JsonNode m2 = stats(topic, Map.of("model", "m2"));
        assertEquals(1, m2.get("windows").size());
        assertEquals("source_model=m2", m2.get("windows").get(0).get("group_key").asText());
    }

    @Test
    void aWindowLengthOtherThanTheServicesIsABadRequest() {
        topic.add(stats("source_model=m1", T0, true, 3, 0.10, 20));
        BadRequestException wrong = org.junit.jupiter.api.Assertions.assertThrows(BadRequestException.class,
                () -> topic.stats(TrendQuery.parse(Map.of("window", "30"))));
        assertTrue(wrong.getMessage().startsWith("the stats topic's windows are [60] s long"), wrong.getMessage());
        assertEquals(1, topic.stats(TrendQuery.parse(Map.of("window", "60"))).get("windows").size());
    }

    @Test
    void windowsOfAnotherLengthAreLeftOutAndNamed() throws Exception {
        // stats.window was 60 s, then 20 s: the latest window's length is the one answered, alone.
        topic.add(stats("source_model=m1", T0, true, 30, 0.1, 10));
        topic.add(stats("source_model=m1", T0 + MINUTE, true, 40, 0.1, 10));
        topic.add(ofLength(stats("source_model=m1", T0 + MINUTE, false, 7, 0.1, 10), 20_000));
        topic.add(ofLength(stats("source_model=m1", T0 + MINUTE + 20_000, false, 5, 0.1, 10), 20_000));
        JsonNode answer = stats(topic, Map.of());
        assertEquals(20_000, answer.get("window_ms").asLong());
        assertEquals(List.of("60000"), ids(answer.get("left_out_window_ms")));
        assertEquals(2, answer.get("windows").size(), "the 20 s windows only");
        answer.get("windows").forEach(w -> assertEquals(20_000, w.get("end").asLong() - w.get("start").asLong()));
        assertEquals(List.of(7L, 5L), List.of(answer.get("totals").get(0).get("events").asLong(), answer.get("totals").get(1).get("events").asLong()),
                "the 60 s window of the same start is not added to the 20 s one");
        assertTrue(answer.get("note").asText().contains("windows of other lengths [60000] ms are left out"), answer.get("note").asText());

        JsonNode minute = stats(topic, Map.of("window", "60"));
        assertEquals(60_000, minute.get("window_ms").asLong());
        assertEquals(2, minute.get("totals").size());
        assertEquals(40, minute.get("totals").get(1).get("events").asLong());
        assertEquals(List.of("20000"), ids(minute.get("left_out_window_ms")));
    }

    @Test
    void theOldestWindowsGoFirstBeyondTheBound() throws Exception {
        for (int i = 0; i <= TopicTrends.MAX_WINDOWS; i++) {
            topic.add(stats("source_model=m1", T0 + i * MINUTE, true, 1, 0.1, 10));
        }
        JsonNode windows = stats(topic, Map.of("limit", Integer.toString(TrendQuery.MAX_LIMIT))).get("windows");
        assertEquals(TopicTrends.MAX_WINDOWS, windows.size());
        assertEquals(T0 + MINUTE, windows.get(0).get("start").asLong(), "the oldest was dropped");
        JsonNode answered = stats(topic, Map.of()).get("windows");
        assertEquals(TrendQuery.DEFAULT_LIMIT, answered.size(), "an answer holds the latest windows only, unless asked for more");
        assertEquals(T0 + TopicTrends.MAX_WINDOWS * MINUTE, answered.get(answered.size() - 1).get("start").asLong());
    }

    @Test
    void aLimitKeepsEveryGroupOfTheLatestWindows() throws Exception {
        topic.add(stats("source_model=m1", T0, true, 1, 0.1, 10));
        topic.add(stats("source_model=m1", T0 + MINUTE, true, 2, 0.1, 10));
        topic.add(stats("source_model=m2", T0 + MINUTE, true, 3, 0.1, 10));
        JsonNode answer = stats(topic, Map.of("limit", "1"));
        assertEquals(2, answer.get("windows").size(), "both groups of the latest window");
        assertEquals(1, answer.get("totals").size());
        assertEquals(5, answer.get("totals").get(0).get("events").asLong());
    }

    @Test
    void alertsAreAsPublishedNewestFirstWithTheirExamples() throws Exception {
        topic.add(alert("unfaithful", "source_model=m1", T0, List.of("a", "b")));
        topic.add(alert("unfaithful", "source_model=m1", T0 + MINUTE, List.of("c")));
        topic.add(alert("unfaithful", "source_model=m1", T0 + MINUTE, List.of("c", "d")));
        JsonNode answer = MAPPER.readTree(DashboardApi.write(topic.alerts(TrendQuery.parse(Map.of()))));
        assertEquals("topic", answer.get("source").asText());
        JsonNode alerts = answer.get("alerts");
        assertEquals(2, alerts.size(), "one per rule, window and group");
        assertEquals(List.of("c", "d"), ids(alerts.get(0).get("example_event_ids")));
        assertEquals("m1", alerts.get(0).get("model_id").asText());
        assertEquals("delta.rel.max", alerts.get(0).get("metric").asText());
        assertTrue(alerts.get(0).get("message").asText().startsWith("delta.rel.max = 0.3000 > 0.1 in source_model=m1"), alerts.get(0).get("message").asText());
        assertEquals(0, topic.alerts(TrendQuery.parse(Map.of("model", "m2"))).get("alerts").size());
        // A count reads as a whole number, a threshold as the rule gives it (helper-78: "dlq.count = 4.000 > 0.0").
        topic.add(AuditAlert.newBuilder(alert("dlq", "source_model=m1", T0 + 2 * MINUTE, List.of("", "e")))
                .setCondition("dlq.count > 0").setMetric("dlq.count").setValue(4).setThreshold(0).build());
        JsonNode count = MAPPER.readTree(DashboardApi.write(topic.alerts(TrendQuery.parse(Map.of())))).get("alerts").get(0);
        assertTrue(count.get("message").asText().startsWith("dlq.count = 4 > 0 in source_model=m1"), count.get("message").asText());
    }

    @Test
    void untilTheTopicHasAWindowTheTrendsComeFromMemoryAndSayWhy() throws Exception {
        EventStore store = new EventStore(10);
        store.add(DashboardApiTest.explanation("e1", "m1", "shop", -0.1, 0.3, "▁ball"));
        FallbackTrends trends = new FallbackTrends(topic, new InMemoryTrends(store, 0.05));
        DashboardApi api = new DashboardApi(store, trends, 0.05, Map.of("topic", "explanations"), () -> Dashboard.sources(List.of()));

        topic.topicsExisting(Set.of());
        JsonNode stats = MAPPER.readTree(api.get("/api/stats", null).json());
        assertEquals("memory", stats.get("source").asText());
        assertTrue(stats.get("fallback").asText().contains("explanation-stats does not exist"), stats.get("fallback").asText());
        assertEquals(1, stats.get("windows").size());
        JsonNode info = MAPPER.readTree(api.get("/api/info", null).json());
        assertEquals("memory", info.get("trends_source").asText());
        assertEquals("missing", info.get("stats_topic_state").asText());
        assertEquals("memory", MAPPER.readTree(api.get("/api/alerts", null).json()).get("source").asText());

        topic.topicsExisting(Set.of("explanation-stats", "explanation-alerts"));
        assertTrue(MAPPER.readTree(api.get("/api/stats", null).json()).get("fallback").asText().contains("has no window since"));
        assertEquals("empty", MAPPER.readTree(api.get("/api/info", null).json()).get("stats_topic_state").asText());

        topic.add(stats("source_model=m1", T0, false, 2, 0.1, 20));
        stats = MAPPER.readTree(api.get("/api/stats", null).json());
        assertEquals("topic", stats.get("source").asText());
        assertFalse(stats.has("fallback"));
        assertEquals(2, stats.get("windows").get(0).get("events").asLong());
        info = MAPPER.readTree(api.get("/api/info", null).json());
        assertEquals("topic", info.get("trends_source").asText());
        assertEquals("reading", info.get("stats_topic_state").asText());
        assertEquals("topic", MAPPER.readTree(api.get("/api/alerts", null).json()).get("source").asText(), "alerts follow the trends");
    }

    @Test
    void aModelAskedOfWindowsNotGroupedByModelIs400NamingTheGroupFields() throws Exception {
        // stats.group.by=metadata.application: the windows cannot say which model their events came from.
        topic.add(ExplanationStats.newBuilder(stats("metadata.application=shop", T0, true, 3, 0.10, 20))
                .setGroup(Map.of("metadata.application", "shop")).build());
        topic.add(AuditAlert.newBuilder(alert("unfaithful", "metadata.application=shop", T0, List.of("e1")))
                .setGroup(Map.of("metadata.application", "shop")).build());
        DashboardApi api = new DashboardApi(new EventStore(10), new FallbackTrends(topic, new InMemoryTrends(new EventStore(10), 0.05)), 0.05, Map.of(), () -> Dashboard.sources(List.of()));
        String expected = "model = m1: the statistics topic's windows are grouped by the fields [metadata.application] (stats.group.by),"
                + " none of which names the model (source_model or model_id); leave model out, or run the service with source_model in stats.group.by";
        for (String path : List.of("/api/stats", "/api/alerts")) {
            DashboardApi.Answer answer = api.get(path, "model=m1");
            assertEquals(400, answer.status(), path + ": " + answer.json());
            assertEquals(expected, MAPPER.readTree(answer.json()).get("error").asText(), path);
            assertEquals(200, api.get(path, null).status(), path + " without a model");
        }
        topic.add(stats("source_model=m1", T0 + MINUTE, true, 1, 0.10, 20));
        JsonNode mixed = stats(topic, Map.of("model", "m1"));
        assertEquals(1, mixed.get("totals").size(), "once a window names the model, model= narrows to it");
        // The window grouped without a model may hold m1's traffic too: the answer says it left it out.
        assertEquals(1, mixed.get("left_out_without_model").asLong(), mixed.toString());
        assertTrue(mixed.get("note").asText().contains("1 windows whose groups name no model"), mixed.get("note").asText());
        assertEquals(0, stats(topic, Map.of()).get("left_out_without_model").asLong(), "nothing is left out without model=");
    }

    private static JsonNode stats(TopicTrends topic, Map<String, String> query) throws Exception {
        return MAPPER.readTree(DashboardApi.write(topic.stats(TrendQuery.parse(query))));
    }

    private static List<String> ids(JsonNode array) {
        List<String> ids = new java.util.ArrayList<>();
        array.forEach(id -> ids.add(id.asText()));
        return ids;
    }

    /** A window of one model whose explanations had relative deltas up to {@code deltaMax} (mean half of it), a user share of 0.6. */
    static ExplanationStats stats(String group, long start, boolean isFinal, long events, double deltaMax, double p50) {
        String model = group.substring(group.indexOf('=') + 1);
        LatencyStats latency = new LatencyStats(p50, p50 * 2, p50 * 3);
        return ExplanationStats.newBuilder()
                .setGroupKey(group).setGroup(Map.of("source_model", model))
                .setWindowStart(Instant.ofEpochMilli(start)).setWindowEnd(Instant.ofEpochMilli(start + MINUTE))
                .setFinal$(isFinal).setEmittedAt(Instant.ofEpochMilli(start + 1000))
                .setEvents(events).setEventsByMethod(Map.of("integrated_gradients", events))
                .setFlagged(new FlagCounts(0L, 0L, 0L, 0L)).setDeadLetters(new DeadLetterCounts(0L, Map.of(), Map.of())).setLateEvents(0)
                .setLatency(latency).setLag(latency)
                .setFaithfulness(new FaithfulnessStats(events, deltaMax / 2, deltaMax, 0L, 0L, 0.05))
                .setReliance(Map.of("user", new ShareStats(events, 0.6, 0.5, 0.7, 1.0)))
                .setConcentration(new ConcentrationStats(events, 1.0))
                .build();
    }

    private static ExplanationStats ofLength(ExplanationStats stats, long lengthMs) {
        return ExplanationStats.newBuilder(stats).setWindowEnd(stats.getWindowStart().plusMillis(lengthMs)).build();
    }

    static AuditAlert alert(String rule, String group, long start, List<String> examples) {
        String model = group.substring(group.indexOf('=') + 1);
        return AuditAlert.newBuilder()
                .setRule(rule).setCondition("delta.rel.max > 0.1").setMetric("delta.rel.max").setOperator(">").setValue(0.3).setThreshold(0.1)
                .setGroupKey(group).setGroup(Map.of("source_model", model))
                .setWindowStart(Instant.ofEpochMilli(start)).setWindowEnd(Instant.ofEpochMilli(start + MINUTE))
                .setEvents(4).setExampleEventIds(examples).setFiredAt(Instant.ofEpochMilli(start + 2 * MINUTE))
                .build();
    }
}
