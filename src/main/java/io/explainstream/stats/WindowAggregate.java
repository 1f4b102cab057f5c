package io.explainstream.stats;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.schema.DeadLetterCounts;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.schema.FaithfulnessStats;
import io.explainstream.schema.FlagCounts;
import io.explainstream.schema.LatencyStats;
import io.explainstream.schema.ConcentrationStats;
import io.explainstream.schema.ShareStats;
import io.explainstream.schema.SkipCounts;
import io.explainstream.schema.WordStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The running aggregate of one window and group, as the windows store keeps it (JSON; public
 * fields for the codec). Mutable: a task's one thread adds each observation and writes it back.
 * Everything in it is bounded whatever the traffic: counts, two histograms, at most
 * {@link #MAX_REASONS} reasons and {@link #EXAMPLES} examples of each kind.
 *
 * <p>Reliance, concentration and top words come from the segment and word fields of issue 17:
 * a share histogram per segment kind and per named span (at most {@link #MAX_SPANS}, and the spans
 * alert rules name), and a space-saving counter of at most {@link #MAX_WORDS} words.
 */
public final class WindowAggregate {

    static final int EXAMPLES = 5;
    static final int MAX_REASONS = 10;
    static final String OTHER_REASON = "other";
    /** Span names are the input's (document ids, tool names): unbounded, so only the first ones are kept. */
    static final int MAX_SPANS = 20;
    /** Words the counter holds; ten times the words published keeps the top ones exact unless the window's words are nearly flat. */
    static final int MAX_WORDS = 200;
    static final int TOP_WORDS = 20;

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
    /** Events skipped to stay within the compute budget, by reason (not_sampled, backlog). */
    public long skipped;
    public TreeMap<String, Long> skippedByReason = new TreeMap<>();
    public List<String> skippedEvents = new ArrayList<>();
    public long lateEvents;
    /** Of {@link #lateEvents}, the dead letters and the skipped events: late, they are in no window's own counts. */
    public long lateDeadLetters;
    public long lateSkipped;
    /** The first late events' ids: a late.events alert names these, not the window's own first events (helper-78). */
    public List<String> lateEventIds = new ArrayList<>();
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
    /** Explanations with segments: the denominator of entropy.mean. */
    public long segmentEvents;
    /** Explanations with a top segment: the denominator of top_segment.<kind>.fraction. */
    public long topEvents;
    public double entropySum;
    /** By lower-case segment kind. */
    public TreeMap<String, Share> kinds = new TreeMap<>();
    public TreeMap<String, Share> spans = new TreeMap<>();
    public long spansDropped;
    public TreeMap<String, Word> words = new TreeMap<>();
    /** Changed since the window was last written to the stats topic. */
    public boolean dirty;
    /** Written with final = true; nothing is added after. */
    public boolean closed;

    /**
     * The shares one segment kind or span had in the window's explanations, and the events behind
     * them: an alert on the kind names events that have it. Public fields for the codec (a window
     * stored before the examples were kept reads them empty).
     */
    public static final class Share {
        public long events;
        public double sum;
        public LogHistogram shares = new LogHistogram();
        /** Explanations whose top segment was of this kind (or this span). */
        public long top;
        /** The events with the lowest shares, kept by −share so that the lowest leads. */
        public List<Example> lowest = new ArrayList<>();
        public List<Example> highest = new ArrayList<>();
        /** The first events whose top segment was of this kind (or this span). */
        public List<String> topEventIds = new ArrayList<>();

        void add(String eventId, double share) {
            events++;
            sum += share;
            shares.add(share);
            addLargest(highest, eventId, share);
            addLargest(lowest, eventId, -share);
        }

        void topOf(String eventId) {
            top++;
            addFirst(topEventIds, eventId);
        }

        double mean() {
            return events == 0 ? Double.NaN : sum / events;
        }
    }

    /** A word in the space-saving counter: score and count include {@code error}, what it inherited on eviction. */
    public static final class Word {
        public double score;
        public long count;
        public double error;
    }

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
        add(observation, deltaWarn, Set.of());
    }

    /**
     * @param watchedSpans span names that alert rules read: aggregated even past the first
     *     {@link #MAX_SPANS}, so that a rule on a span never misses it in a window of many spans
     */
    void add(Observation observation, double deltaWarn, Set<String> watchedSpans) {
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
        if (observation.kind() == Observation.Kind.SKIPPED) {
            skipped++;
            skippedByReason.merge(observation.reason(), 1L, Long::sum);
            addFirst(skippedEvents, observation.eventId());
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
        if (observation.reliance() != null) {
            addReliance(observation.eventId(), observation.reliance(), watchedSpans);
        }
    }

    private void addReliance(String eventId, Observation.Reliance reliance, Set<String> watchedSpans) {
        segmentEvents++;
        entropySum += reliance.entropy();
        reliance.kindShares().forEach((kind, share) -> kinds.computeIfAbsent(kind, k -> new Share()).add(eventId, share));
        reliance.spanShares().forEach((name, share) -> {
            Share span = spans.get(name);
            if (span == null && spans.size() >= MAX_SPANS && !watchedSpans.contains(name)) {
                spansDropped++;
                return;
            }
            spans.computeIfAbsent(name, k -> new Share()).add(eventId, share);
        });
        if (reliance.topKind() != null) {
            topEvents++;
            kinds.computeIfAbsent(reliance.topKind(), k -> new Share()).topOf(eventId);
            if (reliance.topSpan() != null && spans.containsKey(reliance.topSpan())) {
                spans.get(reliance.topSpan()).topOf(eventId);
            }
        }
        for (Observation.WordScore score : reliance.words()) {
            addWord(score);
        }
    }

    /**
     * Space-saving (Metwally et al.), weighted: a word not held when the counter is full replaces
     * the one with the smallest score and starts from it, so a word's score is never under its
     * true sum and over it by at most its error.
     */
    private void addWord(Observation.WordScore score) {
        Word word = words.get(score.text());
        if (word == null) {
            word = new Word();
            if (words.size() >= MAX_WORDS) {
                Map.Entry<String, Word> weakest = words.entrySet().stream()
                        .min(Comparator.comparingDouble((Map.Entry<String, Word> e) -> e.getValue().score)).orElseThrow();
                words.remove(weakest.getKey());
                word.score = weakest.getValue().score;
                word.count = weakest.getValue().count;
                word.error = weakest.getValue().score;
            }
            words.put(score.text(), word);
        }
        word.score += score.score();
        word.count += score.count();
    }

    /** Mean attribution entropy over the explanations with segments; NaN when there are none. */
    double entropyMean() {
        return segmentEvents == 0 ? Double.NaN : entropySum / segmentEvents;
    }

    /** An event counted twice (sent twice, or replayed into the live topic) is named once. */
    private static void addFirst(List<String> ids, String id) {
        if (ids.size() < EXAMPLES && !ids.contains(id)) {
            ids.add(id);
        }
    }

    /** An event counted twice is named once, with its larger value. */
    private static void addLargest(List<Example> examples, String id, double value) {
        for (Example seen : examples) {
            if (seen.eventId().equals(id)) {
                if (seen.value() >= value) {
                    return;
                }
                examples.remove(seen);
                break;
            }
        }
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
                .setSkipped(new SkipCounts(skipped, new TreeMap<>(skippedByReason)))
                .setLateEvents(lateEvents)
                .setLateDeadLetters(lateDeadLetters)
                .setLateSkipped(lateSkipped)
                .setLatency(new LatencyStats(latency.quantile(0.5), latency.quantile(0.95), latency.max))
                .setLag(new LatencyStats(lag.quantile(0.5), lag.quantile(0.95), lag.max))
                .setFaithfulness(new FaithfulnessStats(faithfulnessEvents, finiteDeltas == 0 ? 0 : relativeDeltaMean(), relativeDeltaMax, overWarn,
                        unbounded, deltaWarn))
                .setReliance(shareStats(kinds))
                .setSpanReliance(shareStats(spans))
                .setSpansDropped(spansDropped)
                .setConcentration(new ConcentrationStats(segmentEvents, segmentEvents == 0 ? 0 : entropyMean()))
                .setTopWords(topWords())
                .build();
    }

    private Map<String, ShareStats> shareStats(TreeMap<String, Share> shares) {
        Map<String, ShareStats> stats = new TreeMap<>();
        shares.forEach((name, share) -> stats.put(name, new ShareStats(share.events, share.events == 0 ? 0 : share.mean(),
                share.shares.quantile(0.1), share.shares.quantile(0.9), topEvents == 0 ? 0 : (double) share.top / topEvents)));
        return stats;
    }

    List<WordStats> topWords() {
        return words.entrySet().stream()
                .sorted(Comparator.comparingDouble((Map.Entry<String, Word> e) -> e.getValue().score).reversed().thenComparing(Map.Entry::getKey))
                .limit(TOP_WORDS)
                .map(e -> new WordStats(e.getKey(), e.getValue().score, e.getValue().count, e.getValue().error))
                .toList();
    }

    /** Counts an observation that came after its own window had closed, by its kind. */
    void addLate(Observation.Kind kind, String eventId) {
        lateEvents++;
        addFirst(lateEventIds, eventId);
        switch (kind) {
            case DEAD_LETTER -> lateDeadLetters++;
            case SKIPPED -> lateSkipped++;
            case EXPLANATION -> { }
        }
        dirty = true;
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
