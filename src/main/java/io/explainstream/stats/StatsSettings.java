package io.explainstream.stats;

import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.DurationText;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the statistics sub-topology reads, how it windows and groups, and where it writes.
 *
 * @param explanationsTopic the explanations it aggregates (output.topic)
 * @param deadLetterTopic the dead letters it counts (dlq.topic)
 * @param statsTopic where window records go (stats.topic)
 * @param alertsTopic where fired alerts go (alerts.topic)
 * @param observationsTopic the internal topic that regroups explanations by group key; derived from
 *     the application id so that two services on one cluster never share it
 * @param skipNoticesTopic the internal topic of the events skipped to stay within the budget
 *     ({@link io.explainstream.stream.output.SkipNotice}), which windows count beside explanations
 * @param window tumbling window size, in event time
 * @param grace how long after its end a window still takes events
 * @param emitInterval the least wall-clock time between two updates of one window
 * @param retention how long closed windows and alerts stay queryable in the stores
 * @param deltaWarn the relative delta over which an explanation counts in faithfulness.over_warn
 * @param maxGroups the most groups one window holds in one task; the events of further groups
 *     count in {@link GroupBy#overflow()}
 */
public record StatsSettings(String explanationsTopic, String deadLetterTopic, String statsTopic, String alertsTopic, String observationsTopic,
        String skipNoticesTopic, Duration window, Duration grace, Duration emitInterval, Duration retention, GroupBy groupBy, double deltaWarn, int maxGroups,
        List<AlertRule> rules) {

    public StatsSettings {
        rules = List.copyOf(rules);
        if (maxGroups < 1) {
            throw new ConfigException(Setting.STATS_MAX_GROUPS.key() + " = " + maxGroups + " must be at least 1");
        }
        requireRetention(retention, "", window, grace);
    }

    /**
     * Closed windows must stay queryable for at least a window and its grace. The sum is said as its
     * terms (1d + 30s, not 86430s), and {@code note} says where the retention came from when the
     * reader did not set it.
     */
    private static void requireRetention(Duration retention, String note, Duration window, Duration grace) {
        if (retention.compareTo(window.plus(grace)) < 0) {
            throw new ConfigException(Setting.STATS_RETENTION.key() + " = " + DurationText.format(retention) + note + " must be at least "
                    + Setting.STATS_WINDOW.key() + " + " + Setting.STATS_GRACE.key() + " = " + DurationText.format(window)
                    + (grace.isZero() ? "" : " + " + DurationText.format(grace)));
        }
    }

    /** The span names alert rules read ({@code share.span:<name>.mean}): a window aggregates them whatever the number of spans. */
    public Set<String> watchedSpans() {
        return rules.stream().map(r -> r.metric().span()).filter(Objects::nonNull).collect(Collectors.toUnmodifiableSet());
    }

    /** The settings of a service configuration; every bad value fails here, naming its key. */
    public static StatsSettings from(ServiceConfig config) {
        Duration window = DurationText.parse(Setting.STATS_WINDOW.key(), config.get(Setting.STATS_WINDOW), false);
        Duration grace = DurationText.parse(Setting.STATS_GRACE.key(), config.get(Setting.STATS_GRACE), true);
        Duration emit = DurationText.parse(Setting.STATS_EMIT_INTERVAL.key(), config.get(Setting.STATS_EMIT_INTERVAL), false);
        Duration retention = DurationText.parse(Setting.STATS_RETENTION.key(), config.get(Setting.STATS_RETENTION), false);
        requireRetention(retention, config.isSet(Setting.STATS_RETENTION) ? "" : " (its default)", window, grace);
        GroupBy groupBy = GroupBy.parse(Setting.STATS_GROUP_BY.key(), config.get(Setting.STATS_GROUP_BY));
        double deltaWarn = config.number(Setting.STATS_DELTA_WARN);
        if (!(deltaWarn >= 0)) {
            throw new ConfigException(Setting.STATS_DELTA_WARN.key() + " = " + config.get(Setting.STATS_DELTA_WARN) + " must be a number >= 0");
        }
        int maxGroups = config.integer(Setting.STATS_MAX_GROUPS, 1);
        return new StatsSettings(config.get(Setting.OUTPUT_TOPIC), config.get(Setting.DLQ_TOPIC), config.get(Setting.STATS_TOPIC),
                config.get(Setting.ALERTS_TOPIC), config.statsObservationsTopic(), config.skipNoticesTopic(), window, grace, emit, retention, groupBy, deltaWarn,
                maxGroups, AlertRule.fromConfig(config.prefixed(AlertRule.PREFIX), groupBy));
    }
}
