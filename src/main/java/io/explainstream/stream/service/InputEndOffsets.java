package io.explainstream.stream.service;

import io.explainstream.stream.audit.InputEnds;
import io.explainstream.stream.config.KafkaClients;
import java.time.Clock;
import java.time.Duration;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The input topic's partition ends, read from the broker in the background every {@code period},
 * for backlog control's count of the records that wait, and the offsets the service's group
 * committed for the partitions asked about in the last minute (a task that has not read since it
 * started waits on the records after them). The stream thread cannot ask: it may be in
 * a 20 s engine call, and the count is wanted when the call ends. A read that fails keeps the ends
 * read before (an end only grows, so an old one counts fewer records, never more) and is logged at
 * debug level: an outage of the broker shows in the service's own warnings.
 */
final class InputEndOffsets implements InputEnds, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(InputEndOffsets.class);
    /** How often the partitions are listed again, for partitions added to the topic. */
    private static final Duration DESCRIBE_EVERY = Duration.ofMinutes(1);
    /** How long the ends read are kept: at least the two dwell times (at most 10 s each) of backlog control's arrival rate. */
    static final Duration RECENT = Duration.ofSeconds(30);
    /** How often a partition's newest records are read for their timestamps, at most. */
    private static final Duration PROBE_EVERY = Duration.ofSeconds(10);
    /** How many of a partition's last records are read for the newest timestamp: a transaction's commit marker takes an offset. */
    private static final int NEWEST_READ = 4;

    private final Properties properties;
    private final String topic;
    private final Duration period;
    /** Null until {@link #begin()}. */
    private ScheduledExecutorService reader;
    /** Null until {@link #begin()}. */
    private Admin admin;
    /** The ends last read, by partition (written by the reader thread, read by the stream thread). */
    private volatile Map<Integer, Long> ends = Map.of();
    /**
     * The offsets committed by the group, by partition, as last read: of the partitions asked about
     * in the last minute, so that each is at most a read old (written by the reader thread, read by
     * the stream thread).
     */
    private volatile Map<Integer, Long> committed = Map.of();
    /** When each partition's committed offset was last asked for, in System.nanoTime() (stream thread writes, reader reads). */
    private final Map<Integer, Long> askedAtNanos = new ConcurrentHashMap<>();
    /** The service's consumer group (its application.id); null where none is set, and no committed offset is read. */
    private final String group;
    /**
     * Each partition's end at the first read that found it, and when that read was answered
     * (written by the reader thread, read by the stream thread).
     */
    private final Map<Integer, SeenEnd> firstEnds = new ConcurrentHashMap<>();
    /**
     * Each partition's ends over about the last {@link #RECENT}, oldest first (the reader thread
     * appends and trims, the stream thread reads).
     */
    private final Map<Integer, Deque<SeenEnd>> recentEnds = new ConcurrentHashMap<>();
    /**
     * How long before they arrive each partition's records are stamped, as last measured
     * (written by the reader thread, read by the stream thread).
     */
    private final Map<Integer, Long> stampedBeforeMs = new ConcurrentHashMap<>();
    /** When each partition's newest records were last read for their timestamps (reader thread only). */
    private final Map<Integer, Long> probedAtMs = new HashMap<>();
    /** The consumer that reads them; null until the first read (the reader thread, and close once the reader has stopped). */
    private volatile KafkaConsumer<byte[], byte[]> newest;
    private final Clock clock;
    /** How many reads have succeeded (written by the reader thread, read by the stream thread). */
    private volatile long reads;
    /** The partitions listed last, and when (reader thread only). */
    private Map<TopicPartition, OffsetSpec> partitions = Map.of();
    private long describedAtNanos;

    /**
     * The ends of {@code topic}'s partitions, to be read every {@code period} from {@link #begin()}
     * on; {@code clock} says when a read was answered.
     */
    InputEndOffsets(Properties properties, String topic, Duration period, Clock clock) {
        this.properties = properties;
        this.topic = topic;
        this.period = period;
        this.clock = clock;
        this.group = properties.getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
    }

    /**
     * Starts reading, the first read at once. Apart from the constructor, so that nothing runs
     * until the service starts: a start that fails before has nothing of this to stop.
     */
    synchronized void begin() {
        admin = KafkaClients.admin(properties);
        reader = DaemonThread.scheduler("explainstream-input-ends");
        reader.scheduleWithFixedDelay(this::readQuietly, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public OptionalLong endOffset(String topic, int partition) {
        Long end = this.topic.equals(topic) ? ends.get(partition) : null;
        return end == null ? OptionalLong.empty() : OptionalLong.of(end);
    }

    @Override
    public OptionalLong committedOffset(String topic, int partition) {
        if (!this.topic.equals(topic)) {
            return OptionalLong.empty();
        }
        askedAtNanos.put(partition, System.nanoTime());
        Long offset = committed.get(partition);
        return offset == null ? OptionalLong.empty() : OptionalLong.of(offset);
    }

    private void readQuietly() {
        try {
            read();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.debug("could not read the ends of {}'s partitions; keeping those read before", topic, e);
        }
    }

    /** One read: the partitions (once a minute), then their last stable offsets, then the committed offsets asked about. */
    private void read() throws InterruptedException, ExecutionException, TimeoutException {
        // The admin client gives up when this read does, so that a slow broker does not pile up requests.
        long wait = Math.max(1_000, period.toMillis());
        if (partitions.isEmpty() || System.nanoTime() - describedAtNanos > DESCRIBE_EVERY.toNanos()) {
            Map<TopicPartition, OffsetSpec> listed = new HashMap<>();
            admin.describeTopics(List.of(topic), new DescribeTopicsOptions().timeoutMs((int) wait)).allTopicNames().get(2 * wait, TimeUnit.MILLISECONDS)
                    .get(topic).partitions()
                    .forEach(info -> listed.put(new TopicPartition(topic, info.partition()), OffsetSpec.latest()));
            partitions = listed;
            describedAtNanos = System.nanoTime();
        }
        // Read committed: the end of what the service may read, so an open transaction's records are not counted.
        Map<Integer, Long> read = new HashMap<>();
        admin.listOffsets(partitions, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED).timeoutMs((int) wait)).all().get(2 * wait, TimeUnit.MILLISECONDS)
                .forEach((partition, info) -> read.put(partition.partition(), info.offset()));
        long answeredMs = clock.millis();
        Map<Integer, Long> before = ends;
        read.forEach((partition, end) -> {
            SeenEnd seen = new SeenEnd(end, answeredMs);
            firstEnds.putIfAbsent(partition, seen);
            Deque<SeenEnd> recent = recentEnds.computeIfAbsent(partition, p -> new ConcurrentLinkedDeque<>());
            recent.addLast(seen);
            while (recent.size() > 2 && recent.peekFirst().atMs() < answeredMs - RECENT.toMillis()) {
                recent.pollFirst();
            }
        });
        ends = Map.copyOf(read);
        reads++;
        readCommitted(wait);
        try {
            readNewestStamps(before, read, wait);
        } catch (RuntimeException e) {
            LOG.debug("could not read the newest records of {}'s partitions; keeping their timestamps read before", topic, e);
        }
    }

    /**
     * How long before they arrive the records of each partition that grew since the last read are
     * stamped: the newest of its last few committed records, read at most every {@link #PROBE_EVERY}
     * per partition, against the time it was read; it arrived since the last read, half a second
     * ago. Read with a consumer: the broker's largest timestamp of a partition counts the commit
     * markers of transactions, stamped as they are written, so a transactional mirror's records an
     * hour old read as fresh. A failed read keeps what was measured before (how a producer stamps
     * its records does not change from one read to the next).
     */
    private void readNewestStamps(Map<Integer, Long> before, Map<Integer, Long> read, long wait) {
        long now = clock.millis();
        List<TopicPartition> due = read.keySet().stream()
                .filter(partition -> before.containsKey(partition) && read.get(partition) > before.get(partition))
                .filter(partition -> now - probedAtMs.getOrDefault(partition, Long.MIN_VALUE / 2) >= PROBE_EVERY.toMillis())
                .map(partition -> new TopicPartition(topic, partition)).toList();
        if (due.isEmpty()) {
            return;
        }
        if (newest == null) {
            newest = KafkaClients.readCommittedConsumer(properties, "explainstream-input-stamps", null);
        }
        newest.assign(due);
        due.forEach(partition -> newest.seek(partition, Math.max(0, read.get(partition.partition()) - NEWEST_READ)));
        Map<Integer, Long> stamps = new HashMap<>();
        newest.poll(Duration.ofMillis(wait)).forEach(record -> stamps.merge(record.partition(), record.timestamp(), Math::max));
        long readMs = clock.millis();
        stamps.forEach((partition, stamp) -> {
            stampedBeforeMs.put(partition, Math.max(0, readMs - stamp));
            probedAtMs.put(partition, readMs);
        });
    }

    /**
     * The group's committed offsets of the partitions asked about in the last minute; those not
     * asked since are dropped, so that a value is never older than a read (a partition handed to
     * another instance and back would otherwise count the records that instance explained meanwhile).
     * A partition the group never committed has none: its task starts where auto.offset.reset says.
     */
    private void readCommitted(long wait) throws InterruptedException, ExecutionException, TimeoutException {
        long now = System.nanoTime();
        askedAtNanos.values().removeIf(asked -> now - asked > DESCRIBE_EVERY.toNanos());
        if (group == null || askedAtNanos.isEmpty()) {
            committed = Map.of();
            return;
        }
        List<TopicPartition> asked = askedAtNanos.keySet().stream().map(partition -> new TopicPartition(topic, partition)).toList();
        Map<Integer, Long> read = new HashMap<>();
        try {
            admin.listConsumerGroupOffsets(Map.of(group, new ListConsumerGroupOffsetsSpec().topicPartitions(asked)),
                    new ListConsumerGroupOffsetsOptions().timeoutMs((int) wait)).partitionsToOffsetAndMetadata(group)
                    .get(2 * wait, TimeUnit.MILLISECONDS).forEach((partition, offset) -> {
                        if (offset != null) {
                            read.put(partition.partition(), offset.offset());
                        }
                    });
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            // Nothing is known until a read succeeds: an offset kept from before may be stale.
            committed = Map.of();
            throw e;
        }
        committed = Map.copyOf(read);
    }

    @Override
    public Optional<SeenEnd> firstEnd(String topic, int partition) {
        return this.topic.equals(topic) ? Optional.ofNullable(firstEnds.get(partition)) : Optional.empty();
    }

    @Override
    public List<SeenEnd> endsSince(String topic, int partition, long sinceMs) {
        Deque<SeenEnd> recent = this.topic.equals(topic) ? recentEnds.get(partition) : null;
        return recent == null ? List.of() : recent.stream().filter(seen -> seen.atMs() >= sinceMs).toList();
    }

    @Override
    public OptionalLong arrivalsStampedBeforeMs(String topic, int partition) {
        Long stamped = this.topic.equals(topic) ? stampedBeforeMs.get(partition) : null;
        return stamped == null ? OptionalLong.empty() : OptionalLong.of(stamped);
    }

    @Override
    public long reads() {
        return reads;
    }

    @Override
    public synchronized void close() {
        if (reader != null) {
            reader.shutdownNow();
            KafkaConsumer<byte[], byte[]> consumer = newest;
            if (consumer != null) {
                consumer.wakeup();
            }
            try {
                // A consumer is closed by the thread that uses it, or once that thread has stopped.
                reader.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (newest != null) {
                newest.close(Duration.ofSeconds(5));
            }
            admin.close(Duration.ofSeconds(5));
        }
    }
}
