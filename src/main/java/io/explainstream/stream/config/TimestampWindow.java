package io.explainstream.stream.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.TopicConfig;

/**
 * The record timestamps a topic accepts. A broker refuses a record whose timestamp is more than
 * {@code message.timestamp.before.max.ms} behind its clock or {@code message.timestamp.after.max.ms}
 * ahead of it (KIP-937; the first is unlimited by default, the second one hour since Kafka 4.0),
 * and a transaction holding such a record fails on every retry. Explanations and dead letters keep
 * their events' timestamps, so a replay of last month, or a backlog older than the bound, would
 * stop its partition for good. A topic that stamps records with the time they are appended
 * ({@code LogAppendTime}) accepts any.
 *
 * @param beforeMaxMs how far behind the broker's clock a timestamp may be; {@link Long#MAX_VALUE}: any
 * @param afterMaxMs how far ahead; {@link Long#MAX_VALUE}: any
 * @param beforeSetting the topic setting that bounds it, named in messages: {@code message.timestamp.before.max.ms},
 *     or on brokers before Kafka 3.6 {@code message.timestamp.difference.max.ms}
 * @param afterSetting the same for the bound ahead
 */
public record TimestampWindow(long beforeMaxMs, long afterMaxMs, String beforeSetting, String afterSetting) {

    /** Bounds set by the settings of KIP-937 (Kafka 3.6 and later). */
    public TimestampWindow(long beforeMaxMs, long afterMaxMs) {
        this(beforeMaxMs, afterMaxMs, TopicConfig.MESSAGE_TIMESTAMP_BEFORE_MAX_MS_CONFIG, TopicConfig.MESSAGE_TIMESTAMP_AFTER_MAX_MS_CONFIG);
    }

    /** A topic that accepts every timestamp. */
    public static final TimestampWindow ANY = new TimestampWindow(Long.MAX_VALUE, Long.MAX_VALUE);

    /** The most a record is kept inside a bound by, for the broker's clock and the time until the write reaches it. */
    static final long MAX_MARGIN_MS = Duration.ofMinutes(5).toMillis();

    /** Brokers before Kafka 3.6 bound both sides with this one setting (removed in 4.0). */
    private static final String DIFFERENCE_MAX_MS = "message.timestamp.difference.max.ms";

    /** The window a topic's configuration (as {@code describeConfigs} gives it, defaults included) means. */
    public static TimestampWindow of(Config config) {
        ConfigEntry type = config.get(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG);
        if (type != null && "LogAppendTime".equalsIgnoreCase(type.value())) {
            return ANY;
        }
        long difference = bound(config, DIFFERENCE_MAX_MS);
        long before = bound(config, TopicConfig.MESSAGE_TIMESTAMP_BEFORE_MAX_MS_CONFIG);
        long after = bound(config, TopicConfig.MESSAGE_TIMESTAMP_AFTER_MAX_MS_CONFIG);
        return new TimestampWindow(Math.min(difference, before), Math.min(difference, after),
                difference < before ? DIFFERENCE_MAX_MS : TopicConfig.MESSAGE_TIMESTAMP_BEFORE_MAX_MS_CONFIG,
                difference < after ? DIFFERENCE_MAX_MS : TopicConfig.MESSAGE_TIMESTAMP_AFTER_MAX_MS_CONFIG);
    }

    /**
     * How far ahead of the broker's clock the records of a topic can be stamped: its bound ahead,
     * {@link Long#MAX_VALUE} for none, 0 for a topic that stamps records with the time they are
     * appended (which {@link #of} reads as accepting any).
     */
    public static long aheadOfClock(Config config) {
        ConfigEntry type = config.get(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG);
        if (type != null && "LogAppendTime".equalsIgnoreCase(type.value())) {
            return 0;
        }
        return of(config).afterMaxMs();
    }

