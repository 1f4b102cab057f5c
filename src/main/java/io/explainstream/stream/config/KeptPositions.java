package io.explainstream.stream.config;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

/**
 * Keeps a subscribed reader where it was when its partitions come back. The readers of the CLI
 * (tail, the demo's summary) commit nothing, as their group is their own; when a broker outage
 * outlasts the session timeout the group drops them, and on rejoining their partitions came back
 * without committed offsets: auto.offset.reset sent {@code tail --from-beginning} to offset 0, and it
 * printed the whole topic a second time. Subscribe through {@link #subscribe} and call
 * {@link #polled} after each poll.
 */
public final class KeptPositions implements ConsumerRebalanceListener {

    private final Consumer<?, ?> consumer;
    private final Map<TopicPartition, Long> next = new HashMap<>();

    private KeptPositions(Consumer<?, ?> consumer) {
        this.consumer = consumer;
    }

    public static KeptPositions subscribe(Consumer<?, ?> consumer, Collection<String> topics) {
        KeptPositions kept = new KeptPositions(consumer);
        consumer.subscribe(List.copyOf(topics), kept);
        return kept;
    }

    /** Remembers the position of every assigned partition whose position is known (no call to the broker). */
    public void polled() {
        for (TopicPartition partition : consumer.assignment()) {
            try {
                next.put(partition, consumer.position(partition, Duration.ZERO));
            } catch (KafkaException | IllegalStateException e) {
                // Not known yet (a reset in progress): nothing read from it to keep.
            }
        }
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        polled();
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        for (TopicPartition partition : partitions) {
            Long position = next.get(partition);
            if (position != null) {
                consumer.seek(partition, position);
            }
        }
    }
}
