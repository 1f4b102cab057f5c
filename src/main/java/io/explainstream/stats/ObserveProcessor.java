package io.explainstream.stats;

import io.explainstream.attribution.CompletenessGap;
import io.explainstream.avro.RegistryException;
import io.explainstream.avro.WireFormat;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.schema.PromptSegment;
import io.explainstream.schema.PromptToken;
import io.explainstream.schema.PromptWord;
import io.explainstream.schema.SegmentKind;
import io.explainstream.stream.config.TimestampWindow;
import io.explainstream.stream.ingest.GroupFields;
import io.explainstream.stream.ingest.EventValidator;
import io.explainstream.stream.output.DeadLetter;
import io.explainstream.stream.output.DeadLetters;
import io.explainstream.stream.output.SkipNotice;
import io.explainstream.stream.output.SourceTimestamp;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns each explanation, dead letter and skip notice into an {@link Observation}, keyed by its group and
 * stamped with its event time, for the observations topic. A dead letter's group and event time
 * come from its original (JSON or Avro) when that decodes, so that it falls in the same window as
 * the explanations of its twins; when the original's timestamp is missing, unreadable or outside
 * what validation accepts (it may be exactly what was wrong with it), the source-timestamp header
 * stands in, and the record timestamp when that is missing too.
 */
final class ObserveProcessor implements Processor<byte[], byte[], String, byte[]> {

    private static final Logger LOG = LoggerFactory.getLogger(ObserveProcessor.class);

    private final StatsSettings settings;
    private final Deserializer<Explanation> explanations;
    private final Deserializer<LlmInteraction> interactions;
    private final StatsMetrics metrics;
    private final TimestampWindow accepted;
    private ProcessorContext<String, byte[]> context;

    /**
     * @param accepted the record timestamps the broker accepts on the observations topic (its
     *     defaults, read at start)
     */
    ObserveProcessor(StatsSettings settings, Deserializer<Explanation> explanations, Deserializer<LlmInteraction> interactions, StatsMetrics metrics,
            TimestampWindow accepted) {
        this.settings = settings;
        this.explanations = explanations;
        this.interactions = interactions;
        this.metrics = metrics;
        this.accepted = accepted;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        String topic = context.recordMetadata().map(m -> m.topic()).orElse(settings.explanationsTopic());
        if (topic.equals(settings.deadLetterTopic())) {
            deadLetter(record);
            return;
        }
        if (topic.equals(settings.skipNoticesTopic())) {
            skipped(record);
            return;
        }
        Explanation explanation;
        try {
            explanation = explanations.deserialize(topic, record.value());
        } catch (RegistryException e) {
            throw e; // an outage: the thread retries from the last commit
        } catch (SerializationException | IllegalArgumentException | NullPointerException e) {
            // Not written by this service (another producer on the topic): nothing to aggregate.
            metrics.unreadable();
            LOG.warn("stats: skipping a record of {} that is not an Explanation: {}", topic, e.getMessage());
            return;
        }
        forward(settings.groupBy().of(explanation), observe(explanation), record.timestamp());
    }

    static Observation observe(Explanation e) {
        double relative = CompletenessGap.relativeDelta(doubles(e.getResponseLogprobs()), doubles(e.getBaselineLogprobs()),
                doubles(e.getConvergenceDelta()), e.getSequenceDelta());
        Double delta = Double.isNaN(relative) ? null : Double.isInfinite(relative) ? Double.MAX_VALUE : relative;
        long eventTime = e.getEventTime().toEpochMilli();
        return new Observation(Observation.Kind.EXPLANATION, e.getEventId(), eventTime, e.getMethod().name().toLowerCase(Locale.ROOT),
                e.getFlags().getPromptTruncated(), e.getFlags().getResponseTruncated(), e.getFlags().getRedacted(), e.getReplayId() != null,
                e.getAttributionLatencyMs(), Math.max(0, e.getProcessingTime().toEpochMilli() - eventTime), delta, null, null, reliance(e));
    }

