package io.explainstream.dashboard;

import io.explainstream.avro.RegistryException;
import io.explainstream.stream.config.ClusterAnswers;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.config.KeptPositions;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads topics on a thread of its own and hands each record to a handler: committed records
 * only, in a consumer group of its own that commits nothing, each partition starting at the first
 * record at or after {@code from} (null: the oldest). A record the handler cannot take (it throws)
 * is logged and skipped, never allowed to stop the reader; one that meets a schema registry
 * outage is read again when the registry answers. Topics it reads are never created by
 * it: which of them exist is reported to {@code existing} until all of them do.
 */
final class TopicReader implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TopicReader.class);
    // The dashboard may start before the service has created its topics: look for them every 5 s, and
    // refresh the metadata of those it reads as often, so that new partitions show up soon too.
    private static final String METADATA_MAX_AGE_MS = "5000";
    private static final long TOPIC_CHECK_MS = 5000;
    private static final long OUTAGE_BACKOFF_MS = 2000;

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final List<String> topics;
    private final Consumer<ConsumerRecord<byte[], byte[]>> handler;
    private final Consumer<Set<String>> existing;
    /** Seeks partitions to {@code from} when first assigned, and back to where the reader was when assigned again. */
    private final KeptPositions kept;
    private final Thread thread;
    private volatile boolean stopping;
    /** Whether the latest look at the cluster got an answer, and when one last did. */
    private final ClusterAnswers cluster = new ClusterAnswers();
    /** Since when records wait for the schema registry; null while it answers. */
    private volatile Instant registryUnavailableSince;

    /**
     * What the reader knows of its sources, for a page that must not say "live" while nothing can
     * arrive: a consumer whose broker is gone polls nothing, without an error.
     *
     * @param reached the latest look at the cluster (every 5 s) got an answer
     * @param lastReached when one last did; null before the first
     * @param registryUnavailableSince since when a record waits for the schema registry; null while it answers
     */
    record Contact(boolean reached, Instant lastReached, Instant registryUnavailableSince) {}

    /**
     * @param handler takes each record with a value, on the reader's thread
     * @param existing told which of {@code topics} exist, on the reader's thread, until all do
     */
    TopicReader(String name, Map<?, ?> clientSettings, List<String> topics, Instant from, Consumer<ConsumerRecord<byte[], byte[]>> handler,
            Consumer<Set<String>> existing) {
        Map<Object, Object> settings = new HashMap<>(clientSettings);
        settings.putIfAbsent("metadata.max.age.ms", METADATA_MAX_AGE_MS);
        // While the broker is gone the client logs a warning per attempt to connect: backing off to
        // 10 s keeps that to a line every 10 s instead of six a second; the reader says it once itself.
        settings.putIfAbsent("reconnect.backoff.max.ms", "10000");
        // A reader must not create the service's topics (with the broker's defaults) by asking for them.
        settings.put("allow.auto.create.topics", "false");
        this.consumer = KafkaClients.readCommittedConsumer(settings, "explainstream-" + name, "earliest");
        this.topics = List.copyOf(topics);
        this.handler = handler;
        this.existing = existing;
        // A broker outage that outlasts the session timeout drops the reader from its group; its
        // partitions come back assigned anew, and sought to --from again they were read twice.
        this.kept = new KeptPositions(consumer, partitions -> seek(partitions, from));
        this.thread = new Thread(this::run, name + "-reader");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    Contact contact() {
        return new Contact(cluster.answering(), cluster.lastAnswer(), registryUnavailableSince);
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

    /**
     * Subscribes to the topics that exist (asking for a missing one would make the client warn on
     * every metadata refresh), looks at the cluster every few seconds (for the others, and to know
     * that it answers), and polls.
     */
    private void run() {
        try {
            Set<String> subscribed = Set.of();
            long nextCheck = 0;
            while (!stopping) {
                if (System.currentTimeMillis() >= nextCheck) {
                    Optional<Set<String>> found = existingTopics();
                    switch (cluster.record(found.isPresent(), Instant.now())) {
                        case STOPPED_ANSWERING -> LOG.warn("{}: the Kafka cluster does not answer; the page says so, and reading goes on when it answers",
                                thread.getName());
                        case ANSWERS_AGAIN -> LOG.info("{}: the Kafka cluster answers again", thread.getName());
                        case NONE -> { }
                    }
                    if (found.isPresent() && subscribed.size() < topics.size()) {
                        existing.accept(found.get());
                        if (!found.get().equals(subscribed) && !found.get().isEmpty()) {
                            // A wider subscription reassigns the partitions: those read from go on where they were.
                            kept.subscribe(found.get());
                            subscribed = found.get();
                        }
                    }
                    nextCheck = System.currentTimeMillis() + TOPIC_CHECK_MS;
                }
                if (subscribed.isEmpty()) {
                    Thread.sleep(250);
                    continue;
                }
                boolean all = takeAll(consumer.poll(Duration.ofMillis(250)));
                kept.polled();
                if (!all) {
                    Thread.sleep(OUTAGE_BACKOFF_MS);
                }
            }
        } catch (WakeupException e) {
            // close() asked us to stop
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** Which of the topics the cluster has; empty while it cannot be asked. */
    private Optional<Set<String>> existingTopics() {
        try {
            Set<String> found = new TreeSet<>(consumer.listTopics(Duration.ofSeconds(5)).keySet());
            found.retainAll(topics);
            return Optional.of(Set.copyOf(found));
        } catch (WakeupException e) {
            throw e;
        } catch (KafkaException e) {
            LOG.debug("cannot list topics: {}", e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Hands each record of a batch to the handler, partition by partition. While the schema
     * registry is unavailable a record is not unreadable: its partition is sought back to it, to
     * be read again after a pause, so that an outage loses nothing.
     *
     * @return false when some record must be read again
     */
    private boolean takeAll(ConsumerRecords<byte[], byte[]> batch) {
        boolean all = true;
        for (TopicPartition partition : batch.partitions()) {
            for (ConsumerRecord<byte[], byte[]> record : batch.records(partition)) {
                if (record.value() != null && !take(record)) {
                    consumer.seek(partition, record.offset());
                    all = false;
                    break;
                }
            }
        }
        return all;
    }

    /** @return false when the record must be read again (the registry is unavailable) */
    private boolean take(ConsumerRecord<byte[], byte[]> record) {
        try {
            handler.accept(record);
            registryUnavailableSince = null;
            return true;
        } catch (RegistryException e) {
            if (e.unavailable()) {
                if (registryUnavailableSince == null) {
                    registryUnavailableSince = Instant.now();
                }
                LOG.warn("{}-{}@{}: the schema registry is unavailable; reading it again in {} ms: {}", record.topic(), record.partition(), record.offset(),
                        OUTAGE_BACKOFF_MS, e.getMessage());
                return false;
            }
            skip(record, e);
            return true;
        } catch (RuntimeException e) {
            skip(record, e);
            return true;
        }
    }

    private static void skip(ConsumerRecord<byte[], byte[]> record, RuntimeException e) {
        LOG.warn("skipping {}-{}@{}: not a record this dashboard can read: {}", record.topic(), record.partition(), record.offset(), e.getMessage());
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
