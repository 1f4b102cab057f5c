package io.explainstream.stream.config;

import java.time.Duration;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.TopicConfig;

/**
 * How long a topic keeps a record after the record's timestamp. Explanations and dead letters keep
 * the timestamp of the event they come from (dashboards and statistics read event time), and a
 * topic whose cleanup policy deletes removes a log segment once its newest timestamp is older than
 * its {@code retention.ms}: an event older than that when it is explained is written, committed,
 * and then deleted by the broker's next retention check unless newer records share its segment.
 * A topic that stamps records with the time they are appended ({@code LogAppendTime}) counts from
 * the write, and one that only compacts deletes by key: neither deletes by the event's time.
 *
 * @param keepsMs how long after its timestamp a record may be deleted; negative: never by its timestamp
 */
public record TopicRetention(long keepsMs) {

    /** A topic that does not delete records by their timestamp. */
    public static final TopicRetention KEEPS = new TopicRetention(-1);

    /** The retention a topic's configuration (as {@code describeConfigs} gives it, defaults included) means for records by their timestamp. */
    public static TopicRetention of(Config config) {
        String policy = value(config, TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE);
        String stamp = value(config, TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, "CreateTime");
        long retentionMs = Long.parseLong(value(config, TopicConfig.RETENTION_MS_CONFIG, "-1"));
        if (retentionMs < 0 || !policy.contains(TopicConfig.CLEANUP_POLICY_DELETE) || stamp.equalsIgnoreCase("LogAppendTime")) {
            return KEEPS;
        }
        return new TopicRetention(retentionMs);
    }

    public boolean keeps() {
        return keepsMs < 0;
    }

    /** Whether a record of {@code timestampMs} written at {@code nowMs} is already past this retention: the broker may delete it at its next check. */
    public boolean passedBy(long timestampMs, long nowMs) {
        return !keeps() && nowMs - timestampMs > keepsMs;
    }

    /** Whether this topic deletes records by their timestamp sooner than {@code other}. */
    public boolean shorterThan(TopicRetention other) {
        return !keeps() && (other.keeps() || keepsMs < other.keepsMs);
    }

    /** The value of {@code retention.ms} that gives another topic this retention ({@code -1}: forever). */
    public String retentionMsValue() {
        return Long.toString(keeps() ? -1 : keepsMs);
    }

    /** {@code retention.ms = 604800000 (7d)}, or {@code no deletion by record time}. */
    public String described() {
        return keeps() ? "no deletion by record time" : "retention.ms = " + keepsMs + " (" + DurationText.format(Duration.ofMillis(keepsMs)) + ")";
    }

    private static String value(Config config, String key, String otherwise) {
        ConfigEntry entry = config.get(key);
        return entry == null || entry.value() == null ? otherwise : entry.value();
    }
}