    /** The segment and word fields; null for a record written before they existed (no segments). */
    static Observation.Reliance reliance(Explanation e) {
        if (e.getSegments() == null || e.getSegments().isEmpty()) {
            return null;
        }
        Map<String, Double> kinds = new TreeMap<>();
        Map<String, Double> spans = new TreeMap<>();
        String topKind = null;
        String topSpan = null;
        for (PromptSegment segment : e.getSegments()) {
            if (segment.getTokens() == 0) {
                // Cut off by truncation, or a span inside one token: not in what the model read. Its
                // share of 0 is no reading; counted, a rule on it would read "ignored the document".
                continue;
            }
            String kind = segment.getKind().name().toLowerCase(Locale.ROOT);
            kinds.merge(kind, segment.getShare(), Double::sum);
            if (segment.getKind() == SegmentKind.SPAN) {
                spans.merge(segment.getName(), segment.getShare(), Double::sum);
            }
            if (topKind == null && e.getTopSegment() != null && e.getTopSegment().equals(segment.getName())) {
                topKind = kind;
                topSpan = segment.getKind() == SegmentKind.SPAN ? segment.getName() : null;
            }
        }
        Map<String, Observation.WordScore> words = new HashMap<>();
        for (PromptWord word : e.getWords()) {
            // Redacted records carry no text, and whitespace and empty (BOS) words name nothing a reader could act on.
            if (word.getText() == null || word.getText().isBlank() || !aboutTheContent(e, word)) {
                continue;
            }
            words.merge(word.getText(), new Observation.WordScore(word.getText(), Math.abs(word.getScore()), 1),
                    (a, b) -> new Observation.WordScore(a.text(), a.score() + b.score(), a.count() + b.count()));
        }
        List<Observation.WordScore> largest = words.values().stream()
                .sorted(Comparator.comparingDouble(Observation.WordScore::score).reversed().thenComparing(Observation.WordScore::text))
                .limit(Observation.WORDS).toList();
        return new Observation.Reliance(kinds, spans, topKind, topSpan, e.getAttributionEntropy(), largest);
    }

    /**
     * Whether a word is worth a place in a window's top words. The chat template's markup
     * ({@code [INST]}, {@code <<SYS>>}) is in every chat event, so summed over a window it would
     * crowd out the words of the messages while saying nothing about them (its reliance is in
     * {@code reliance.template}); a BOS the tokenizer added and the engine kept fixed scores 0 by
     * construction.
     */
    static boolean aboutTheContent(Explanation e, PromptWord word) {
        List<PromptToken> tokens = e.getPromptTokens();
        if (word.getTokenStart() < 0 || word.getTokenEnd() > tokens.size() || word.getTokenStart() >= word.getTokenEnd()) {
            return true; // a record that does not say which tokens: keep the word as it is
        }
        PromptToken first = tokens.get(word.getTokenStart());
        if (first.getSegment() >= 0 && first.getSegment() < e.getSegments().size()
                && e.getSegments().get(first.getSegment()).getKind() == SegmentKind.TEMPLATE) {
            return false;
        }
        boolean added = tokens.subList(word.getTokenStart(), word.getTokenEnd()).stream()
                .allMatch(t -> t.getStart() == t.getEnd() || !t.getAttributed());
        return !(added && word.getScore() == 0);
    }