    /**
     * The window of the topics Kafka Streams creates (changelogs): the broker's defaults (its
     * {@code log.message.timestamp.*} keys), under the {@code topic.}-prefixed settings of the
     * streams configuration, which Kafka Streams gives its internal topics.
     */
    public static TimestampWindow ofInternalTopics(Map<String, String> brokerConfig, Map<String, String> streamsConfig) {
        Map<String, String> merged = new HashMap<>();
        brokerConfig.forEach((key, value) -> {
            if (key.startsWith("log.message.timestamp.") && value != null) {
                merged.put(key.substring("log.".length()), value);
            }
        });
        streamsConfig.forEach((key, value) -> {
            if (key.startsWith("topic.message.timestamp.") && value != null) {
                merged.put(key.substring("topic.".length()), value);
            }
        });
        return of(new Config(merged.entrySet().stream().map(e -> new ConfigEntry(e.getKey(), e.getValue())).toList()));
    }

    public boolean acceptsAny() {
        return beforeMaxMs == Long.MAX_VALUE && afterMaxMs == Long.MAX_VALUE;
    }

    /**
     * Whether the broker may refuse a record of {@code timestampMs} written at {@code nowMs}: it is
     * past a bound, or within a margin of it (half the bound, at most five minutes).
     */
    public boolean refuses(long timestampMs, long nowMs) {
        return beyond(nowMs - timestampMs, beforeMaxMs) || beyond(timestampMs - nowMs, afterMaxMs);
    }

    /** {@code timestampMs}, or {@code nowMs} (the write time) where the broker may refuse it ({@link #refuses}). */
    public long acceptable(long timestampMs, long nowMs) {
        return refuses(timestampMs, nowMs) ? nowMs : timestampMs;
    }

    /**
     * The earliest timestamp records stamped in [{@code oldestMs}, {@code endMs}) have when written
     * from {@code nowMs} on: the oldest's, unless it is moved to the write time ({@link #acceptable});
     * then the oldest the bound lets through, or, where every one is moved, now.
     */
    public long earliestWritten(long oldestMs, long endMs, long nowMs) {
        if (!refuses(oldestMs, nowMs)) {
            return oldestMs;
        }
        long oldestKept = beforeMaxMs == Long.MAX_VALUE ? oldestMs : nowMs - (beforeMaxMs - Math.min(beforeMaxMs / 2, MAX_MARGIN_MS));
        return endMs <= oldestKept ? nowMs : Math.min(nowMs, Math.max(oldestMs, oldestKept));
    }

    /** The bound on the past, as {@link #described} names it. */
    public String beforeDescribed() {
        return beforeMaxMs == Long.MAX_VALUE ? "no bound on the past" : setTo(beforeSetting, beforeMaxMs);
    }

    private static boolean beyond(long distanceMs, long boundMs) {
        return boundMs != Long.MAX_VALUE && distanceMs > boundMs - Math.min(boundMs / 2, MAX_MARGIN_MS);
    }

    /**
     * {@code message.timestamp.before.max.ms = 86400000 (1d)}: the bounds that are set, each by the
     * setting that sets it (one older setting bounding both sides is named once), or {@code any timestamp}.
     */
    public String described() {
        if (acceptsAny()) {
            return "any timestamp";
        }
        if (beforeMaxMs == afterMaxMs && beforeSetting.equals(afterSetting)) {
            return setTo(beforeSetting, beforeMaxMs);
        }
        List<String> bounds = new ArrayList<>();
        if (beforeMaxMs != Long.MAX_VALUE) {
            bounds.add(setTo(beforeSetting, beforeMaxMs));
        }
        if (afterMaxMs != Long.MAX_VALUE) {
            bounds.add(setTo(afterSetting, afterMaxMs));
        }
        return String.join(", ", bounds);
    }

    private static String setTo(String setting, long ms) {
        return setting + " = " + ms + " (" + DurationText.format(Duration.ofMillis(ms)) + ")";
    }

    /** A bound's value; unset, unparsable or negative: no bound. */
    private static long bound(Config config, String key) {
        ConfigEntry entry = config.get(key);
        if (entry == null || entry.value() == null) {
            return Long.MAX_VALUE;
        }
        try {
            long value = Long.parseLong(entry.value().trim());
            return value < 0 ? Long.MAX_VALUE : value;
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }
}
