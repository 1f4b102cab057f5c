package io.explainstream.diff;

import io.explainstream.schema.Explanation;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The aggregate of a diff run, built one event at a time in memory that does not grow with the
 * events: counts, quantile sketches per group and measure, the few most-changed events (with both
 * explanations, for the heatmaps), the first few event ids present on one side only (with why the
 * other side dead-lettered them, where it did), and the events explained on neither side.
 */
public final class DiffAggregate {

    /** The group that holds every event. */
    public static final String ALL = "*";
    /** Groups beyond {@link #MAX_GROUPS} are counted under this one, so a high-cardinality key cannot grow memory. */
    public static final String OTHER_GROUP = "other";
    static final int MAX_GROUPS = 100;
    static final int MAX_SEGMENT_NAMES = 20;
    static final int MAX_ONE_SIDED_IDS = 20;

    /** One of the most-changed events, with both explanations. */
    public record Listed(EventDiff diff, Explanation replay, Explanation against) {}

    /** An event explained on one side only, and why the other side dead-lettered it ("stage: reason"; null: it did not). */
    public record OneSided(String eventId, String otherSideDeadLetter) {}

    /** An event explained on neither side: why each side dead-lettered it (null: that side did not). */
    public record Unexplained(String eventId, String replayDeadLetter, String againstDeadLetter) {}

    private final int largestKept;
    private final Map<String, EnumMap<Measure, Quantiles>> byGroup = new LinkedHashMap<>();
    private final Map<String, Quantiles> shareChangeBySegment = new LinkedHashMap<>();
    // Smallest change on top, so the heap keeps the largest ones; ties by event id for a stable order.
    private final PriorityQueue<Listed> largest = new PriorityQueue<>(Comparator.comparingDouble((Listed l) -> l.diff().change())
            .thenComparing(l -> l.diff().eventId(), Comparator.reverseOrder()));
    private final List<OneSided> replayOnlyEvents = new ArrayList<>();
    private final List<OneSided> againstOnlyEvents = new ArrayList<>();
    private final List<Unexplained> unexplainedEvents = new ArrayList<>();
    private long joined;
    private long replayOnly;
    private long againstOnly;
    private long replayOnlyDeadLetteredAgainst;
    private long againstOnlyDeadLetteredInReplay;
    private long deadLetteredOnBoth;
    private long deadLetteredInReplayOnly;
    private long deadLetteredAgainstOnly;
    private long wordsBasis;
    private long topSegmentChanged;

    /** @param largestKept how many of the most-changed events to keep */
    public DiffAggregate(int largestKept) {
        this.largestKept = largestKept;
        byGroup.put(ALL, new EnumMap<>(Measure.class));
    }

    public void joined(EventDiff diff, Explanation replay, Explanation against) {
        joined++;
        if (diff.basis() == EventDiff.Basis.WORDS) {
            wordsBasis++;
        }
        if (diff.topSegmentChanged()) {
            topSegmentChanged++;
        }
        String group = byGroup.containsKey(diff.group()) || byGroup.size() <= MAX_GROUPS ? diff.group() : OTHER_GROUP;
        record(ALL, diff);
        if (!group.equals(ALL)) {
            record(group, diff);
        }
        for (DiffMeasures.ShareChange change : diff.segmentChanges()) {
            if (shareChangeBySegment.containsKey(change.name()) || shareChangeBySegment.size() < MAX_SEGMENT_NAMES) {
                shareChangeBySegment.computeIfAbsent(change.name(), k -> new Quantiles()).add(change.change());
            }
        }
        largest.add(new Listed(diff, replay, against));
        if (largest.size() > largestKept) {
            largest.poll();
        }
    }

    private void record(String group, EventDiff diff) {
        EnumMap<Measure, Quantiles> sketches = byGroup.computeIfAbsent(group, k -> new EnumMap<>(Measure.class));
        for (Measure measure : Measure.values()) {
            measure.of(diff).ifPresent(v -> sketches.computeIfAbsent(measure, m -> new Quantiles()).add(v));
        }
    }

    /** An event explained by the replay only; {@code againstDeadLetter}: why the other side dead-lettered it, or null. */
    public void replayOnly(String eventId, String againstDeadLetter) {
        replayOnly++;
        replayOnlyDeadLetteredAgainst += againstDeadLetter == null ? 0 : 1;
        if (replayOnlyEvents.size() < MAX_ONE_SIDED_IDS) {
            replayOnlyEvents.add(new OneSided(eventId, againstDeadLetter));
        }
    }

