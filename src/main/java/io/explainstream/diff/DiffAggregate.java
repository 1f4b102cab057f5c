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
 * explanations, for the heatmaps), and the first few event ids present on one side only.
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

    private final int largestKept;
    private final Map<String, EnumMap<Measure, Quantiles>> byGroup = new LinkedHashMap<>();
    private final Map<String, Quantiles> shareChangeBySegment = new LinkedHashMap<>();
    // Smallest change on top, so the heap keeps the largest ones; ties by event id for a stable order.
    private final PriorityQueue<Listed> largest = new PriorityQueue<>(Comparator.comparingDouble((Listed l) -> l.diff().change())
            .thenComparing(l -> l.diff().eventId(), Comparator.reverseOrder()));
    private final List<String> replayOnlyIds = new ArrayList<>();
    private final List<String> againstOnlyIds = new ArrayList<>();
    private long joined;
    private long replayOnly;
    private long againstOnly;
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

    public void replayOnly(String eventId) {
        replayOnly++;
        if (replayOnlyIds.size() < MAX_ONE_SIDED_IDS) {
            replayOnlyIds.add(eventId);
        }
    }

    public void againstOnly(String eventId) {
        againstOnly++;
        if (againstOnlyIds.size() < MAX_ONE_SIDED_IDS) {
            againstOnlyIds.add(eventId);
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

    public long wordsBasis() {
        return wordsBasis;
    }

    public long topSegmentChanged() {
        return topSegmentChanged;
    }

    /** The first few event ids present in the replay only, in the order found. */
    public List<String> replayOnlyIds() {
        return List.copyOf(replayOnlyIds);
    }

    public List<String> againstOnlyIds() {
        return List.copyOf(againstOnlyIds);
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
