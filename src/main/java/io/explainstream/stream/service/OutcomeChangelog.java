package io.explainstream.stream.service;

import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.topology.Outcomes;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replay's outcome counts as its last commit left them, read from the outcome store's changelog
 * once its stream is closed. Read from the running store just before the close, an interrupted
 * replay's last line missed the batch that the close committed (a hostile test: "246 explained"
 * where 250 were written, "14 dead-lettered" where 17 were).
 */
final class OutcomeChangelog {

    private static final Logger LOG = LoggerFactory.getLogger(OutcomeChangelog.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private OutcomeChangelog() {}

    /** The changelog of the outcome store of the replay application {@code applicationId}. */
    static String topicOf(String applicationId) {
        return applicationId + "-" + Outcomes.STORE + "-changelog";
    }

    /**
     * The counts (explained, dead_lettered, skipped) summed over the changelog's partitions, each
     * one task's store: the last value of each key. Empty where the changelog cannot be read in
     * time or does not exist.
     */
    static Optional<Map<String, Long>> read(Map<String, Object> clientConfig, String topic) {
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.readCommittedConsumer(clientConfig, "explainstream-replay-outcomes", null)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, TIMEOUT).stream().map(info -> new TopicPartition(topic, info.partition()))
                    .toList();
            if (partitions.isEmpty()) {
                return Optional.empty();
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, TIMEOUT);
            Map<TopicPartition, Map<String, Long>> stores = new HashMap<>();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            try (LongDeserializer values = new LongDeserializer()) {
                while (partitions.stream().anyMatch(partition -> consumer.position(partition, TIMEOUT) < ends.get(partition))) {
                    if (System.nanoTime() > deadline) {
                        return Optional.empty();
                    }
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                        Map<String, Long> store = stores.computeIfAbsent(new TopicPartition(record.topic(), record.partition()), p -> new HashMap<>());
                        String key = new String(record.key(), StandardCharsets.UTF_8);
                        if (record.value() == null) {
                            store.remove(key);
                        } else {
                            store.put(key, values.deserialize(topic, record.value()));
                        }
                    }
                }
            }
            Map<String, Long> counts = new TreeMap<>();
            stores.values().forEach(store -> store.forEach((key, count) -> {
                if (Outcomes.isOutcome(key)) {
                    counts.merge(key, count, Long::sum);
                }
            }));
            return Optional.of(counts);
        } catch (KafkaException e) {
            LOG.debug("cannot read the outcome counts on {}: {}", topic, e.toString());
            return Optional.empty();
        }
    }
}
