package io.explainstream.stats;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.schema.DeadLetterCounts;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.schema.FaithfulnessStats;
import io.explainstream.schema.FlagCounts;
import io.explainstream.schema.LatencyStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeMap;

/**
 * The running aggregate of one window and group, as the windows store keeps it (JSON; public
 * fields for the codec). Mutable: a task's one thread adds each observation and writes it back.
 * Everything in it is bounded whatever the traffic: counts, two histograms, at most
 * {@link #MAX_REASONS} reasons and {@link #EXAMPLES} examples of each kind.
 *
 * <p>The metrics that need the segment and word fields of issue 17 (reliance, concentration,
 * top words) belong here as further fields filled in {@link #add} and read in {@link #toStats}.
 */
public final class WindowAggregate {

    static final int EXAMPLES = 5;
    static final int MAX_REASONS = 10;
    static final String OTHER_REASON = "other";

    private static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public long windowStart;
    public long windowEnd;
    public List<String> groupFields = new ArrayList<>();
    public List<String> groupValues = new ArrayList<>();
    public long events;
    public TreeMap<String, Long> byMethod = new TreeMap<>();
    public long promptTruncated;
    public long responseTruncated;
    public long redacted;
    public long replayed;
    public long deadLetters;
    public TreeMap<String, Long> deadLettersByStage = new TreeMap<>();
    public TreeMap<String, Long> deadLettersByReason = new TreeMap<>();
    public long lateEvents;
    public LogHistogram latency = new LogHistogram();
    public LogHistogram lag = new LogHistogram();
    public long faithfulnessEvents;
    public long finiteDeltas;
    public double relativeDeltaSum;
    public double relativeDeltaMax;
    public long overWarn;
    public long unbounded;
    /** The first explanations of the window. */
    public List<String> firstEvents = new ArrayList<>();
    public List<Example> largestDeltas = new ArrayList<>();
    public List<Example> slowest = new ArrayList<>();
    public List<Example> mostLagged = new ArrayList<>();
    public List<String> deadLetterEvents = new ArrayList<>();
    /** Changed since the window was last written to the stats topic. */
    public boolean dirty;
    /** Written with final = true; nothing is added after. */
    public boolean closed;

    /** An event behind a metric's value. */
    public record Example(String eventId, double value) {}

    static WindowAggregate open(GroupKey group, long start, long end) {
        WindowAggregate aggregate = new WindowAggregate();
        aggregate.windowStart = start;
        aggregate.windowEnd = end;
        aggregate.groupFields = new ArrayList<>(group.fields());
        aggregate.groupValues = new ArrayList<>(group.values());
        return aggregate;
    }

    GroupKey group() {
        return new GroupKey(groupFields, groupValues);
    }

    void add(Observation observation, double deltaWarn) {
        dirty = true;
        if (observation.kind() == Observation.Kind.DEAD_LETTER) {
            deadLetters++;
            deadLettersByStage.merge(observation.stage(), 1L, Long::sum);
            String reason = deadLettersByReason.containsKey(observation.reason()) || deadLettersByReason.size() < MAX_REASONS
                    ? observation.reason() : OTHER_REASON;
            deadLettersByReason.merge(reason, 1L, Long::sum);
            addFirst(deadLetterEvents, observation.eventId());
            return;
        }
        events++;
        byMethod.merge(observation.method(), 1L, Long::sum);
        promptTruncated += observation.promptTruncated() ? 1 : 0;
        responseTruncated += observation.responseTruncated() ? 1 : 0;
        redacted += observation.redacted() ? 1 : 0;
        replayed += observation.replayed() ? 1 : 0;
        latency.add(observation.latencyMs());
        lag.add(observation.lagMs());
        addFirst(firstEvents, observation.eventId());
        addLargest(slowest, observation.eventId(), observation.latencyMs());
        addLargest(mostLagged, observation.eventId(), observation.lagMs());
        Double delta = observation.relativeDelta();
        if (delta != null) {
            faithfulnessEvents++;
            if (delta == Double.MAX_VALUE) {
                unbounded++;
                overWarn++;
            } else {
                finiteDeltas++;
                relativeDeltaSum += delta;
                relativeDeltaMax = Math.max(relativeDeltaMax, delta);
                overWarn += delta > deltaWarn ? 1 : 0;
            }
            addLargest(largestDeltas, observation.eventId(), delta);
        }
    }

    private static void addFirst(List<String> ids, String id) {
        if (ids.size() < EXAMPLES) {
            ids.add(id);
        }
    }

    private static void addLargest(List<Example> examples, String id, double value) {
        examples.add(new Example(id, value));
        examples.sort(Comparator.comparingDouble(Example::value).reversed());
        if (examples.size() > EXAMPLES) {
            examples.remove(EXAMPLES);
        }
    }

    /** Mean relative delta over the finite ones; NaN when there are none (a rule on it then does not fire). */
    double relativeDeltaMean() {
        return finiteDeltas == 0 ? Double.NaN : relativeDeltaSum / finiteDeltas;
    }

    ExplanationStats toStats(boolean isFinal, long emittedAtMs, double deltaWarn) {
        return ExplanationStats.newBuilder()
                .setGroupKey(group().text())
                .setGroup(group().map())
                .setWindowStart(Instant.ofEpochMilli(windowStart))
                .setWindowEnd(Instant.ofEpochMilli(windowEnd))
                .setFinal$(isFinal)
                .setEmittedAt(Instant.ofEpochMilli(emittedAtMs))
                .setEvents(events)
                .setEventsByMethod(new TreeMap<>(byMethod))
                .setFlagged(new FlagCounts(promptTruncated, responseTruncated, redacted, replayed))
                .setDeadLetters(new DeadLetterCounts(deadLetters, new TreeMap<>(deadLettersByStage), new TreeMap<>(deadLettersByReason)))
                .setLateEvents(lateEvents)
                .setLatency(new LatencyStats(latency.quantile(0.5), latency.quantile(0.95), latency.max))
                .setLag(new LatencyStats(lag.quantile(0.5), lag.quantile(0.95), lag.max))
                .setFaithfulness(new FaithfulnessStats(faithfulnessEvents, finiteDeltas == 0 ? 0 : relativeDeltaMean(), relativeDeltaMax, overWarn,
                        unbounded, deltaWarn))
                .build();
    }

    byte[] toBytes() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static WindowAggregate fromBytes(byte[] bytes) {
        try {
            return JSON.readValue(bytes, WindowAggregate.class);
        } catch (IOException e) {
            throw new UncheckedIOException("unreadable window aggregate in the stats store: " + e.getMessage(), e);
        }
    }
}