    private static double[] doubles(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** An event skipped to stay within the budget, in the group and window its explanation would have had. */
    private void skipped(Record<byte[], byte[]> record) {
        SkipNotice notice;
        try {
            notice = SkipNotice.fromBytes(record.value());
        } catch (IOException | RuntimeException e) {
            metrics.unreadable();
            LOG.warn("stats: skipping a record of {} that is not a skip notice: {}", settings.skipNoticesTopic(), e.getMessage());
            return;
        }
        // Timed by its input record, as an explanation of the record would be; a notice from before it carried that, by its own.
        long recordTimestamp = notice.recordTimestampMs() != null ? notice.recordTimestampMs() : record.timestamp();
        forward(settings.groupBy().ofInput(notice.eventId(), notice.model(), notice.metadata()),
                Observation.skipped(notice.eventId(), notice.timestampMs(), notice.reason()), recordTimestamp);
    }

    private void deadLetter(Record<byte[], byte[]> record) {
        String key = record.key() == null ? "(no key)" : new String(record.key(), StandardCharsets.UTF_8);
        GroupFields original = original(record.value());
        long eventTime = eventTime(original, record);
        // The event id as diff reads it (GroupFields reads an original broken after its event_id as far as it goes), else the key.
        String eventId = Objects.requireNonNullElse(original != null ? original.eventId() : null, key);
        GroupKey group = original == null ? settings.groupBy().unknown() : settings.groupBy().ofOriginal(eventId, original);
        Observation observation = Observation.deadLetter(eventId, eventTime, DeadLetter.header(record.headers(), DeadLetters.STAGE),
                DeadLetter.header(record.headers(), DeadLetters.REASON));
        forward(group, observation, record.timestamp());
    }

    /**
     * @param recordTimestampMs the consumed record's timestamp: the broker accepted it once, so the
     *     observation topic does too (an event time from a record's value may lie outside the broker's
     *     message.timestamp limits and fail the transaction on every try), unless it has since aged
     *     past a bound on the past (an explanations topic read long after it was written): then the
     *     time it is written. The window is chosen by the event time inside the observation
     */
    private void forward(GroupKey group, Observation observation, long recordTimestampMs) {
        long nowMs = context.currentSystemTimeMs();
        // Never ahead of the wall clock: the observations' timestamps are the windows' stream time,
        // which closes windows and makes events late, and one producer whose clock runs half an hour
        // ahead (a broker takes up to message.timestamp.after.max.ms, an hour by default) made every
        // current event late for that half hour.
        long timestamp = accepted.acceptable(Math.min(Math.max(0, recordTimestampMs), nowMs), nowMs);
        // Fresh headers: a dead letter's would travel on into the observations otherwise.
        context.forward(new Record<>(group.text(), observation.toBytes(), timestamp, new RecordHeaders()));
    }

    /**
     * The time a dead letter is windowed by: its original's timestamp, as an explanation of the same
     * event would be. A timestamp validation would reject (before 1970, more than
     * {@link EventValidator#MAX_CLOCK_SKEW} past the time the letter was written) is not used: it
     * would move the task's stream time and close every open window. Then the source record's
     * timestamp (header), which the broker accepted, else the dead letter's record timestamp.
     */
    static long eventTime(GroupFields original, Record<byte[], byte[]> record) {
        Long sourceTime = SourceTimestamp.read(record.headers());
        long fallback = sourceTime != null ? sourceTime : record.timestamp();
        if (original == null || original.timestampMs() == null) {
            return fallback;
        }
        Long failedAt = headerTime(record.headers(), DeadLetters.FAILED_AT);
        long latest = Math.max(fallback, failedAt == null ? fallback : failedAt) + EventValidator.MAX_CLOCK_SKEW.toMillis();
        long timestamp = original.timestampMs();
        return timestamp >= 0 && timestamp <= latest ? timestamp : fallback;
    }

    /** The original's group fields (any may be missing), or null when it decodes neither as JSON nor as Avro. */
    private GroupFields original(byte[] value) {
        if (value == null || value.length == 0 || value[0] != WireFormat.MAGIC_BYTE) {
            return GroupFields.readLeniently(value);
        }
        try {
            LlmInteraction event = interactions.deserialize(settings.deadLetterTopic(), value);
            return GroupFields.of(event.getEventId(), event.getTimestamp() == null ? null : event.getTimestamp().toEpochMilli(),
                    event.getModel(), event.getMetadata());
        } catch (RegistryException e) {
            if (e.unavailable()) {
                throw e;
            }
            return null;
        } catch (RuntimeException e) {
            return null; // unknown schema id, truncated, corrupt: its group cannot be known
        }
    }

    private static Long headerTime(Headers headers, String name) {
        return DeadLetter.epochMillis(DeadLetter.header(headers, name));
    }
}