    /** An event explained on the other side only; {@code replayDeadLetter}: why the replay dead-lettered it, or null. */
    public void againstOnly(String eventId, String replayDeadLetter) {
        againstOnly++;
        againstOnlyDeadLetteredInReplay += replayDeadLetter == null ? 0 : 1;
        if (againstOnlyEvents.size() < MAX_ONE_SIDED_IDS) {
            againstOnlyEvents.add(new OneSided(eventId, replayDeadLetter));
        }
    }

    /** An event explained on neither side, dead-lettered on one or both. */
    public void deadLetteredOnly(String eventId, String replayDeadLetter, String againstDeadLetter) {
        if (replayDeadLetter != null && againstDeadLetter != null) {
            deadLetteredOnBoth++;
        } else if (replayDeadLetter != null) {
            deadLetteredInReplayOnly++;
        } else {
            deadLetteredAgainstOnly++;
        }
        if (unexplainedEvents.size() < MAX_ONE_SIDED_IDS) {
            unexplainedEvents.add(new Unexplained(eventId, replayDeadLetter, againstDeadLetter));
        }
    }

    public long joined() {
        return joined;
    }

    public long replayOnly() {
        return replayOnly;
    }

    public long againstOnly() {
        return againstOnly;
    }

    /** Of the events explained by the replay only, those the other side dead-lettered. */
    public long replayOnlyDeadLetteredAgainst() {
        return replayOnlyDeadLetteredAgainst;
    }

    /** Of the events explained on the other side only, those the replay dead-lettered. */
    public long againstOnlyDeadLetteredInReplay() {
        return againstOnlyDeadLetteredInReplay;
    }

    /** Events explained on neither side and dead-lettered on both. */
    public long deadLetteredOnBoth() {
        return deadLetteredOnBoth;
    }

    /** Events explained on neither side, dead-lettered by the replay, absent from the other side. */
    public long deadLetteredInReplayOnly() {
        return deadLetteredInReplayOnly;
    }

    /** Events explained on neither side, dead-lettered by the other side, absent from the replay. */
    public long deadLetteredAgainstOnly() {
        return deadLetteredAgainstOnly;
    }

    public long wordsBasis() {
        return wordsBasis;
    }

    public long topSegmentChanged() {
        return topSegmentChanged;
    }

    /** The first few event ids present in the replay only, in the order found. */
    public List<String> replayOnlyIds() {
        return replayOnlyEvents.stream().map(OneSided::eventId).toList();
    }

    public List<String> againstOnlyIds() {
        return againstOnlyEvents.stream().map(OneSided::eventId).toList();
    }

    /** The first few events present in the replay only, with the other side's dead letter where there is one. */
    public List<OneSided> replayOnlyEvents() {
        return List.copyOf(replayOnlyEvents);
    }

    public List<OneSided> againstOnlyEvents() {
        return List.copyOf(againstOnlyEvents);
    }

    /** The first few events explained on neither side. */
    public List<Unexplained> unexplainedEvents() {
        return List.copyOf(unexplainedEvents);
    }

    /** The groups, {@link #ALL} first. */
    public List<String> groups() {
        return List.copyOf(byGroup.keySet());
    }

    /** p10, p50 and p90 of a measure in a group; empty when no event of the group has a value. */
    public java.util.Optional<Distribution> distribution(String group, Measure measure) {
        Quantiles q = byGroup.getOrDefault(group, new EnumMap<>(Measure.class)).get(measure);
        return q == null ? java.util.Optional.empty() : java.util.Optional.of(Distribution.of(q));
    }

    /** Distribution of each segment's share change over all joined events, by segment name (the first 20 names seen). */
    public Map<String, Distribution> shareChanges() {
        Map<String, Distribution> result = new LinkedHashMap<>();
        shareChangeBySegment.forEach((name, q) -> result.put(name, Distribution.of(q)));
        return result;
    }

    /** The most-changed events, largest change first. */
    public List<Listed> largest() {
        List<Listed> sorted = new ArrayList<>(largest);
        sorted.sort(Comparator.comparingDouble((Listed l) -> -l.diff().change()).thenComparing(l -> l.diff().eventId()));
        return sorted;
    }

    /** A measure's spread over a group's events. */
    public record Distribution(long count, double p10, double p50, double p90) {
        static Distribution of(Quantiles q) {
            return new Distribution(q.count(), q.quantile(0.1), q.quantile(0.5), q.quantile(0.9));
        }
    }
}
