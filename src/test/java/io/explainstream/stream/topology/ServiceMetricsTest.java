package io.explainstream.stream.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.stream.batch.PendingEvent;
import io.explainstream.stream.config.MetricLabels;
import io.explainstream.stream.config.TimestampWindow;
import io.explainstream.stream.config.TopicRetention;
import io.explainstream.stream.ingest.InputEvent;
import io.explainstream.stream.ingest.SourcePosition;
import io.explainstream.stream.output.DeadLetters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MockClock;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The Prometheus text the operations endpoint serves, from the service's own meters. */
class ServiceMetricsTest {

    private final MockClock clock = new MockClock();
    private final PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT, new PrometheusRegistry(), clock);

    private static InputEvent event(String model, Map<String, String> metadata) {
        return new InputEvent("e", 0, model, "p", null, "r", null, null, metadata, null);
    }

    @Test
    void latencyHistogramsKeepTheirCountsAfterTheServiceIsIdle() {
        ServiceMetrics metrics = new ServiceMetrics(prometheus);
        for (int i = 0; i < 20; i++) {
            metrics.batch(1, 40, Duration.ofMillis(80));
        }
        clock.add(3, TimeUnit.MINUTES); // idle longer than the two minutes over which quantiles decay
        String text = prometheus.scrape();
        assertFalse(text.contains("quantile="), "no decaying quantiles:\n" + text);
        assertTrue(text.contains("explainstream_attribution_per_event_seconds_count 20"), text);
        assertEquals(0.0, bucket(text, "explainstream_attribution_per_event_seconds", "0.05"), "no event took ≤ 50 ms");
        assertEquals(20.0, bucket(text, "explainstream_attribution_per_event_seconds", "0.1"), "all 20 took ≤ 100 ms, three idle minutes later");
        assertEquals(20.0, bucket(text, "explainstream_attribution_per_event_seconds", "+Inf"));
        assertEquals(20.0, bucket(text, "explainstream_attribution_per_token_seconds", "0.0025"), "80 ms / 40 tokens = 2 ms per token");
        assertEquals(20.0, bucket(text, "explainstream_batch_size", "1.0"));
    }

    /** The event-time lag is that of the latest explanation while events wait, and 0 once nothing has waited for 30 s. */
    @Test
    void theEventTimeLagReadsZeroOnceNothingHasWaitedForThirtySeconds() {
        ServiceMetrics metrics = new ServiceMetrics(prometheus);
        var lag = prometheus.get("explainstream.event.time.lag.seconds").gauge();
        long now = 1_000_000;
        metrics.pending("0_0", 3, now);
        metrics.pending("0_1", 0, now);
        metrics.eventOut(new PendingEvent(0, "e-1", now - 44_500, "m", Map.of(), List.of(), List.of(), 0, 0, new SourcePosition("in", 0, 0, 0), null,
                null, 0, 0, null), now);
        assertEquals(44.5, lag.value());
        metrics.pending("0_0", 1, now + 40_000);
        assertEquals(44.5, lag.value(), "an event still waits on one task");
        metrics.pending("0_0", 0, now + 40_000);
        metrics.pending("0_1", 0, now + 69_999);
        assertEquals(44.5, lag.value(), "nothing has waited for 29.999 s");
        metrics.pending("0_1", 0, now + 70_000);
        assertEquals(0.0, lag.value(), "nothing has waited for 30 s");
        metrics.pending("0_1", 2, now + 80_000);
        metrics.eventOut(new PendingEvent(0, "e-2", now + 78_000, "m", Map.of(), List.of(), List.of(), 0, 0, new SourcePosition("in", 0, 1, 0), null,
                null, 0, 0, null), now + 81_000);
        metrics.pending("0_1", 0, now + 81_000);
        metrics.pending("0_1", 0, now + 110_000);
        assertEquals(3.0, lag.value(), "29 s since the last explanation");
    }

    /** The warning comes at most once a minute; what came after the last one is said at the stop, once. */
    @Test
    void recordsPastRetentionAfterTheLastWarningAreOwedAtTheStop() {
        ServiceMetrics metrics = new ServiceMetrics(prometheus);
        TopicRetention week = new TopicRetention(Duration.ofDays(7).toMillis());
        long now = Duration.ofDays(30).toMillis();
        assertEquals(List.of(), metrics.owedWarnings(), "nothing written yet");
        metrics.pastRetention("out", week, 0, now); // warned at once
        metrics.timestampMoved("out", TimestampWindow.ANY, 0, now);
        assertEquals(List.of(), metrics.owedWarnings(), "the first records were warned of");
        metrics.pastRetention("out", week, 0, now + 1_000);
        metrics.pastRetention("out", week, 0, now + 1_500);
        metrics.pastRetention("dlq", week, 0, now + 2_000); // another topic: warned at once, its own minute
        metrics.timestampMoved("out", TimestampWindow.ANY, 0, now + 3_000);
        assertEquals(List.of("2 more records written with a timestamp older than their topic's retention since the last warning: the broker may"
                + " delete them at its next retention check; raise the topic's retention.ms (-1 keeps records forever). Counted by topic in"
                + " explainstream_records_past_retention_total", "1 more record written with the time it was written, as its topic refuses its event's"
                + " timestamp, since the last warning. Counted by topic in explainstream_records_timestamp_moved_total"), metrics.owedWarnings());
        assertEquals(List.of(), metrics.owedWarnings(), "said once");
        assertEquals(4.0, metrics.count("explainstream.records.past.retention"));
        assertEquals(2.0, metrics.count("explainstream.records.timestamp.moved"));
    }

    @Test
    void eventCountersCarryTheModelAndTheConfiguredMetadataKeys() {
        ServiceMetrics metrics = new ServiceMetrics(prometheus, MetricLabels.parse("tenant, app.name"));
        metrics.eventIn(event("llama-2-7b", Map.of("tenant", "acme", "app.name", "storybook", "conversation", "c-1")));
        metrics.eventIn(event("llama-2-7b", Map.of("tenant", "acme")));
        // A record that could not be decoded, whose JSON names no model either.
        io.explainstream.stream.ingest.Admission.Reject undecodable = new io.explainstream.stream.ingest.Admission.Reject(null,
                new io.explainstream.stream.ingest.InvalidEventException("value is not valid JSON"), null, Map.of());
        metrics.eventIn(undecodable);
        metrics.deadLetter(DeadLetters.Stage.VALIDATION, undecodable);
        metrics.skipped("other_model", event("gpt-x", Map.of()));
        metrics.eventOut(new PendingEvent(0, "e-1", 0, "llama-2-7b", Map.of("tenant", "acme"), java.util.List.of(), java.util.List.of(), 0, 0,
                new SourcePosition("in", 0, 0, 0), null, null, 0, 0, null), 1_000);
        String text = prometheus.scrape();
        assertTrue(text.contains("explainstream_events_in_total{app_name=\"storybook\",model=\"llama-2-7b\",tenant=\"acme\"} 1.0"), text);
        assertTrue(text.contains("explainstream_events_in_total{app_name=\"none\",model=\"llama-2-7b\",tenant=\"acme\"} 1.0"), text);
        assertTrue(text.contains("explainstream_events_in_total{app_name=\"none\",model=\"unknown\",tenant=\"none\"} 1.0"), text);
        assertTrue(text.contains("explainstream_events_dlq_total{app_name=\"none\",model=\"unknown\",stage=\"validation\",tenant=\"none\"} 1.0"), text);
        assertTrue(text.contains("explainstream_events_skipped_total{app_name=\"none\",model=\"gpt-x\",reason=\"other_model\",tenant=\"none\"} 1.0"), text);
        assertTrue(text.contains("explainstream_events_out_total{app_name=\"none\",model=\"llama-2-7b\",tenant=\"acme\"} 1.0"), text);
        assertFalse(text.contains("conversation"), "only the configured keys are labels");
        assertEquals(3.0, metrics.count("explainstream.events.in"), "count sums every series");
        assertEquals(2.0, metrics.count("explainstream.events.in", "model", "llama-2-7b"));
    }

    @Test
    void eachLabelKeepsAHundredValuesThenCountsTheRestAsOther() {
        ServiceMetrics metrics = new ServiceMetrics(prometheus, List.of("tenant"));
        for (int i = 0; i < 250; i++) {
            metrics.eventIn(event("model-" + (i % 120), Map.of("tenant", "tenant-" + i)));
        }
        List<Counter> counters = List.copyOf(prometheus.find("explainstream.events.in").counters());
        Set<String> tenants = counters.stream().map(c -> c.getId().getTag("tenant")).collect(Collectors.toSet());
        Set<String> models = counters.stream().map(c -> c.getId().getTag("model")).collect(Collectors.toSet());
        assertEquals(ServiceMetrics.MAX_VALUES_PER_LABEL + 1, tenants.size(), "100 tenants and other");
        assertTrue(tenants.contains(ServiceMetrics.OTHER) && tenants.contains("tenant-99") && !tenants.contains("tenant-100"));
        assertEquals(ServiceMetrics.MAX_VALUES_PER_LABEL + 1, models.size(), "the model label is bounded too");
        assertEquals(250.0, metrics.count("explainstream.events.in"), "nothing is lost, only grouped");
        assertEquals(150.0, metrics.count("explainstream.events.in", "tenant", ServiceMetrics.OTHER));
    }

    /** A model name or metadata value from the traffic must not act on the terminal of whoever curls /metrics, nor fill every scrape. */
    @Test
    void labelValuesFromTheTrafficAreShownEscapedAndCut() {
        ServiceMetrics metrics = new ServiceMetrics(prometheus, List.of("tenant"));
        metrics.eventIn(event("evil\u001b[2J\u202emodel\nx", Map.of("tenant", "\uD83D\uDE00".repeat(100))));
        String text = prometheus.scrape();
        assertFalse(text.chars().anyMatch(c -> c == 0x1b || c == 0x202e), text);
        // The exposition format escapes the backslash of \x1b once more.
        assertTrue(text.contains("model=\"evil\\\\x1b[2J\\\\u202emodel\\\\nx\""), text);
        String tenant = prometheus.find("explainstream.events.in").counter().getId().getTag("tenant");
        assertEquals("\uD83D\uDE00".repeat(ServiceMetrics.MAX_LABEL_CHARS / 2) + "\u2026", tenant, "cut between characters, marked");
    }

    @Test
    void metadataKeysThatCannotBeLabelsAreRefusedByName() {
        assertEquals(List.of("tenant", "app.name"), MetricLabels.parse(" tenant ,app.name,"));
        assertEquals(List.of(), MetricLabels.parse(""));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MetricLabels.parse("model")).getMessage().contains("'model'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MetricLabels.parse("stage")).getMessage().contains("'stage'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MetricLabels.parse("1st")).getMessage().contains("'1st'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MetricLabels.parse("app.name,app_name")).getMessage().contains("twice"));
    }

    /** The value of one bucket of a histogram without labels. */
    private static double bucket(String text, String name, String le) {
        Matcher matcher = Pattern.compile("(?m)^" + Pattern.quote(name + "_bucket{le=\"" + le + "\"}") + " (\\S+)$").matcher(text);
        assertTrue(matcher.find(), name + " has a bucket le=" + le + ":\n" + text);
        return Double.parseDouble(matcher.group(1));
    }
}
