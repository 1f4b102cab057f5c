package io.explainstream.stats;

import io.explainstream.attribution.summary.SpanRequest;
import io.explainstream.schema.SegmentKind;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A metric an alert rule tests: a {@link StatsMetric}, and for the per-kind ones the segment kind
 * its name holds ({@code share.system.mean}) or, for one named span, {@code span} and the span's
 * name as {@code span_reliance} keys it ({@code share.span:doc:kb-4411.mean}).
 *
 * @param kind the lower-case segment kind; null for a metric that is not per kind
 * @param span the span's name when the metric reads one named span (kind {@code span}); else null
 */
public record WindowMetric(StatsMetric metric, String kind, String span) {

    /**
     * Prefix, the kind or {@code span:<name>}, and the last dotted part: greedy in the middle, so
     * a span name may hold dots ({@code share.span:tool.search.p90}).
     */
    private static final Pattern PER_KIND = Pattern.compile("(share\\.|top_segment\\.)(.+)(\\.[^.]+)");
    static final String SPAN_PREFIX = "span:";

    /** The kinds a rule may name: the symbols of SegmentKind, lower case. */
    static final List<String> KINDS = Arrays.stream(SegmentKind.values()).map(k -> k.name().toLowerCase(Locale.ROOT)).toList();
    private static final String SPAN_KIND = SegmentKind.SPAN.name().toLowerCase(Locale.ROOT);

    public WindowMetric {
        if (metric.perKind() != (kind != null)) {
            throw new IllegalArgumentException(metric.metricName() + (kind == null ? " needs a segment kind" : " takes no segment kind"));
        }
        if (span != null && !SPAN_KIND.equals(kind)) {
            throw new IllegalArgumentException("a named span needs kind " + SPAN_KIND + ", not " + kind);
        }
    }

    /** A metric of all segments of one kind, or of none. */
    public WindowMetric(StatsMetric metric, String kind) {
        this(metric, kind, null);
    }

    /** The name as a rule writes it. */
    public String name() {
        return kind == null ? metric.metricName() : metric.metricName().replace(StatsMetric.KIND, span == null ? kind : SPAN_PREFIX + span);
    }

    double value(WindowAggregate aggregate) {
        return kind == null ? metric.value(aggregate) : span == null ? metric.value(aggregate, kind) : metric.valueOfSpan(aggregate, span);
    }

    /**
     * The events an alert on this metric names. For a segment kind or span, events that have it: the
     * lowest shares first when the rule fires below its threshold, the highest first above it, and
     * for a top-segment fraction above its threshold the events whose top segment it is (the
     * window's first events were plain prompts for a rule on the system prompt's share, a hostile
     * test). Where no event has the kind, the window's first events.
     */
    List<String> examples(WindowAggregate aggregate, AlertRule.Operator operator) {
        WindowAggregate.Share share = kind == null ? null : span == null ? aggregate.kinds.get(kind) : aggregate.spans.get(span);
        if (share == null || share.events == 0) {
            return metric.examples(aggregate);
        }
        boolean below = operator == AlertRule.Operator.LT || operator == AlertRule.Operator.LE;
        if (metric == StatsMetric.TOP_SEGMENT_FRACTION && (operator == AlertRule.Operator.GT || operator == AlertRule.Operator.GE)) {
            return List.copyOf(share.topEventIds);
        }
        List<WindowAggregate.Example> ranked = below || metric == StatsMetric.TOP_SEGMENT_FRACTION ? share.lowest : share.highest;
        return ranked.stream().map(WindowAggregate.Example::eventId).toList();
    }

    /**
     * The metric a rule names, or empty when there is none by that name.
     *
     * @throws IllegalArgumentException when the name is a per-kind metric with a kind that is not
     *     one, or a named span that cannot be one
     */
    static Optional<WindowMetric> byName(String name) {
        Optional<StatsMetric> plain = StatsMetric.byName(name);
        if (plain.isPresent()) {
            return Optional.of(new WindowMetric(plain.get(), null));
        }
        Matcher matcher = PER_KIND.matcher(name);
        if (!matcher.matches()) {
            return Optional.empty();
        }
        Optional<StatsMetric> perKind = StatsMetric.perKind(matcher.group(1), matcher.group(3));
        if (perKind.isEmpty()) {
            return Optional.empty();
        }
        String kind = matcher.group(2);
        if (kind.startsWith(SPAN_PREFIX)) {
            return Optional.of(new WindowMetric(perKind.get(), SPAN_KIND, spanName(kind.substring(SPAN_PREFIX.length()), perKind.get())));
        }
        if (!KINDS.contains(kind)) {
            throw new IllegalArgumentException("'" + kind + "' is not a segment kind (kinds: " + String.join(", ", KINDS)
                    + "; one named span: " + SPAN_PREFIX + "<name>)");
        }
        return Optional.of(new WindowMetric(perKind.get(), kind));
    }

    /** A span name as the input gives it: what PromptLayout accepts (not blank, at most 128 characters). */
    private static String spanName(String name, StatsMetric metric) {
        String example = metric.metricName().replace(StatsMetric.KIND, SPAN_PREFIX + "doc:kb-4411");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("'" + SPAN_PREFIX + "' names no span; write the span's name after it, for example '" + example + "'");
        }
        int nameChars = name.codePointCount(0, name.length()); // code points, as PromptLayout counts them
        if (nameChars > SpanRequest.MAX_NAME_CHARS) {
            throw new IllegalArgumentException("span name '" + name + "' is " + nameChars + " characters; span names have at most "
                    + SpanRequest.MAX_NAME_CHARS);
        }
        return name;
    }

    static String names() {
        return Arrays.stream(StatsMetric.values()).map(StatsMetric::metricName).collect(Collectors.joining(", "))
                + " (<kind>: " + String.join(", ", KINDS) + ", or " + SPAN_PREFIX + "<name> for one named span)";
    }
}
