package io.explainstream.cli;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.schema.Explanation;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.config.KeptPositions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * A dashboard-style reader of the explanations topic: committed records only, decoded with the
 * registry, from the beginning or from now, without committing offsets of its own.
 */
final class ExplanationFeed implements AutoCloseable {

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final ConfluentAvroDeserializer<Explanation> deserializer;
    private final KeptPositions positions;

    /**
     * @param clientSettings Kafka client settings (bootstrap.servers, security), passed through
     */
    ExplanationFeed(Map<String, String> clientSettings, RegistryConfig registry, List<String> topics, boolean fromBeginning) {
        this.consumer = KafkaClients.readCommittedConsumer(clientSettings, "explainstream-tail", fromBeginning ? "earliest" : "latest");
        this.deserializer = ConfluentAvroDeserializer.specific(new SchemaRegistryClient(registry), Explanation.class);
        this.positions = KeptPositions.subscribe(consumer, topics);
    }

    /**
     * Polls once; explanations go to {@code onExplanation}, a record of the explanations topic that
     * is not one to {@code onUndecodable} with the reason, records of other topics (dead letters) to
     * {@code onOther}.
     */
    void poll(Duration timeout, String explanationTopic, BiConsumer<ConsumerRecord<byte[], byte[]>, String> onUndecodable,
            BiConsumer<ConsumerRecord<byte[], byte[]>, Explanation> onExplanation, java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> onOther) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(timeout)) {
            if (record.topic().equals(explanationTopic)) {
                Explanation explanation;
                try {
                    explanation = deserializer.deserialize(record.topic(), record.value());
                } catch (org.apache.kafka.common.errors.SerializationException e) {
                    onUndecodable.accept(record, e.getMessage());
                    continue;
                }
                onExplanation.accept(record, explanation);
            } else {
                onOther.accept(record);
            }
        }
        positions.polled();
    }

    /** Asks the cluster whether it answers, as {@link ClusterWatch} spaces it, through the feed's consumer. */
    void check(ClusterWatch watch) {
        watch.check(consumer);
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }
}
