package io.explainstream.stream.replay;

import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.DurationText;
import io.explainstream.stream.config.KafkaClients;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether a replay's output outlives its writing. Explanations and dead letters keep the timestamp
 * of the event they come from, and a topic whose cleanup policy deletes removes a log segment once
 * its newest timestamp is older than the topic's {@code retention.ms}: records of last month's
 * traffic replayed into a topic kept for a week can be deleted by the broker minutes after they are
 * written (which ones depends on how the segments roll), before anyone reads or diffs them. A topic that stamps records with the time they are appended
 * ({@code LogAppendTime}) counts retention from the write, and one that only compacts deletes by
 * key, not by time: neither is refused.
 */
public final class OutputRetention {

    private static final Logger LOG = LoggerFactory.getLogger(OutputRetention.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    /** A record due for deletion within this long of the replay's start is as good as lost: a replay and its diff take longer. */
    static final Duration MARGIN = Duration.ofHours(1);

    /**
     * A topic the replay writes.
     *
     * @param name the topic
     * @param described how a message names it, with the option that chooses it
     * @param remedy what to do instead, besides raising the topic's retention
     */
    public record Target(String name, String described, String remedy) {}

    private OutputRetention() {}

    /**
     * Refuses a replay whose oldest event would be deleted from one of {@code targets} within
     * {@link #MARGIN} of now. Topics that do not exist yet are not checked: the replay creates them
     * keeping their records. A client that may not describe topic configurations cannot check; it
     * logs that and goes on.
     *
     * @param firstRecordMs the timestamp of the replay's oldest event
     * @throws ConfigException naming the topic, its retention, the event's time and what to do
     */
    public static void check(Map<String, Object> clientConfig, List<Target> targets, long firstRecordMs, Instant now) {
        try (Admin admin = KafkaClients.admin(clientConfig)) {
            for (Target target : targets) {
                describe(admin, target.name()).ifPresent(config -> check(target, config, firstRecordMs, now));
            }
        }
    }

    private static void check(Target target, Config config, long firstRecordMs, Instant now) {
        String policy = value(config, TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE);
        String stamp = value(config, TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, "CreateTime");
        long retentionMs = Long.parseLong(value(config, TopicConfig.RETENTION_MS_CONFIG, "-1"));
        if (retentionMs < 0 || !policy.contains(TopicConfig.CLEANUP_POLICY_DELETE) || stamp.equalsIgnoreCase("LogAppendTime")) {
            return;
        }
        Instant deletedFrom = Instant.ofEpochMilli(firstRecordMs).plusMillis(retentionMs);
        if (deletedFrom.isBefore(now.plus(MARGIN))) {
            throw new ConfigException(target.described() + " keeps records for retention.ms = " + retentionMs + " ("
                    + DurationText.format(Duration.ofMillis(retentionMs)) + ") after their timestamp; the replay's first event, of "
                    + Instant.ofEpochMilli(firstRecordMs) + ", would be deleted " + (deletedFrom.isAfter(now) ? "by " + deletedFrom : "as soon as it is written")
                    + " (a replay's records keep their events' timestamps). Raise the topic's retention.ms (-1 keeps records forever), or "
                    + target.remedy());
        }
    }

    private static Optional<Config> describe(Admin admin, String topic) {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        try {
            return Optional.of(admin.describeConfigs(List.of(resource)).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(resource));
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                LOG.warn("cannot check the retention of topic {}: {}", topic, e.getCause().getMessage());
            }
            return Optional.empty();
        } catch (TimeoutException e) {
            LOG.warn("cannot check the retention of topic {}: no answer within {} s", topic, TIMEOUT.toSeconds());
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static String value(Config config, String key, String otherwise) {
        ConfigEntry entry = config.get(key);
        return entry == null || entry.value() == null ? otherwise : entry.value();
    }
}
