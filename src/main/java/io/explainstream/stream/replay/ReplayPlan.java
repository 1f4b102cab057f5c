package io.explainstream.stream.replay;

import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.config.TimestampWindow;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;

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
    /** Per partition, the offset after the last record on the broker when the plan was made. */
    private final Map<TopicPartition, Long> logEnd;
    /** Partitions whose range may begin in records retention has deleted: the oldest record left is already in range. */
    private final Map<TopicPartition, Boolean> startsInDeleted;
    /** The oldest timestamp among the first records of the partitions' ranges; empty when no range holds a record. */
    private final Optional<Long> firstRecordMs;
    /** How far ahead of the clock the topic lets records be stamped; empty when its configuration cannot be read. */
    private final OptionalLong inputAheadMs;
    private final Map<String, Object> clientConfig;

    private ReplayPlan(String topic, Map<TopicPartition, Long> start, Map<TopicPartition, Long> stop, Map<TopicPartition, Long> logStart,
            Map<TopicPartition, Long> logEnd, Map<TopicPartition, Boolean> startsInDeleted, Optional<Long> firstRecordMs, OptionalLong inputAheadMs, Map<String, Object> clientConfig) {
        this.topic = topic;
        this.start = start;
        this.stop = stop;
        this.logStart = logStart;
        this.logEnd = logEnd;
        this.startsInDeleted = startsInDeleted;
        this.firstRecordMs = firstRecordMs;
        this.inputAheadMs = inputAheadMs;
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

        /** The parts of this gap outside every one of {@code parts}; those of other partitions do not count. */
        List<Gap> outside(List<Gap> parts) {
            List<Gap> pieces = List.of(this);
            for (Gap part : parts) {
                if (part.partition() == partition) {
                    pieces = pieces.stream().flatMap(piece -> piece.without(part).stream()).toList();
                }
            }
            return pieces;
        }

        /** The parts of this gap outside {@code other} (of the same partition): none, one or two. */
        private List<Gap> without(Gap other) {
            long end = firstOffset + records;
            long otherEnd = other.firstOffset() + other.records();
            List<Gap> pieces = new java.util.ArrayList<>();
            if (firstOffset < other.firstOffset()) {
                pieces.add(new Gap(partition, firstOffset, Math.min(end, other.firstOffset()) - firstOffset, exact));
            }
            if (end > otherEnd) {
                long first = Math.max(firstOffset, otherEnd);
                pieces.add(new Gap(partition, first, end - first, exact));
            }
            return pieces;
        }

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
            long stopMs = outOfOrderMs < 0 ? Long.MAX_VALUE : replay.toMs() > Long.MAX_VALUE - outOfOrderMs ? Long.MAX_VALUE : replay.toMs() + outOfOrderMs;
            Map<TopicPartition, OffsetAndTimestamp> toOffsets = outOfOrderMs < 0 ? Map.of() : consumer.offsetsForTimes(at(topicPartitions, stopMs), TIMEOUT);
            // A record logged before one stamped t is stamped at most the bound after t, so deleted
            // records may be of the range wherever a record left at the oldest offset is stamped
            // within the bound before --from (-1, no bound: only where it is stamped in range).
            Map<TopicPartition, OffsetAndTimestamp> withinBound = outOfOrderMs <= 0 ? fromOffsets
                    : consumer.offsetsForTimes(at(topicPartitions, Math.max(0, replay.fromMs() - outOfOrderMs)), TIMEOUT);
            Map<TopicPartition, Long> start = new TreeMap<>(ReplayPlan::compare);
            Map<TopicPartition, Long> stop = new TreeMap<>(ReplayPlan::compare);
            Optional<Long> firstRecordMs = Optional.empty();
            for (TopicPartition partition : topicPartitions) {
                long endOffset = end.get(partition);
                long first = fromOffsets.get(partition) == null ? endOffset : fromOffsets.get(partition).offset();
                long last = toOffsets.get(partition) == null ? endOffset
                        : firstStampedFrom(consumer, partition, Math.min(endOffset, toOffsets.get(partition).offset()), endOffset, stopMs);
                start.put(partition, first);
                stop.put(partition, Math.max(first, last));
                if (last > first) {
                    long timestamp = fromOffsets.get(partition).timestamp();
                    firstRecordMs = Optional.of(firstRecordMs.map(t -> Math.min(t, timestamp)).orElse(timestamp));
                }
                // The range may reach into deleted records when the oldest record left is stamped at
                // or after --from, less the bound (or none is left), and records were deleted before it.
                long oldest = beginning.get(partition);
                long firstWithinBound = withinBound.get(partition) == null ? endOffset : withinBound.get(partition).offset();
                startsInDeleted.put(partition, oldest > 0 && firstWithinBound == oldest);
            }
            return new ReplayPlan(topic, start, stop, beginning, Map.copyOf(end), startsInDeleted, firstRecordMs, aheadOfClock(clientConfig, topic), Map.copyOf(clientConfig));
        }
    }

    /**
     * The offset of the first record at or after {@code candidate} stamped {@code timestampMs} or
     * later, or {@code end}. offsetsForTimes counts transaction markers, which the broker stamps when
     * the transaction commits: events logged with older timestamps in transactions made the range
     * end at the first marker (a replay of 6 such events read 2). The candidate is a record of the
     * log whenever the topic holds no markers, and one poll confirms it; else the read goes on.
     */
    private static long firstStampedFrom(KafkaConsumer<byte[], byte[]> consumer, TopicPartition partition, long candidate, long end, long timestampMs) {
        if (candidate >= end) {
            return end;
        }
        consumer.assign(List.of(partition));
        consumer.seek(partition, candidate);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (consumer.position(partition, TIMEOUT) < end && System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                if (record.offset() >= end) {
                    return end;
                }
                if (record.timestamp() >= timestampMs) {
                    return record.offset();
                }
            }
        }
        if (consumer.position(partition, TIMEOUT) < end) {
            throw new IllegalStateException("cannot read partition " + partition + " from offset " + candidate + " within " + TIMEOUT.toSeconds()
                    + " s to find where the replay's range ends");
        }
        return end;
    }

    /**
     * Whether the partition holds no record a read-committed consumer returns between {@code from}
     * and its stop offset: only transaction markers and aborted records, on which the replay's stream
     * commits no offset, so that its committed offset stays at {@code from} (the replay waited for
     * ever: a hostile test, a partition whose range was one commit marker). False where the read
     * does not end within its timeout.
     */
    public boolean holdsNoRecordFrom(int partition, long from) {
        TopicPartition topicPartition = new TopicPartition(topic, partition);
        long end = stop.getOrDefault(topicPartition, from);
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(clientConfig)) {
            // Any record will do: the first stamped at or after the earliest instant there is.
            return firstStampedFrom(consumer, topicPartition, from, end, Long.MIN_VALUE) >= end;
        } catch (IllegalStateException e) {
            return false; // not read to the stop offset within the timeout
        }
    }

    /**
     * How far ahead of the clock the topic lets records be stamped (its message.timestamp.after.max.ms,
     * 0 for LogAppendTime); empty when this client may not read the topic's configuration.
     */
    private static OptionalLong aheadOfClock(Map<String, Object> clientConfig, String topic) {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        try (Admin admin = KafkaClients.admin(clientConfig)) {
            Config config = admin.describeConfigs(List.of(resource)).values().get(resource).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return OptionalLong.of(TimestampWindow.aheadOfClock(config));
        } catch (ExecutionException | TimeoutException e) {
            return OptionalLong.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
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
        return gapsFrom(positions(groupId));
    }

    /** @param admission where the replay starts: its start offsets, its record's, or its group's committed offsets */
    public List<Gap> gaps(String groupId, Admission admission) {
        return gapsFrom(resumesFrom(groupId, admission));
    }

    /**
     * Per partition, the offset the admitted replay resumes from: none for a fresh one (it starts at
     * the start offsets); else its group's committed offsets, or those its record kept where the
     * group lost them.
     */
    public Map<Integer, Long> resumesFrom(String groupId, Admission admission) {
        return admission.fresh() ? Map.of() : admission.restore().orElseGet(() -> positions(groupId));
    }

    /**
     * Per partition, the records of the range that retention deleted after the replay had passed
     * them (from its start offset on), less those an earlier run skipped as gone with --allow-gaps
     * ({@code skipped}, which reported them then): read, so they have their outcomes or wait in the
     * batch store, where the record keeps every skipped part ({@link ReplayRecord#skipsKnown}).
     * They are neither missing now ({@link #gaps}) nor counted by {@link #countEvents}, which can
     * only read what is left. Partitions with none are left out.
     *
     * @param resumesFrom {@link #resumesFrom}; empty for a fresh replay, which has passed nothing
     * @param skipped the parts of the range earlier runs skipped ({@link ReplayRecord#skipped})
     */
    public Map<Integer, Long> deletedAfterPassed(Map<Integer, Long> resumesFrom, List<Gap> skipped) {
        Map<Integer, Long> deleted = new TreeMap<>();
        for (TopicPartition partition : start.keySet()) {
            long first = start.get(partition);
            long passed = resumesFrom.getOrDefault(partition.partition(), first);
            long end = Math.min(Math.min(logStart.get(partition), stop.get(partition)), passed);
            long count = end <= first ? 0 : new Gap(partition.partition(), first, end - first, true).outside(skipped).stream().mapToLong(Gap::records).sum();
            if (count > 0) {
                deleted.put(partition.partition(), count);
            }
        }
        return deleted;
    }

    /** @param committed per partition, the offset the replay resumes from; none: it starts at its start offset */
    private List<Gap> gapsFrom(Map<Integer, Long> committed) {
        List<Gap> gaps = new java.util.ArrayList<>();
        for (TopicPartition partition : start.keySet()) {
            long oldest = logStart.get(partition);
            Long offset = committed.get(partition.partition());
            if (offset != null) {
                if (offset < oldest && offset < stop.get(partition)) {
                    gaps.add(new Gap(partition.partition(), offset, Math.min(oldest, stop.get(partition)) - offset, true));
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

    /**
     * The exact number of records per partition whose timestamps fall in the range, of those still
     * on the broker: what --dry-run prints. (A resumed replay's range may begin in records retention
     * deleted since it passed them: {@link #deletedAfterPassed}.)
     */
    public Map<Integer, Long> countEvents(Replay replay) {
        Map<Integer, Long> counts = new TreeMap<>();
        // Earliest: a start offset retention has deleted reads from the oldest record left.
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.readCommittedConsumer(clientConfig, "explainstream-replay-plan", "earliest")) {
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
     * A replay admitted under its terms: what it reads, what is saved of it, and where it starts.
     *
     * @param plan what it reads: this plan, or for a resumed replay this plan with its first stop offsets
     * @param record what the replays topic keeps of it once it starts
     * @param fresh it starts from the plan's start offsets; false: it resumes where it stopped
     * @param restore for a resumed replay whose consumer group lost its offsets (Kafka deletes an
     *     idle group's offsets after offsets.retention.minutes), the offsets its record kept
     */
    public record Admission(ReplayPlan plan, ReplayRecord record, boolean fresh, Optional<Map<Integer, Long>> restore) {}

    /**
     * Checks this run's terms against those the replay id was run with, as its record keeps them
     * (or, for a replay started before records were kept, its groups' offsets). A replay id keeps
     * its terms once it has read anything of its range: other terms are refused, naming each
     * difference. A replay id that read nothing (a start that failed, say), or finished with no
     * event in range, takes the new terms and starts afresh. Only reads.
     *
     * @param terms this run's terms, with this plan's start offsets
     * @param recorded the replay id's record in the replays topic
     * @param ledgerTopic the replays topic, for the refusal of a replay whose group has offsets
     *     and whose record is gone (its terms could not be checked)
     * @param countsChangelog the changelog of the replay's outcome counts, where it exists (its
     *     application has run): with no record and no offsets, its progress is lost, and it is
     *     refused rather than run again
     * @throws ConfigException when the replay id has read events under other terms, or its progress or record is lost
     */
    public Admission admit(String groupId, String replayId, ReplayTerms terms, Optional<ReplayRecord> recorded, String ledgerTopic,
            Optional<String> countsChangelog) {
        ReplayRecord starting = ReplayRecord.starting(terms, stopOffsets(), inputAheadMs);
        Admission fresh = new Admission(this, starting, true, Optional.empty());
        try (Admin admin = admin()) {
            // Offsets on any topic: a replay id run on another input topic has explained events too.
            Map<TopicPartition, OffsetAndMetadata> committed = allCommitted(admin, groupId);
            if (recorded.isPresent() && !recorded.get().released()) {
                ReplayRecord record = recorded.get();
                Map<Integer, Long> positions = positionsOn(committed, record.terms().inputTopic());
                boolean lost = positions.isEmpty();
                Map<Integer, Long> progress = lost ? record.doneOffsets() : positions;
                List<String> differences = terms.differencesFrom(record.terms());
                if (!differences.isEmpty()) {
                    if (record.nothingReadAt(progress)) {
                        return fresh;
                    }
                    throw otherTerms(replayId, differences);
                }
                requireRangeStillThere(replayId, record.stopOffsets(), progress);
                return new Admission(withRecordedRange(record.terms().startOffsets(), record.stopOffsets()), record, false,
                        lost ? Optional.of(progress) : Optional.empty());
            }
            if (recorded.isPresent()) {
                return fresh;
            }
            if (committed.isEmpty()) {
                if (countsChangelog.isPresent()) {
                    throw new ConfigException("--replay-id = " + replayId + " has run before (its outcome counts are kept in topic " + countsChangelog.get()
                            + "), but its record and its consumer group's offsets are gone, so what it read is unknown:"
                            + " run again, it would explain events twice. Give another --replay-id");
                }
                return fresh;
            }
            return admitLegacy(admin, groupId, replayId, terms, committed, fresh, ledgerTopic);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot read the offsets of replay group " + groupId + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** A replay started before replays had records: its terms and stop offsets as its groups' offsets keep them. */
    private Admission admitLegacy(Admin admin, String groupId, String replayId, ReplayTerms terms, Map<TopicPartition, OffsetAndMetadata> committed,
            Admission fresh, String ledgerTopic) throws ExecutionException, InterruptedException, TimeoutException {
        Optional<ReplayTerms> recorded = legacyTerms(admin, groupId);
        Map<TopicPartition, OffsetAndMetadata> stops = allCommitted(admin, stopsGroup(groupId));
        ReplayPlan resumed = stops.isEmpty() ? this
                : withRecordedRange(recorded.map(ReplayTerms::startOffsets).orElse(new TreeMap<>()), positionsOn(stops, topic));
        if (recorded.isEmpty()) {
            // Offsets and no terms anywhere: the record is gone (the replays topic deleted, the
            // record removed). Resumed under this run's terms, it mixed two kinds of explanation
            // under one id (a hostile test: 250 at 24 steps, 359 at 16).
            throw new ConfigException("--replay-id = " + replayId + " has run before (its consumer group " + groupId + " has committed offsets), but"
                    + " its record on " + ledgerTopic + " is gone (the topic deleted, or the record removed), so the terms it ran with cannot be"
                    + " checked, and resumed under other terms it would mix two kinds of explanation under one id. Give another --replay-id");
        }
        List<String> differences = terms.differencesFrom(recorded.get());
        if (differences.isEmpty()) {
            return new Admission(resumed, ReplayRecord.starting(recorded.get(), resumed.stopOffsets(), OptionalLong.empty()).withSkipsUnknown(), false,
                    Optional.empty());
        }
        if (positionsOn(committed, recorded.get().inputTopic()).equals(recorded.get().startOffsets())) {
            return fresh;
        }
        throw otherTerms(replayId, differences);
    }

    /**
     * Refuses a resumed replay whose input partition now ends before the offset its range was
     * planned to end at, with records left to read: the topic was deleted and made again (by a
     * producer's auto-creation, or by hand), and the range's records are gone. Resumed, it waited
     * for them for ever (a hostile test: 358 of 1,030, no word).
     */
    private void requireRangeStillThere(String replayId, Map<Integer, Long> stops, Map<Integer, Long> progress) {
        List<String> missing = new java.util.ArrayList<>();
        for (TopicPartition partition : stops.keySet().stream().map(partition -> new TopicPartition(topic, partition)).toList()) {
            long stop = stops.get(partition.partition());
            // The ends the plan read: a partition the topic no longer has ends at 0.
            long end = logEnd.getOrDefault(partition, 0L);
            if (end < stop && progress.getOrDefault(partition.partition(), 0L) < stop) {
                missing.add("partition " + partition.partition() + " ends at offset " + end + ", the range at " + stop);
            }
        }
        if (!missing.isEmpty()) {
            throw new ConfigException("--replay-id = " + replayId + ": its input topic " + topic + " no longer holds the rest of its range ("
                    + String.join("; ", missing) + "): the topic was deleted and made again since it ran, and those records are gone."
                    + " Give another --replay-id to replay what the topic holds now");
        }
    }

    private static ConfigException otherTerms(String replayId, List<String> differences) {
        return new ConfigException("--replay-id = " + replayId + " was run with other terms: " + String.join("; ", differences)
                + ". Resume it with its own range and settings, or give another --replay-id");
    }

    /**
     * Makes the replay ready to start: a fresh replay gets its start offsets committed; a resumed
     * one whose group lost its offsets gets back those its record kept; and the replays topic gets
     * its record, with the offsets it starts from.
     */
    public void prepare(String groupId, String replayId, Admission admission, ReplayLedger ledger) {
        Optional<Map<Integer, Long>> committing = admission.fresh() ? Optional.of(startOffsets()) : admission.restore();
        try (Admin admin = admin()) {
            if (committing.isPresent()) {
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                // No metadata: Kafka Streams reads a committed offset's metadata as its own encoding and warns about any other text.
                committing.get().forEach((partition, offset) -> offsets.put(new TopicPartition(topic, partition), new OffsetAndMetadata(offset)));
                admin.alterConsumerGroupOffsets(groupId, offsets).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot set the start offsets of replay group " + groupId + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        ledger.save(replayId, admission.record().withDone(positions(groupId)));
    }

    /**
     * Frees the replay id, for a replay that finished with nothing to show: its record says so, and
     * its offsets are deleted; it then starts afresh with any terms. Its stream must be closed (the
     * group empty).
     */
    public void forget(String groupId, String replayId, ReplayRecord record, ReplayLedger ledger) {
        ledger.save(replayId, record.asReleased());
        try (Admin admin = admin()) {
            // With the groups that kept terms and stop offsets before records did.
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

    /** The group whose first committed offset carried the replay's terms, before records kept them. */
    static String termsGroup(String groupId) {
        return groupId + "-terms";
    }

    /** The group whose committed offsets were the replay's stop offsets, before records kept them. */
    static String stopsGroup(String groupId) {
        return groupId + "-stops";
    }

    /**
     * This plan with the offsets recorded when the replay was first planned, for a replay that
     * resumes: it reads what an uninterrupted run would have read, not records appended while it
     * was stopped (an event stamped in the range and logged since would be explained by the resumed
     * run only), and its progress counts from where it first started, even where retention has
     * since deleted records it read (this plan's own start offsets would begin after them: a total
     * of 0 records, and progress past it). A partition added since has nothing to read.
     *
     * @param recordedStarts per partition, the first plan's start offsets (a partition missing: this plan's)
     * @param recordedStops per partition, the first plan's stop offsets
     */
    private ReplayPlan withRecordedRange(Map<Integer, Long> recordedStarts, Map<Integer, Long> recordedStops) {
        Map<TopicPartition, Long> starts = new TreeMap<>(ReplayPlan::compare);
        Map<TopicPartition, Long> stops = new TreeMap<>(ReplayPlan::compare);
        start.forEach((partition, now) -> {
            long first = recordedStarts.getOrDefault(partition.partition(), now);
            Long offset = recordedStops.get(partition.partition());
            starts.put(partition, first);
            stops.put(partition, offset == null ? first : Math.max(first, offset));
        });
        return new ReplayPlan(topic, starts, stops, logStart, logEnd, startsInDeleted, firstRecordMs, inputAheadMs, clientConfig);
    }

    /**
     * The terms recorded for the replay group {@code groupId} in its groups' offsets, as replays
     * kept them before they had records; empty when there are none.
     */
    public static Optional<ReplayTerms> legacyTerms(Map<String, Object> clientConfig, String groupId) {
        try (Admin admin = KafkaClients.admin(clientConfig)) {
            return legacyTerms(admin, groupId);
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
    private static Optional<ReplayTerms> legacyTerms(Admin admin, String groupId)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<TopicPartition, OffsetAndMetadata> offsets = allCommitted(admin, termsGroup(groupId));
        Optional<ReplayTerms> terms = offsets.values().stream().map(OffsetAndMetadata::metadata).filter(text -> text != null && !text.isEmpty())
                .findFirst().map(ReplayTerms::decode);
        if (terms.isEmpty() || !terms.get().startOffsets().isEmpty()) {
            return terms;
        }
        return Optional.of(terms.get().startingAt(positionsOn(offsets, terms.get().inputTopic())));
    }

    /** Per partition, the offsets of {@code offsets} on {@code topicName}. */
    private static Map<Integer, Long> positionsOn(Map<TopicPartition, OffsetAndMetadata> offsets, String topicName) {
        Map<Integer, Long> positions = new TreeMap<>();
        offsets.forEach((partition, offset) -> {
            if (partition.topic().equals(topicName)) {
                positions.put(partition.partition(), offset.offset());
            }
        });
        return positions;
    }

    /** Per partition of the plan's topic, the group's committed offsets now. */
    public Map<Integer, Long> positions(String groupId) {
        try (Admin admin = admin()) {
            return positionsOn(allCommitted(admin, groupId), topic);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot read the offsets of replay group " + groupId + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * Where a running replay stands: its group's committed offsets, and its plan with the oldest
     * offsets left on the broker now.
     */
    public record Standing(ReplayPlan plan, Map<Integer, Long> positions) {

        /**
         * The parts of the range below the oldest offsets left that the replay's committed offsets
         * have not passed: for a replay whose stream is closed, so that its last commit is in and
         * every record it read lies below its committed offsets, records retention deleted before
         * it read them (with those it skipped knowingly: {@link ReplayRecord#notSkipped} leaves
         * those out).
         */
        public List<Gap> deletedUnread() {
            return plan.gapsFrom(positions);
        }

        /**
         * The parts of the range in these offsets the stream jumped over ({@link ReadTrail}) that
         * lie below the oldest offsets left now: deleted before the stream read them. The rest of a
         * jump was there when the stream passed it: transaction markers and aborted records.
         */
        public List<Gap> deletedIn(List<Gap> jumps) {
            List<Gap> deleted = new java.util.ArrayList<>();
            for (Gap jump : jumps) {
                TopicPartition partition = new TopicPartition(plan.topic, jump.partition());
                if (plan.start.containsKey(partition)) {
                    long first = Math.max(jump.firstOffset(), plan.start.get(partition));
                    long end = Math.min(Math.min(jump.firstOffset() + jump.records(), plan.logStart.get(partition)), plan.stop.get(partition));
                    if (end > first) {
                        deleted.add(new Gap(jump.partition(), first, end - first, true));
                    }
                }
            }
            return deleted;
        }
    }

    /**
     * The group's committed offsets and the oldest offsets left, read together: retention deletes
     * records while a replay runs too, and a plan whose oldest offsets were those of its start
     * counted records deleted since, which the replay can never read, as still to read (it waited
     * for them for ever). Where the oldest offsets cannot be read (the topic deleted), the plan's stay.
     */
    public Standing standing(String groupId) {
        try (Admin admin = admin()) {
            Map<Integer, Long> positions = positionsOn(allCommitted(admin, groupId), topic);
            Map<TopicPartition, Long> oldest = new TreeMap<>(ReplayPlan::compare);
            oldest.putAll(logStart);
            try {
                admin.listOffsets(start.keySet().stream().collect(Collectors.toMap(p -> p, p -> OffsetSpec.earliest()))).all()
                        .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                        .forEach((partition, info) -> oldest.merge(partition, info.offset(), Math::max));
            } catch (ExecutionException e) {
                // Kept as planned: a missing partition is the topic's deletion, which the replay's stream reports.
            }
            return new Standing(new ReplayPlan(topic, start, stop, oldest, logEnd, startsInDeleted, firstRecordMs, inputAheadMs, clientConfig), positions);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot read the offsets of replay group " + groupId + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * Records of the range before these committed offsets ({@link #positions}), or before the
     * oldest record left where retention deleted records the replay had not read: those are gaps,
     * accounted for, and a partition retention emptied has no record left whose processing would
     * move its committed offset (the replay waited for it for ever).
     */
    public long done(Map<Integer, Long> positions) {
        long done = 0;
        for (TopicPartition partition : start.keySet()) {
            long position = Math.max(positions.getOrDefault(partition.partition(), start.get(partition)), logStart.get(partition));
            done += Math.max(0, Math.min(position, stop.get(partition)) - start.get(partition));
        }
        return done;
    }

    private Admin admin() {
        return KafkaClients.admin(clientConfig);
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
