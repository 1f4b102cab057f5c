package io.explainstream.stream.replay;

import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.config.TimestampWindow;
import io.explainstream.stream.config.TopicRetention;
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
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether a replay's output outlives its writing. A replay's explanations and dead letters keep
 * the timestamps of last month's events, so a topic kept for a week ({@link TopicRetention}) can
 * lose them minutes after they are written, before anyone reads or diffs them: such a replay is
 * refused before it starts. A topic that refuses old timestamps ({@link TimestampWindow}) gets the
 * oldest records with the time they are written, and keeps them for its retention from then.
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
     * @param endMs the end of the replay's range (excluded)
     * @throws ConfigException naming the topic, its retention, the event's time and what to do
     */
    public static void check(Map<String, Object> clientConfig, List<Target> targets, long firstRecordMs, long endMs, Instant now) {
        try (Admin admin = KafkaClients.admin(clientConfig)) {
            for (Target target : targets) {
                describe(admin, target.name()).ifPresent(config -> check(target, config, firstRecordMs, endMs, now));
            }
        }
    }

    private static void check(Target target, Config config, long firstRecordMs, long endMs, Instant now) {
        TopicRetention retention = TopicRetention.of(config);
        if (retention.keeps()) {
            return;
        }
        // A topic that refuses the oldest event's time gets it, and the others as old, with the write time.
        TimestampWindow accepted = TimestampWindow.of(config);
        long earliest = accepted.earliestWritten(firstRecordMs, endMs, now.toEpochMilli());
        Instant deletedFrom = Instant.ofEpochMilli(earliest).plusMillis(retention.keepsMs());
        if (deletedFrom.isBefore(now.plus(MARGIN))) {
            boolean kept = earliest == firstRecordMs;
            String when = deletedFrom.isAfter(now) ? "by " + deletedFrom : kept ? "as soon as it is written" : "as soon as they are written";
            String what = kept
                    ? "the replay's first event, of " + Instant.ofEpochMilli(firstRecordMs) + ", would be deleted " + when
                            + " (a replay's records keep their events' timestamps)"
                    : "the replay's records of events older than " + accepted.beforeDescribed() + " are written with the time they are written, and would be deleted "
                            + when;
            throw new ConfigException(target.described() + " keeps records for " + retention.described() + " after their timestamp; " + what
                    + ". Raise the topic's retention.ms (-1 keeps records forever), or " + target.remedy());
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
}
