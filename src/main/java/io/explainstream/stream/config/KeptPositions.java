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
 * printed the whole topic a second time (and the dashboard, which seeks its partitions to its
 * {@code --from} when assigned, held every explanation twice). Subscribe through {@link #subscribe}
 * and call {@link #polled} after each poll.
 */
public final class KeptPositions implements ConsumerRebalanceListener {

    private final Consumer<?, ?> consumer;
    private final java.util.function.Consumer<Collection<TopicPartition>> firstAssigned;
    private final Map<TopicPartition, Long> next = new HashMap<>();

    /**
     * @param firstAssigned positions the partitions assigned for the first time, or after nothing
     *     was read from them (the dashboard seeks them to its {@code --from}); the others go back to
     *     where the reader was
     */
    public KeptPositions(Consumer<?, ?> consumer, java.util.function.Consumer<Collection<TopicPartition>> firstAssigned) {
        this.consumer = consumer;
        this.firstAssigned = firstAssigned;
    }

    /** Subscribes with partitions assigned the first time starting as {@code auto.offset.reset} says. */
    public static KeptPositions subscribe(Consumer<?, ?> consumer, Collection<String> topics) {
        KeptPositions kept = new KeptPositions(consumer, partitions -> {});
        kept.subscribe(topics);
        return kept;
    }

    /** Subscribes the consumer to these topics (again, with more of them) with this as its listener. */
    public void subscribe(Collection<String> topics) {
        consumer.subscribe(List.copyOf(topics), this);
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
        List<TopicPartition> first = new java.util.ArrayList<>();
        for (TopicPartition partition : partitions) {
            Long position = next.get(partition);
            if (position != null) {
                consumer.seek(partition, position);
            } else {
                first.add(partition);
            }
        }
        if (!first.isEmpty()) {
            firstAssigned.accept(first);
        }
    }
}
