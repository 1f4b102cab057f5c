package io.explainstream.stream.replay;

import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.KafkaClients;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Where a replay starts and stops in each partition of its input topic: from the first offset at
 * or after {@code from} ({@code offsetsForTimes}: no record before it is stamped {@code from} or
 * later) to the first offset at or after {@code to} plus the out-of-order bound, or the end offset
 * taken when the plan is made, whichever comes first (a resumed replay keeps the stop offsets of its
 * first plan: {@link #withRecordedStops}). Producers' clocks and retries leave records
 * out of timestamp order in a partition, so a record of the range may sit after one stamped
 * {@code to} or later; reading on past it finds such records, and the replay skips those stamped
 * outside the range. The replay's consumer group
 * (its own application id, never the live service's) gets these start offsets committed before
 * Kafka Streams starts, unless it already has offsets: then it resumes where it stopped.
 */
public final class ReplayPlan {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final String topic;
    private final Map<TopicPartition, Long> start;
    private final Map<TopicPartition, Long> stop;
    /** Per partition, the first offset still on the broker (retention deletes what is before it). */
    private final Map<TopicPartition, Long> logStart;
    /** Partitions whose range may begin in records retention has deleted: the oldest record left is already in range. */
    private final Map<TopicPartition, Boolean> startsInDeleted;
    /** The oldest timestamp among the first records of the partitions' ranges; empty when no range holds a record. */
    private final Optional<Long> firstRecordMs;
    private final Map<String, Object> clientConfig;

    private ReplayPlan(String topic, Map<TopicPartition, Long> start, Map<TopicPartition, Long> stop, Map<TopicPartition, Long> logStart,
            Map<TopicPartition, Boolean> startsInDeleted, Optional<Long> firstRecordMs, Map<String, Object> clientConfig) {
        this.topic = topic;
        this.start = start;
        this.stop = stop;
        this.logStart = logStart;
        this.startsInDeleted = startsInDeleted;
        this.firstRecordMs = firstRecordMs;
        this.clientConfig = clientConfig;
    }

    /**
     * Records of a partition's range that retention deleted before the replay read them.
     *
     * @param partition the partition
     * @param firstOffset the first deleted offset that may be in range
     * @param records how many records from there are gone
     * @param exact false when the count is an upper bound: the range starts before the oldest record
     *     left, and the deleted records' timestamps are unknown
     */
    public record Gap(int partition, long firstOffset, long records, boolean exact) {

        @Override
        public String toString() {
            return "partition " + partition + ": " + (exact ? "" : "up to ") + records + " record" + (records == 1 ? "" : "s") + " of the range (offsets "
                    + firstOffset + ".." + (firstOffset + records - 1) + ") deleted by retention";
        }
    }

    /**
     * @param clientConfig Kafka client settings (bootstrap.servers, security)
     * @param outOfOrderMs how long after {@code to} the first record stamped then ends the range's
     *     offsets; negative: no bound, the range's offsets end at the end offsets
     */
    public static ReplayPlan make(Map<String, Object> clientConfig, String topic, Replay replay, long outOfOrderMs) {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(clientConfig)) {
            List<PartitionInfo> partitions = consumer.partitionsFor(topic, TIMEOUT);
            if (partitions == null || partitions.isEmpty()) {
                throw new ConfigException("--input-topic = " + topic + ": no such topic on " + clientConfig.get(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG));
            }
            List<TopicPartition> topicPartitions = partitions.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            Map<TopicPartition, Long> end = consumer.endOffsets(topicPartitions, TIMEOUT);
            Map<TopicPartition, Long> beginning = new TreeMap<>(ReplayPlan::compare);
            beginning.putAll(consumer.beginningOffsets(topicPartitions, TIMEOUT));
            Map<TopicPartition, Boolean> startsInDeleted = new TreeMap<>(ReplayPlan::compare);
            Map<TopicPartition, OffsetAndTimestamp> fromOffsets = consumer.offsetsForTimes(at(topicPartitions, replay.fromMs()), TIMEOUT);
            Map<TopicPartition, OffsetAndTimestamp> toOffsets = outOfOrderMs < 0 ? Map.of()
                    : consumer.offsetsForTimes(at(topicPartitions, replay.toMs() > Long.MAX_VALUE - outOfOrderMs ? Long.MAX_VALUE
                            : replay.toMs() + outOfOrderMs), TIMEOUT);
            Map<TopicPartition, Long> start = new TreeMap<>(ReplayPlan::compare);
            Map<TopicPartition, Long> stop = new TreeMap<>(ReplayPlan::compare);
            Optional<Long> firstRecordMs = Optional.empty();
            for (TopicPartition partition : topicPartitions) {
                long endOffset = end.get(partition);
                long first = fromOffsets.get(partition) == null ? endOffset : fromOffsets.get(partition).offset();
                long last = toOffsets.get(partition) == null ? endOffset : Math.min(endOffset, toOffsets.get(partition).offset());
                start.put(partition, first);
                stop.put(partition, Math.max(first, last));
                if (last > first) {
                    long timestamp = fromOffsets.get(partition).timestamp();
                    firstRecordMs = Optional.of(firstRecordMs.map(t -> Math.min(t, timestamp)).orElse(timestamp));
                }
                // The range reaches into deleted records when the oldest record left is already at or
                // after --from (or none is left), and records were deleted before it.
                long oldest = beginning.get(partition);
                startsInDeleted.put(partition, oldest > 0 && first == oldest);
            }
            return new ReplayPlan(topic, start, stop, beginning, startsInDeleted, firstRecordMs, Map.copyOf(clientConfig));
        }
    }

    private static int compare(TopicPartition a, TopicPartition b) {
        return Integer.compare(a.partition(), b.partition());
    }

    private static Map<TopicPartition, Long> at(List<TopicPartition> partitions, long timestampMs) {
        return partitions.stream().collect(Collectors.toMap(p -> p, p -> timestampMs));
    }

    private static KafkaConsumer<byte[], byte[]> consumer(Map<String, Object> clientConfig) {
        return KafkaClients.readCommittedConsumer(clientConfig, "explainstream-replay-plan", null);
    }

    public Map<TopicPartition, Long> start() {
        return start;
    }

    /**
     * The oldest timestamp among the first records of the partitions' ranges (a later record of a
     * range may be older still, where its producer's clock went back); empty when the range is empty.
     */
    public Optional<Long> firstRecordMs() {
        return firstRecordMs;
    }

    public Map<TopicPartition, Long> stop() {
        return stop;
    }

    /**
     * What of the range is gone: for a fresh replay, deleted records before the oldest one left
     * when the range starts there; for a resumed one, records between its committed offsets and
     * the oldest ones left, which it has not read.
     */
    public List<Gap> gaps(String groupId) {
        return gaps(groupId, false);
    }

    /** @param fresh the replay starts from its start offsets, whatever the group committed before */
    public List<Gap> gaps(String groupId, boolean fresh) {
        List<Gap> gaps = new java.util.ArrayList<>();
        Map<TopicPartition, OffsetAndMetadata> committed;
        try (Admin admin = admin()) {
            committed = fresh ? Map.of() : committed(admin, groupId);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot read the offsets of replay group " + groupId + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        for (TopicPartition partition : start.keySet()) {
            long oldest = logStart.get(partition);
            OffsetAndMetadata offset = committed.get(partition);
            if (offset != null) {
                if (offset.offset() < oldest && offset.offset() < stop.get(partition)) {
                    gaps.add(new Gap(partition.partition(), offset.offset(), Math.min(oldest, stop.get(partition)) - offset.offset(), true));
                }
            } else if (startsInDeleted.get(partition)) {
                gaps.add(new Gap(partition.partition(), 0, oldest, false));
            }
        }
        return gaps;
    }

    /** Per partition, the first offset replayed. */
    public Map<Integer, Long> startOffsets() {
        Map<Integer, Long> offsets = new TreeMap<>();
        start.forEach((partition, offset) -> offsets.put(partition.partition(), offset));
        return offsets;
    }

    /** Per partition, the first offset not replayed: records there or later are outside the replay. */
    public Map<Integer, Long> stopOffsets() {
        Map<Integer, Long> offsets = new TreeMap<>();
        stop.forEach((partition, offset) -> offsets.put(partition.partition(), offset));
        return offsets;
    }

    /** Records in the offset ranges: the progress bar's total (records outside [from, to) among them are skipped). */
    public long recordsInRange() {
        return start.keySet().stream().mapToLong(p -> stop.get(p) - start.get(p)).sum();
    }

    /** The exact number of records per partition whose timestamps fall in the range: what --dry-run prints. */
    public Map<Integer, Long> countEvents(Replay replay) {
        Map<Integer, Long> counts = new TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(clientConfig)) {
            for (TopicPartition partition : start.keySet()) {
                long count = 0;
                long position = start.get(partition);
                long last = stop.get(partition);
                consumer.assign(List.of(partition));
                consumer.seek(partition, position);
                long deadline = System.nanoTime() + TIMEOUT.toNanos();
                while (consumer.position(partition, TIMEOUT) < last && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                        if (record.offset() < last && replay.includes(record.timestamp())) {
                            count++;
                        }
                    }
                }
                counts.put(partition.partition(), count);
            }
        }
        return counts;
    }

    /**
     * Checks this run's terms against those the replay id was run with. A replay id keeps its
     * terms once it has explained anything (its committed offsets moved from its start offsets):
     * other terms are refused, naming each difference. A replay id that explained nothing (a
     * start that failed, say) takes the new terms and starts afresh.
     *
     * @return true when the replay starts from this plan's start offsets, false when it resumes
     *     from its committed offsets
     * @throws ConfigException when the replay id has explained events under other terms
     */
    public boolean admit(String groupId, String replayId, ReplayTerms terms) {
        try (Admin admin = admin()) {
            // Offsets on any topic: a replay id run on another input topic has explained events too.
            Map<TopicPartition, OffsetAndMetadata> committed = allCommitted(admin, groupId);
            if (committed.isEmpty()) {
                return true;
            }
            Optional<ReplayTerms> recorded = recordedTerms(admin, groupId);
            if (recorded.isEmpty()) {
                // Started before replays recorded their terms: resumed as it is.
                return committed.keySet().stream().noneMatch(partition -> partition.topic().equals(topic));
            }
            List<String> differences = terms.differencesFrom(recorded.get());
            if (differences.isEmpty()) {
                return false;
            }
            Map<Integer, Long> positions = new TreeMap<>();
            committed.forEach((partition, offset) -> {
                if (partition.topic().equals(recorded.get().inputTopic())) {
                    positions.put(partition.partition(), offset.offset());
                }
            });
            if (positions.equals(recorded.get().startOffsets())) {
                return true;
            }
            throw new ConfigException("--replay-id = " + replayId + " was run with other terms: " + String.join("; ", differences)
                    + ". Resume it with its own range and settings, or give another --replay-id");
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot read the offsets of replay group " + groupId + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * Makes the replay group ready to start: a fresh replay gets its start offsets committed and
     * its terms and stop offsets recorded; a resumed one keeps its offsets (and gets its terms and
     * stop offsets recorded if it started before replays recorded them).
     *
     * @param fresh what {@link #admit} returned
     */
    public void prepareGroup(String groupId, ReplayTerms terms, boolean fresh) {
        try (Admin admin = admin()) {
            if (fresh || recordedTerms(admin, groupId).isEmpty()) {
                // Kept in a group of its own (Kafka Streams reads its own group's offset metadata as its
                // encoding; the group shares the replay's ACL prefix): the start offsets as its offsets,
                // the rest of the terms as the first one's metadata.
                TopicPartition first = start.keySet().iterator().next();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                start.forEach((partition, offset) -> offsets.put(partition, new OffsetAndMetadata(offset, partition.equals(first) ? terms.encode() : "")));
                admin.alterConsumerGroupOffsets(termsGroup(groupId), offsets).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
            if (fresh || allCommitted(admin, stopsGroup(groupId)).isEmpty()) {
                // As offsets of a group of their own, not in the terms' text: an offset's metadata is
                // bounded (offset.metadata.max.bytes, 4096 by default), a topic's partitions are not.
                Map<TopicPartition, OffsetAndMetadata> stops = new HashMap<>();
                stop.forEach((partition, offset) -> stops.put(partition, new OffsetAndMetadata(offset)));
                admin.alterConsumerGroupOffsets(stopsGroup(groupId), stops).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
            if (fresh) {
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                // No metadata: Kafka Streams reads a committed offset's metadata as its own encoding and warns about any other text.
                start.forEach((partition, offset) -> offsets.put(partition, new OffsetAndMetadata(offset)));
                admin.alterConsumerGroupOffsets(groupId, offsets).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot set the start offsets of replay group " + groupId + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * Deletes the replay's offsets and terms, for a replay that finished with nothing to show:
     * its id then starts afresh with any terms. Its stream must be closed (the group empty).
     */
    public void forget(String groupId) {
        try (Admin admin = admin()) {
            for (var deleted : admin.deleteConsumerGroups(List.of(groupId, termsGroup(groupId), stopsGroup(groupId))).deletedGroups().entrySet()) {
                try {
                    deleted.getValue().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof org.apache.kafka.common.errors.GroupIdNotFoundException)) {
                        throw new IllegalStateException("cannot delete replay group " + deleted.getKey() + ": " + e.getCause(), e);
                    }
                }
            }
        } catch (TimeoutException e) {
            throw new IllegalStateException("cannot delete the offsets of replay group " + groupId + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** The group whose one committed offset carries the replay's terms. */
    static String termsGroup(String groupId) {
        return groupId + "-terms";
    }

    /** The group whose committed offsets are the replay's stop offsets, as first planned. */
    static String stopsGroup(String groupId) {
        return groupId + "-stops";
    }

    /**
     * This plan with the stop offsets recorded when the replay was first planned, for a replay that
     * resumes: it reads what an uninterrupted run would have read, not records appended while it
     * was stopped (an event stamped in the range and logged since would be explained by the resumed
     * run only). A partition added since has nothing to read; a replay that recorded no stop
     * offsets (run before they were kept) keeps this plan's.
     */
    public ReplayPlan withRecordedStops(String groupId) {
        Map<TopicPartition, OffsetAndMetadata> recorded;
        try (Admin admin = admin()) {
            recorded = allCommitted(admin, stopsGroup(groupId));
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot read the stop offsets of replay group " + groupId + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        if (recorded.isEmpty()) {
            return this;
        }
        Map<TopicPartition, Long> stops = new TreeMap<>(ReplayPlan::compare);
        start.forEach((partition, first) -> {
            OffsetAndMetadata offset = recorded.get(partition);
            stops.put(partition, offset == null ? first : Math.max(first, offset.offset()));
        });
        return new ReplayPlan(topic, start, stops, logStart, startsInDeleted, firstRecordMs, clientConfig);
    }

    /** The terms recorded for the replay group {@code groupId}, if any. */
    public static Optional<ReplayTerms> recordedTerms(Map<String, Object> clientConfig, String groupId) {
        try (Admin admin = KafkaClients.admin(clientConfig)) {
            return recordedTerms(admin, groupId);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot read the recorded terms of replay group " + groupId + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * The terms recorded for the replay, on whatever topic they were recorded (the input topic is
     * one of them), with the start offsets the group's offsets on that topic keep.
     */
    private static Optional<ReplayTerms> recordedTerms(Admin admin, String groupId)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<TopicPartition, OffsetAndMetadata> offsets = allCommitted(admin, termsGroup(groupId));
        Optional<ReplayTerms> terms = offsets.values().stream().map(OffsetAndMetadata::metadata).filter(text -> text != null && !text.isEmpty())
                .findFirst().map(ReplayTerms::decode);
        if (terms.isEmpty() || !terms.get().startOffsets().isEmpty()) {
            return terms;
        }
        Map<Integer, Long> starts = new TreeMap<>();
        offsets.forEach((partition, offset) -> {
            if (partition.topic().equals(terms.get().inputTopic())) {
                starts.put(partition.partition(), offset.offset());
            }
        });
        return Optional.of(terms.get().startingAt(starts));
    }

    /** Records of the range the group has consumed and committed so far. */
    public long done(String groupId) {
        try (Admin admin = admin()) {
            Map<TopicPartition, OffsetAndMetadata> committed = committed(admin, groupId);
            long done = 0;
            for (TopicPartition partition : start.keySet()) {
                OffsetAndMetadata offset = committed.get(partition);
                long position = offset == null ? start.get(partition) : offset.offset();
                done += Math.max(0, Math.min(position, stop.get(partition)) - start.get(partition));
            }
            return done;
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot read the offsets of replay group " + groupId + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Whether every partition's committed offset has reached its stop offset. */
    public boolean finished(String groupId) {
        return done(groupId) >= recordsInRange();
    }

    private Admin admin() {
        return KafkaClients.admin(clientConfig);
    }

    /** The group's committed offsets on the plan's topic. */
    private Map<TopicPartition, OffsetAndMetadata> committed(Admin admin, String groupId)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<TopicPartition, OffsetAndMetadata> ours = new HashMap<>();
        allCommitted(admin, groupId).forEach((partition, offset) -> {
            if (partition.topic().equals(topic)) {
                ours.put(partition, offset);
            }
        });
        return ours;
    }

    private static Map<TopicPartition, OffsetAndMetadata> allCommitted(Admin admin, String groupId)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<TopicPartition, OffsetAndMetadata> all = new HashMap<>();
        admin.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .forEach((partition, offset) -> {
                    if (offset != null) {
                        all.put(partition, offset);
                    }
                });
        return all;
    }
}
