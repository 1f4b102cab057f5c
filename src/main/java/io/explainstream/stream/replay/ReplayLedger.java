package io.explainstream.stream.replay;

import io.explainstream.stream.config.KafkaClients;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replays topic: one compacted record per replay id ({@link ReplayRecord}), in a topic named
 * after the service's application.id (so the service's prefixed ACLs cover it). Kafka deletes an
 * idle consumer group's offsets after offsets.retention.minutes and a deleted topic's at once;
 * a compacted topic keeps each key's last record for good, so a replay's terms, stop offsets and
 * progress outlive both.
 */
public final class ReplayLedger implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ReplayLedger.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    /** Records are small and rewritten as a replay progresses: small segments, so that compaction keeps few copies. */
    private static final Map<String, String> TOPIC_CONFIG = Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
            TopicConfig.SEGMENT_BYTES_CONFIG, Integer.toString(16 << 20), TopicConfig.SEGMENT_MS_CONFIG, Long.toString(Duration.ofHours(1).toMillis()));

    private final Map<String, Object> clientConfig;
    private final String topic;
    private final short replication;
    private KafkaProducer<byte[], byte[]> producer;
    /** Null until first used. */
    private Admin admin;
    /** The topic's id when this ledger last saved: another id means it was deleted and made again since. */
    private Uuid topicId;

    /**
     * @param topic {@link #topicOf} the service's application.id
     * @param replication the replication factor it is created with; -1: the broker's default
     */
    public ReplayLedger(Map<String, Object> clientConfig, String topic, short replication) {
        this.clientConfig = Map.copyOf(clientConfig);
        this.topic = topic;
        this.replication = replication;
    }

    /** The replays topic of a service with this application.id. */
    public static String topicOf(String applicationId) {
        return applicationId + "-replays";
    }

    public String topic() {
        return topic;
    }

    /** The replay id's last record; empty when it has none (or the topic does not exist: nothing is created to read). */
    public Optional<ReplayRecord> read(String replayId) {
        if (!exists()) {
            return Optional.empty();
        }
        TopicPartition partition = new TopicPartition(topic, 0);
        Optional<String> last = Optional.empty();
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.readCommittedConsumer(clientConfig, "explainstream-replays-read", null)) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition), TIMEOUT).get(partition);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (consumer.position(partition, TIMEOUT) < end) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("timed out reading the replays topic " + topic);
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (record.key() != null && replayId.equals(new String(record.key(), StandardCharsets.UTF_8))) {
                        last = Optional.ofNullable(record.value()).map(value -> new String(value, StandardCharsets.UTF_8));
                    }
                }
            }
        }
        return last.map(ReplayRecord::decode);
    }

    /**
     * Saves the replay id's record, creating the topic on first use, and again where it was deleted
     * since: the producer would otherwise have the broker make it with its defaults (deleting by
     * time, so that a replay stopped longer than the retention could no longer resume). Returns
     * once the brokers have it.
     */
    public void save(String replayId, ReplayRecord record) {
        if (producer != null) {
            checkStillThere(replayId);
        }
        try {
            producer().send(new ProducerRecord<>(topic, 0, replayId.getBytes(StandardCharsets.UTF_8), record.encode().getBytes(StandardCharsets.UTF_8)))
                    .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot save replay " + replayId + "'s record on topic " + topic + ": " + e.getCause().getMessage(), e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("cannot save replay " + replayId + "'s record on topic " + topic + ": timed out", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * The topic deleted since the last save is made again as the ledger makes it; one made again by
     * someone else (by hand, or by a producer's auto-creation) is checked for its cleanup.policy.
     * Either way the records of other replays went with the deleted topic, which is said.
     */
    private void checkStillThere(String replayId) {
        Optional<Uuid> now = topicId();
        if (now.isPresent() && now.get().equals(topicId)) {
            return;
        }
        if (now.isEmpty()) {
            create();
        } else {
            warnUnlessCompacted();
        }
        topicId = topicId().orElse(null);
        LOG.warn("the replays topic {} was deleted while replay {} ran, and {}: its record is saved again, but the records of other replays went"
                + " with the topic, and an interrupted one among them can no longer resume (its terms cannot be checked): run it again under"
                + " another --replay-id", topic, replayId,
                now.isEmpty() ? "is made again (compacted)" : "was made again by someone else");
    }

    /** The topic's id; empty when it does not exist. */
    private Optional<Uuid> topicId() {
        try {
            return Optional.of(admin().describeTopics(List.of(topic)).allTopicNames().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(topic).topicId());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return Optional.empty();
            }
            throw new IllegalStateException("cannot describe the replays topic " + topic + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("cannot describe the replays topic " + topic + ": timed out", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private KafkaProducer<byte[], byte[]> producer() {
        if (producer == null) {
            create();
            topicId = topicId().orElse(null);
            Map<String, Object> settings = new java.util.HashMap<>(clientConfig);
            // A record holds three offsets per partition: a topic with thousands of partitions makes
            // one larger than the producer's default request, and compresses well.
            settings.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(16 << 20));
            settings.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "gzip");
            producer = KafkaClients.producer(settings, (int) TIMEOUT.toMillis());
        }
        return producer;
    }

    /** One admin client for the ledger's life: a replay asks whether its topic exists at every save. */
    private Admin admin() {
        if (admin == null) {
            admin = KafkaClients.admin(clientConfig);
        }
        return admin;
    }

    private boolean exists() {
        try {
            return admin().listTopics().names().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).contains(topic);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot list the topics to read the replays topic " + topic + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private void create() {
        try {
            NewTopic created = new NewTopic(topic, Optional.of(1), replication < 0 ? Optional.empty() : Optional.of(replication)).configs(TOPIC_CONFIG);
            admin().createTopics(Set.of(created)).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("cannot create the replays topic " + topic + ": " + e.getCause().getMessage(), e.getCause());
            }
            warnUnlessCompacted();
        } catch (TimeoutException e) {
            throw new IllegalStateException("cannot create the replays topic " + topic + ": timed out", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * An existing replays topic that deletes by time (made by hand, or re-created by a producer's
     * auto-creation after it was deleted) loses replay records after its retention; said once here.
     */
    private void warnUnlessCompacted() {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        try {
            String policy = admin().describeConfigs(List.of(resource)).values().get(resource).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                    .get(TopicConfig.CLEANUP_POLICY_CONFIG).value();
            policyWarning(topic, policy).ifPresent(LOG::warn);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.debug("cannot read the configuration of the replays topic {}: {}", topic, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** What to say of a replays topic with this cleanup.policy: nothing when it only compacts. */
    static Optional<String> policyWarning(String topic, String policy) {
        List<String> policies = List.of(policy.replace(" ", "").split(","));
        if (policies.equals(List.of(TopicConfig.CLEANUP_POLICY_COMPACT))) {
            return Optional.empty();
        }
        return Optional.of("the replays topic " + topic + " has cleanup.policy=" + policy + ": Kafka deletes its records after its retention.ms,"
                + " and a replay stopped longer can no longer resume; set cleanup.policy=compact");
    }

    @Override
    public void close() {
        if (producer != null) {
            producer.close(TIMEOUT);
        }
        if (admin != null) {
            admin.close(TIMEOUT);
        }
    }
}
