package io.explainstream.dashboard;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.schema.Explanation;
import io.explainstream.stream.config.KafkaClients;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the explanations topic into the {@link EventStore} on a thread of its own: committed records
 * only, in a consumer group of its own that commits nothing, each partition starting at the first
 * record at or after {@code from} (null: the oldest). A record that does not decode is logged and
 * skipped, never allowed to stop the feed.
 */
final class ExplanationConsumer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ExplanationConsumer.class);

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final ConfluentAvroDeserializer<Explanation> deserializer;
    private final EventStore store;
    private final Thread thread;
    private volatile boolean stopping;

    ExplanationConsumer(Map<?, ?> clientSettings, RegistryConfig registry, String topic, Instant from, EventStore store) {
        Map<Object, Object> settings = new HashMap<>(clientSettings);
        // The dashboard may start before the service has created the topic: look for it every 5 s, not every 5 min.
        settings.putIfAbsent("metadata.max.age.ms", "5000");
        this.consumer = KafkaClients.readCommittedConsumer(settings, "explainstream-dashboard", "earliest");
        this.deserializer = ConfluentAvroDeserializer.specific(new SchemaRegistryClient(registry), Explanation.class);
        this.store = store;
        consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {}

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                seek(partitions, from);
            }
        });
        this.thread = new Thread(this::run, "dashboard-consumer");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    private void seek(Collection<TopicPartition> partitions, Instant from) {
        if (from == null) {
            consumer.seekToBeginning(partitions);
            return;
        }
        Map<TopicPartition, Long> times = new HashMap<>();
        partitions.forEach(p -> times.put(p, from.toEpochMilli()));
        Map<TopicPartition, OffsetAndTimestamp> offsets = consumer.offsetsForTimes(times);
        for (TopicPartition partition : partitions) {
            OffsetAndTimestamp offset = offsets.get(partition);
            if (offset != null) {
                consumer.seek(partition, offset.offset());
            } else {
                consumer.seekToEnd(List.of(partition));
            }
        }
    }

    private void run() {
        try {
            while (!stopping) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(250))) {
                    if (record.value() == null) {
                        continue;
                    }
                    try {
                        store.add(deserializer.deserialize(record.topic(), record.value()));
                    } catch (RuntimeException e) {
                        LOG.warn("skipping {}-{}@{}: not an explanation this dashboard can read: {}", record.topic(), record.partition(),
                                record.offset(), e.getMessage());
                    }
                }
            }
        } catch (WakeupException e) {
            // close() asked us to stop
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    @Override
    public void close() {
        if (!thread.isAlive()) {
            consumer.close(Duration.ofSeconds(5));
            return;
        }
        stopping = true;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
