package io.explainstream.stream.config;

import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The service's own Kafka clients (topic checks, replay planning, the tail and demo readers), made
 * from the same settings as Kafka Streams: bootstrap servers and security pass through, and each
 * client gets only the keys it knows, so that Streams' and the registry's keys do not make it warn.
 */
public final class KafkaClients {

    private KafkaClients() {}

    /** An admin client. */
    public static Admin admin(Map<?, ?> settings) {
        return Admin.create(known(AdminClientConfig.configNames(), settings));
    }

    /**
     * A consumer that reads committed records only, in a consumer group of its own (the prefix and
     * a random suffix) that never commits offsets.
     *
     * @param offsetReset where a new group starts ("earliest" or "latest"), or null for Kafka's default
     */
    public static KafkaConsumer<byte[], byte[]> readCommittedConsumer(Map<?, ?> settings, String groupPrefix, String offsetReset) {
        Properties props = new Properties();
        props.putAll(known(ConsumerConfig.configNames(), settings));
        props.put(ConsumerConfig.GROUP_ID_CONFIG, groupPrefix + "-" + UUID.randomUUID());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        // Asking for a missing topic's partitions must not make it with the broker's defaults
        // (a replay's check of a deleted input topic made it again, and the next run found it empty).
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        if (offsetReset != null) {
            props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, offsetReset);
        }
        return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * An idempotent producer of byte keys and values (acks=all), failing within {@code timeoutMs}
     * when the cluster cannot be reached instead of retrying for Kafka's two minutes.
     */
    public static KafkaProducer<byte[], byte[]> producer(Map<?, ?> settings, int timeoutMs) {
        Properties props = new Properties();
        props.putAll(known(ProducerConfig.configNames(), settings));
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Integer.toString(timeoutMs));
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(Math.min(timeoutMs, 30_000)));
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs + 1_000));
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static Map<String, Object> known(Set<String> names, Map<?, ?> settings) {
        Map<String, Object> config = new HashMap<>();
        settings.forEach((key, value) -> {
            if (names.contains(key.toString())) {
                config.put(key.toString(), value);
            }
        });
        return config;
    }
}
