package io.explainstream.stats;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/**
 * The window metrics alert rules can test, by the name a rule uses. A metric with no data in the
 * window (a mean over no events) is NaN, and a rule on it does not fire.
 *
 * <p>Reliance ({@code share.<kind>.mean|p10|p90}, {@code top_segment.<kind>.fraction}) is one
 * metric per segment kind: those entries have {@link #perKind()} and read their value through
 * {@link #value(WindowAggregate, String)}, or for one named span {@link #valueOfSpan}; a rule
 * names them by {@link WindowMetric}.
 */
public enum StatsMetric {
    EVENTS("events", Examples.FIRST, a -> a.events),
    DLQ_COUNT("dlq.count", Examples.DEAD_LETTERS, a -> a.deadLetters),
    DLQ_RATE("dlq.rate", Examples.DEAD_LETTERS, a -> a.events + a.deadLetters == 0 ? Double.NaN : (double) a.deadLetters / (a.events + a.deadLetters)),
    SKIPPED_COUNT("skipped.count", Examples.SKIPPED, a -> a.skipped),
    SKIPPED_RATE("skipped.rate", Examples.SKIPPED,
            a -> a.events + a.deadLetters + a.skipped == 0 ? Double.NaN : (double) a.skipped / (a.events + a.deadLetters + a.skipped)),
    LATE_EVENTS("late.events", Examples.LATE, a -> a.lateEvents),
    LATENCY_P50("latency.p50", Examples.SLOWEST, a -> a.events == 0 ? Double.NaN : a.latency.quantile(0.5)),
    LATENCY_P95("latency.p95", Examples.SLOWEST, a -> a.events == 0 ? Double.NaN : a.latency.quantile(0.95)),
    LATENCY_MAX("latency.max", Examples.SLOWEST, a -> a.events == 0 ? Double.NaN : a.latency.max),
    LAG_P50("lag.p50", Examples.MOST_LAGGED, a -> a.events == 0 ? Double.NaN : a.lag.quantile(0.5)),
    LAG_MAX("lag.max", Examples.MOST_LAGGED, a -> a.events == 0 ? Double.NaN : a.lag.max),
    DELTA_REL_MEAN("delta.rel.mean", Examples.LARGEST_DELTAS, WindowAggregate::relativeDeltaMean),
    DELTA_REL_MAX("delta.rel.max", Examples.LARGEST_DELTAS,
            a -> a.unbounded > 0 ? Double.POSITIVE_INFINITY : a.finiteDeltas == 0 ? Double.NaN : a.relativeDeltaMax),
    DELTA_OVER_WARN("delta.over_warn", Examples.LARGEST_DELTAS, a -> a.overWarn),
    PROMPT_TRUNCATED("flagged.prompt_truncated", Examples.FIRST, a -> a.promptTruncated),
    RESPONSE_TRUNCATED("flagged.response_truncated", Examples.FIRST, a -> a.responseTruncated),
    REDACTED("flagged.redacted", Examples.FIRST, a -> a.redacted),
    REPLAYED("flagged.replayed", Examples.FIRST, a -> a.replayed),
    ENTROPY_MEAN("entropy.mean", Examples.FIRST, WindowAggregate::entropyMean),
    SHARE_MEAN("share.<kind>.mean", Examples.FIRST, null),
    SHARE_P10("share.<kind>.p10", Examples.FIRST, null),
    SHARE_P90("share.<kind>.p90", Examples.FIRST, null),
    TOP_SEGMENT_FRACTION("top_segment.<kind>.fraction", Examples.FIRST, null);

    static final String KIND = "<kind>";

    /** Which events an alert on the metric names as examples. */
    enum Examples { FIRST, DEAD_LETTERS, SKIPPED, LATE, SLOWEST, MOST_LAGGED, LARGEST_DELTAS }

    private final String metricName;
    private final Examples examples;
    private final ToDoubleFunction<WindowAggregate> value;

    StatsMetric(String metricName, Examples examples, ToDoubleFunction<WindowAggregate> value) {
        this.metricName = metricName;
        this.examples = examples;
        this.value = value;
    }

    public String metricName() {
        return metricName;
    }

    /** Whether the name holds a segment kind ({@code share.<kind>.mean}). */
    boolean perKind() {
        return value == null;
    }

    double value(WindowAggregate aggregate) {
        return value.applyAsDouble(aggregate);
    }

    /** A per-kind metric's value for a lower-case segment kind; NaN when no explanation of the window has that kind. */
    double value(WindowAggregate aggregate, String kind) {
        return reliance(aggregate.kinds.get(kind), aggregate.topEvents);
    }

    /** The same for one named span, by its name as {@code span_reliance} keys it. */
    double valueOfSpan(WindowAggregate aggregate, String span) {
        return reliance(aggregate.spans.get(span), aggregate.topEvents);
    }

    /**
     * @param share the kind's or span's shares in the window; null when no explanation has it
     * @param topEvents explanations of the window with a top segment
     */
    private double reliance(WindowAggregate.Share share, long topEvents) {
        return switch (this) {
            case SHARE_MEAN -> share == null ? Double.NaN : share.mean();
            case SHARE_P10 -> share == null || share.events == 0 ? Double.NaN : share.shares.quantile(0.1);
            case SHARE_P90 -> share == null || share.events == 0 ? Double.NaN : share.shares.quantile(0.9);
            case TOP_SEGMENT_FRACTION -> topEvents == 0 ? Double.NaN : share == null ? 0 : (double) share.top / topEvents;
            default -> throw new IllegalStateException(metricName + " is not per segment kind");
        };
    }

    List<String> examples(WindowAggregate aggregate) {
        List<String> ids = switch (examples) {
            case FIRST -> aggregate.firstEvents;
            case DEAD_LETTERS -> aggregate.deadLetterEvents;
            case SKIPPED -> aggregate.skippedEvents;
            case LATE -> aggregate.lateEventIds;
            case SLOWEST -> aggregate.slowest.stream().map(WindowAggregate.Example::eventId).toList();
            case MOST_LAGGED -> aggregate.mostLagged.stream().map(WindowAggregate.Example::eventId).toList();
            case LARGEST_DELTAS -> aggregate.largestDeltas.stream().map(WindowAggregate.Example::eventId).toList();
        };
        return List.copyOf(ids.subList(0, Math.min(WindowAggregate.EXAMPLES, ids.size())));
    }

    static Optional<StatsMetric> byName(String name) {
        return Arrays.stream(values()).filter(m -> !m.perKind() && m.metricName.equals(name)).findFirst();
    }

    /** The per-kind metric whose name has {@code prefix} before {@link #KIND} and {@code suffix} after it. */
    static Optional<StatsMetric> perKind(String prefix, String suffix) {
        return Arrays.stream(values()).filter(m -> m.perKind() && m.metricName.equals(prefix + KIND + suffix)).findFirst();
    }

    static String names() {
        return Arrays.stream(values()).map(StatsMetric::metricName).collect(Collectors.joining(", "));
    }
}
