package io.explainstream.stats;

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
 * its name holds ({@code share.system.mean}).
 *
 * @param kind the lower-case segment kind; null for a metric that is not per kind
 */
public record WindowMetric(StatsMetric metric, String kind) {

    private static final Pattern PER_KIND = Pattern.compile("(share\\.|top_segment\\.)([^.]+)(\\..+)");

    /** The kinds a rule may name: the symbols of SegmentKind, lower case. */
    static final List<String> KINDS = Arrays.stream(SegmentKind.values()).map(k -> k.name().toLowerCase(Locale.ROOT)).toList();

    public WindowMetric {
        if (metric.perKind() != (kind != null)) {
            throw new IllegalArgumentException(metric.metricName() + (kind == null ? " needs a segment kind" : " takes no segment kind"));
        }
    }

    /** The name as a rule writes it. */
    public String name() {
        return kind == null ? metric.metricName() : metric.metricName().replace(StatsMetric.KIND, kind);
    }

    double value(WindowAggregate aggregate) {
        return kind == null ? metric.value(aggregate) : metric.value(aggregate, kind);
    }

    List<String> examples(WindowAggregate aggregate) {
        return metric.examples(aggregate);
    }

    /**
     * The metric a rule names, or empty when there is none by that name.
     *
     * @throws IllegalArgumentException when the name is a per-kind metric with a kind that is not one
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
        if (!KINDS.contains(kind)) {
            throw new IllegalArgumentException("'" + kind + "' is not a segment kind (kinds: " + String.join(", ", KINDS) + ")");
        }
        return Optional.of(new WindowMetric(perKind.get(), kind));
    }

    static String names() {
        return Arrays.stream(StatsMetric.values()).map(StatsMetric::metricName).collect(Collectors.joining(", "))
                + " (<kind>: " + String.join(", ", KINDS) + ")";
    }
}
