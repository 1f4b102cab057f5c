package io.explainstream.stats;

import io.explainstream.schema.AttributionMethod;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.ExplanationFlags;
import io.explainstream.schema.IntegrationRule;
import io.explainstream.schema.Normalization;
import io.explainstream.schema.PromptSegment;
import io.explainstream.schema.PromptToken;
import io.explainstream.schema.PromptWord;
import io.explainstream.schema.SegmentKind;
import io.explainstream.schema.ResponseToken;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Explanation records with chosen times, latencies and deltas, and statistics settings, for the statistics tests (and tail's). */
public final class StatsFixture {

    public static final GroupBy GROUP_BY = new GroupBy(List.of("source_model", "metadata.application"));

    /** The topics of {@link #settings}: input, dead letters, observations, stats, alerts. */
    public static final List<String> TOPICS = List.of("explanations", "dlq", "app-stats-observations", "app-skipped", "explanation-stats", "explanation-alerts");

    private StatsFixture() {}

    /** Creates {@link #TOPICS} on the broker, one partition each, with {@code configs}. */
    public static void createTopics(io.explainstream.testing.InJvmKafka kafka, Map<String, String> configs) throws Exception {
        java.util.Properties props = new java.util.Properties();
        props.putAll(kafka.clientSettings());
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(props)) {
            admin.createTopics(TOPICS.stream().map(topic -> new org.apache.kafka.clients.admin.NewTopic(topic, java.util.Optional.of(1), java.util.Optional.empty())
                    .configs(configs)).toList()).all().get(60, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    public static StatsSettings settings(Duration window, Duration grace, Duration emit, List<AlertRule> rules) {
        return settings(window, grace, emit, 1000, rules);
    }

    public static StatsSettings settings(Duration window, Duration grace, Duration emit, int maxGroups, List<AlertRule> rules) {
        return new StatsSettings("explanations", "dlq", "explanation-stats", "explanation-alerts", "app-stats-observations", "app-skipped", window, grace, emit,
                Duration.ofDays(1), GROUP_BY, 0.05, maxGroups, rules);
    }

    /**
     * An integrated-gradients explanation whose response moved by 2 nats from baseline over two
     * targets, with {@code sequenceDelta} unaccounted for: relative delta = |sequenceDelta| / 2.
     */
    public static Explanation explanation(String id, long eventTimeMs, String application, double latencyMs, double sequenceDelta) {
        return Explanation.newBuilder()
                .setEventId(id)
                .setEventTime(Instant.ofEpochMilli(eventTimeMs))
                .setProcessingTime(Instant.ofEpochMilli(eventTimeMs + 1_500))
                .setSourceModel("stories260K")
                .setModelId("stories260K")
                .setModelFingerprint("sha256:test")
                .setMethod(AttributionMethod.INTEGRATED_GRADIENTS)
                .setIntegration(IntegrationRule.GAUSSLEGENDRE)
                .setSteps(16)
                .setBaseline("unk")
                .setIncludeBos(false)
                .setNormalization(Normalization.L1)
                .setPromptTokens(List.of(new PromptToken(1L, "<s>", 0, 0, false, 0), new PromptToken(400L, "▁Once", 0, 4, true, 0)))
                .setResponseTokens(List.of(new ResponseToken(500L, "▁Lily", 0, 4), new ResponseToken(501L, ".", 4, 5)))
                .setSeqAttr(List.of(0.0, 2.0 - sequenceDelta))
                .setSeqAttrNormalized(List.of(0.0, 1.0))
                .setResponseLogprobs(List.of(-1.0, -0.5))
                .setBaselineLogprobs(List.of(-2.0, -1.5))
                .setConvergenceDelta(List.of())
                .setSequenceDelta(sequenceDelta)
                .setMaxAbsDelta(Math.abs(sequenceDelta))
                .setFlags(new ExplanationFlags(false, 0, false, 0, false))
                .setBatchSize(1)
                .setAttributionLatencyMs(latencyMs)
                .setMetadata(Map.of("application", application, "tenant", "acme"))
                .build();
    }

    /** The same as a gradient explanation: no baseline, no delta. */
    public static Explanation gradient(String id, long eventTimeMs, String application) {
        Explanation e = explanation(id, eventTimeMs, application, 10, 0);
        e.setMethod(AttributionMethod.GRADIENT);
        e.setBaselineLogprobs(List.of());
        e.setSteps(1);
        return e;
    }

    /** A segment of {@code kind} with {@code share}; characters, tokens and score do not matter to the statistics. */
    public static PromptSegment segment(String name, SegmentKind kind, double share) {
        return new PromptSegment(name, kind, 0, 1, 1, share, share, null);
    }

    public static PromptWord word(String text, double score) {
        return new PromptWord(text, 0, 1, 0, 1, score, score);
    }

    /** The explanation with the segment and word fields of Explanation v2 set. */
    public static Explanation withSegments(Explanation e, List<PromptSegment> segments, String topSegment, double entropy, List<PromptWord> words) {
        e.setSegments(segments);
        e.setTopSegment(topSegment);
        e.setAttributionEntropy(entropy);
        e.setWords(words);
        return e;
    }
}
