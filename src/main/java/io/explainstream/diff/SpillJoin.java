package io.explainstream.diff;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.WireFormat;
import io.explainstream.schema.Explanation;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.ingest.GroupFields;
import io.explainstream.stream.output.SourceTimestamp;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

/**
 * Joins two sides' explanations by event id in memory that does not grow with the events (a grace
 * hash join): each side is read to the end offsets seen at start (read_committed) and its records
 * spilled, raw, to bucket files by a hash of the event id; then one bucket pair at a time is
 * loaded and joined. A bucket pair larger than the budget is split again with another hash.
 * Records are decoded only when joined, so at most one bucket's explanations are in memory.
 *
 * <p>Each side's dead letters in the range (keyed, as the input was, by event id) are spilled
 * beside its explanations, their reasons only, so that an event explained on one side only is told
 * apart from one the other side dead-lettered: without them, 20 events a replay refused (a lower
 * prompt limit) read as 20 events it missed.
 */
public final class SpillJoin {

    /** Other replay ids named when the asked-for one has no records: a few, and how many more. */
    private static final int OTHER_IDS_SHOWN = 10;
    /** Distinct other ids remembered while reading, a bound on memory for a topic of many replays. */
    private static final int OTHER_IDS_KEPT = 10_000;

    /** Raw bytes of one bucket pair loaded at once, at most (with headroom for the maps, about twice this in heap). */
    static final long BUCKET_BYTES = 24L << 20;
    /** Events per first-level bucket, to choose how many buckets the spill writes. */
    static final long EVENTS_PER_BUCKET = 1000;
    static final int MAX_BUCKETS = 256;
    private static final int SPLIT = 16;
    private static final int MAX_LEVEL = 4;
    /** A read that gets no record for this long while behind its end offsets has lost the cluster. */
    private static final Duration STALLED = Duration.ofSeconds(60);

    /** Receives the joined events, those explained on one side only, and those explained on neither (dead-lettered). */
    public interface Pairs {
        void joined(Explanation replay, Explanation against);

        /** @param againstDeadLetter why the other side dead-lettered the event ("stage: reason"), or null when it did not */
        void replayOnly(String eventId, String againstDeadLetter);

        /** @param replayDeadLetter why the replay dead-lettered the event ("stage: reason"), or null when it did not */
        void againstOnly(String eventId, String replayDeadLetter);

        /** Explained on neither side, dead-lettered on one or both (the reason of a side that did not is null). */
        void deadLetteredOnly(String eventId, String replayDeadLetter, String againstDeadLetter);
    }

    /** Progress: phase ("read" records of the range, "join" events of the replay), done, total. */
    public interface Progress {
        /**
         * Called as the run reads and joins, at least every poll of the read; may end the run by
         * throwing (a {@link java.util.concurrent.CancellationException} for a stop asked for).
         */
        void update(String phase, long done, long total);
    }

    /**
     * What the reader skipped, and each side's dead letters.
     *
     * @param recordsRead records of both topics in range (after the time and replay filters)
     * @param notExplanations records whose value is not a Confluent-framed Explanation
     * @param firstNotExplanation where the first of them is and why, or null
     * @param duplicates records replaced by a later record of the same side and event id
     */
    public record Counts(long recordsRead, long notExplanations, String firstNotExplanation, long duplicates, DeadLetters replayDeadLetters,
            DeadLetters againstDeadLetters) {}

    /**
     * One side's dead letters in the range (after the time and replay filters).
     *
     * @param topic where they were looked for; null when the side's dead-letter topic is not known
     * @param unread why they were not read (no such topic, or not known), or null when they were
     * @param withEventId those with an event id (their original's event_id, else their key), joined with the other side by it
     * @param withoutEventId those with neither (a keyless input record that is not a JSON event), which no event id finds
     */
    public record DeadLetters(String topic, String unread, long withEventId, long withoutEventId) {

        public long total() {
            return withEventId + withoutEventId;
        }
    }

    private final Map<String, String> clientSettings;
    private final SchemaRegistryClient registry;
    private final ConfluentAvroDeserializer<Explanation> deserializer;
    private final Path spillDir;
    private final long fromMs;
    private final long toMs;
    private final Map<String, Long> inputTopics;
    private final long bucketBytes;
    private final Map<Integer, String> verdicts = new HashMap<>();
    private long notExplanations;
    private String firstNotExplanation;
    private long duplicates;
    private long recordsRead;
    private int splits;

    /**
     * @param spillDir an empty folder of this run's own; its files are deleted as they are joined
     * @param fromMs first record timestamp included ({@code Long.MIN_VALUE}: from the beginning)
     * @param toMs first record timestamp excluded ({@code Long.MAX_VALUE}: to the end)
     * @param inputTopics the topics whose events the sides explained: how far ahead they let events
     *     be stamped says how long before {@code fromMs} a record of the range may have been written
     *     ({@link WriteTimeLead}), each with the bound a replay recorded for it (0: none)
     */
    public SpillJoin(Map<String, String> clientSettings, SchemaRegistryClient registry, Path spillDir, long fromMs, long toMs,
            Map<String, Long> inputTopics) {
        this(clientSettings, registry, spillDir, fromMs, toMs, inputTopics, BUCKET_BYTES);
    }

    /** @param bucketBytes raw bytes of a bucket pair joined in memory; larger ones are split (tests make it small) */
    SpillJoin(Map<String, String> clientSettings, SchemaRegistryClient registry, Path spillDir, long fromMs, long toMs,
            Map<String, Long> inputTopics, long bucketBytes) {
        this.inputTopics = Map.copyOf(inputTopics);
        this.bucketBytes = bucketBytes;
        this.clientSettings = Map.copyOf(clientSettings);
        this.registry = registry;
        this.deserializer = ConfluentAvroDeserializer.specific(registry, Explanation.class);
        this.spillDir = spillDir;
        this.fromMs = fromMs;
        this.toMs = toMs;
    }

    /** Reads both sides, joins them, and reports to {@code pairs}; a side with nothing in range is refused. */
    public Counts run(Side replay, Side against, Pairs pairs, Progress progress) throws IOException, InterruptedException {
        return run(replay, against, false, pairs, progress);
    }

    /**
     * Reads both sides, joins them, and reports to {@code pairs}; throws {@link DiffInputException} for input it cannot diff.
     *
     * @param emptyIsQuiet a side with nothing in range had nothing to explain there (the range lies in
     *     the replay's recorded one), and is joined as it is; otherwise it is refused as a mistake
     */
    public Counts run(Side replay, Side against, boolean emptyIsQuiet, Pairs pairs, Progress progress) throws IOException, InterruptedException {
        Map<String, List<TopicPartition>> partitions = partitions(replay, against);
        long total = 0;
        Map<String, Map<TopicPartition, long[]>> ranges = new LinkedHashMap<>();
        Map<String, Long> leads = leads(partitions.keySet());
        for (String topic : partitions.keySet()) {
            ranges.put(topic, offsetRanges(partitions.get(topic), WriteTimeLead.readFrom(fromMs, leads.get(topic))));
        }
        // Every topic each side reads, once per side (two sides on one topic read it twice).
        List<String> readBySides = new ArrayList<>(List.of(replay.topic(), against.topic()));
        for (Side side : List.of(replay, against)) {
            if (unreadDeadLetters(side, partitions) == null) {
                readBySides.add(side.deadLetterTopic());
            }
        }
        for (String topic : readBySides) {
            total += ranges.get(topic).values().stream().mapToLong(r -> r[1] - r[0]).sum();
        }
        int buckets = (int) Math.max(1, Math.min(MAX_BUCKETS, total / 2 / EVENTS_PER_BUCKET));
        long[] read = {0};
        Spilled replaySpill = spill(replay, ranges, partitions, buckets, "replay", read, total, progress);
        Spilled againstSpill = spill(against, ranges, partitions, buckets, "against", read, total, progress);
        recordsRead = replaySpill.kept + againstSpill.kept;
        if (!emptyIsQuiet) {
            requireRecords(replay, replaySpill, "");
            requireRecords(against, againstSpill, "");
        } else if (replaySpill.holdsAny()) {
            // A quiet stretch is quiet on both sides: where the replay explained events, an other side
            // with none (a mistyped --against-replay, a replay of a topic the live service never read)
            // would report every event as "replay only".
            requireRecords(against, againstSpill, ", where " + replay.describe() + " has " + replaySpill.kept + " explanations and "
                    + (replaySpill.deadLettersWithEventId + replaySpill.deadLettersWithoutEventId) + " dead letters");
        }
        long[] joined = {0};
        for (int b = 0; b < buckets; b++) {
            joinBuckets(replaySpill.bucket(b), againstSpill.bucket(b), 1, pairs, () -> {
                joined[0]++;
                progress.update("join", joined[0], replaySpill.kept);
            });
        }
        progress.update("join", replaySpill.kept, replaySpill.kept);
        return new Counts(recordsRead, notExplanations, firstNotExplanation, duplicates, replaySpill.deadLetters(replay, partitions),
                againstSpill.deadLetters(against, partitions));
    }

    /** Why a side's dead letters cannot be read (its topic is not known, or does not exist), or null when they can. */
    private static String unreadDeadLetters(Side side, Map<String, List<TopicPartition>> partitions) {
        if (side.deadLetterTopic() == null) {
            return "the dead-letter topic of " + side.describe() + " is not known" + (side.unknownBecause() == null ? "" : ": " + side.unknownBecause());
        }
        return partitions.containsKey(side.deadLetterTopic()) ? null : "topic '" + side.deadLetterTopic() + "' does not exist";
    }

    /** How many bucket pairs were over the budget and split again. */
    int splits() {
        return splits;
    }

    /** The partitions of both sides' topics, and of their dead-letter topics where those exist, by topic. */
    private Map<String, List<TopicPartition>> partitions(Side replay, Side against) {
        Map<String, List<TopicPartition>> result = new LinkedHashMap<>();
        try (Admin admin = KafkaClients.admin(clientSettings)) {
            Set<String> topics = admin.listTopics().names().get(60, TimeUnit.SECONDS);
            for (Side side : List.of(replay, against)) {
                if (!topics.contains(side.topic())) {
                    throw new DiffInputException(side.option() + ": topic '" + side.topic() + "' does not exist");
                }
            }
            List<String> wanted = new ArrayList<>(List.of(replay.topic(), against.topic()));
            for (Side side : List.of(replay, against)) {
                if (side.deadLetterTopic() != null && topics.contains(side.deadLetterTopic())) {
                    wanted.add(side.deadLetterTopic());
                }
            }
            for (String topic : new LinkedHashSet<>(wanted)) {
                result.put(topic, admin.describeTopics(List.of(topic)).allTopicNames().get(60, TimeUnit.SECONDS).get(topic).partitions()
                        .stream().map(p -> new TopicPartition(topic, p.partition())).toList());
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot list the cluster's topics: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        return result;
    }

    /** Per topic read, how long before fromMs its records of the range may have been written. */
    private Map<String, Long> leads(Set<String> topics) {
        if (fromMs == Long.MIN_VALUE) {
            Map<String, Long> none = new HashMap<>();
            topics.forEach(t -> none.put(t, 0L));
            return none;
        }
        try (Admin admin = KafkaClients.admin(clientSettings)) {
            return WriteTimeLead.ofTopics(admin, topics, inputTopics);
        }
    }

    /**
     * Per partition, [first offset at startMs, end offset now]; {@code Long.MIN_VALUE}: from the
     * first offset. Records read before fromMs are dropped by their source time ({@link #inRange}).
     */
    private Map<TopicPartition, long[]> offsetRanges(List<TopicPartition> partitions, long startMs) {
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.readCommittedConsumer(clientSettings, "explainstream-diff", "earliest")) {
            // Assigned, so that the consumer keeps the last stable offsets it is sent (else it warns for each partition).
            consumer.assign(partitions);
            Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            Map<TopicPartition, OffsetAndTimestamp> atFrom = Map.of();
            if (startMs != Long.MIN_VALUE) {
                Map<TopicPartition, Long> query = new HashMap<>();
                partitions.forEach(p -> query.put(p, startMs));
                atFrom = consumer.offsetsForTimes(query);
            }
            Map<TopicPartition, long[]> ranges = new LinkedHashMap<>();
            for (TopicPartition p : partitions) {
                long start = begin.get(p);
                if (startMs != Long.MIN_VALUE) {
                    OffsetAndTimestamp found = atFrom.get(p);
                    start = found == null ? end.get(p) : found.offset();
                }
                ranges.put(p, new long[] {start, end.get(p)});
            }
            return ranges;
        }
    }

    /** One bucket of one side: its explanations and its dead letters' reasons, each a file of (event id, bytes). */
    private record Bucket(Path explanations, Path deadLetters) {}

    private static final class Spilled {
        final List<Path> files = new ArrayList<>();
        final List<Path> deadLetterFiles = new ArrayList<>();
        long kept;
        long explanationsElsewhere;
        final Set<String> otherReplayIds = new LinkedHashSet<>();
        long bad;
        long deadLettersWithEventId;
        long deadLettersWithoutEventId;

        Bucket bucket(int b) {
            return new Bucket(files.get(b), deadLetterFiles.get(b));
        }

        /** Whether the side holds anything in range: an explanation or a dead letter. */
        boolean holdsAny() {
            return kept > 0 || deadLettersWithEventId + deadLettersWithoutEventId > 0;
        }

        DeadLetters deadLetters(Side side, Map<String, List<TopicPartition>> partitions) {
            return new DeadLetters(side.deadLetterTopic(), unreadDeadLetters(side, partitions), deadLettersWithEventId, deadLettersWithoutEventId);
        }
    }

    /** Spills a side's explanations, then its dead letters where their topic exists. */
    private Spilled spill(Side side, Map<String, Map<TopicPartition, long[]>> ranges, Map<String, List<TopicPartition>> partitions, int buckets,
            String name, long[] read, long total, Progress progress) throws IOException {
        Spilled spilled = new Spilled();
        List<DataOutputStream> outs = open(spilled.files, name, buckets);
        try {
            read(side, ranges.get(side.topic()), read, total, progress, record -> take(side, record, spilled, outs, buckets));
        } finally {
            close(outs);
        }
        List<DataOutputStream> deadLetterOuts = open(spilled.deadLetterFiles, name + "-dlq", buckets);
        try {
            if (unreadDeadLetters(side, partitions) == null) {
                read(side, ranges.get(side.deadLetterTopic()), read, total, progress, record -> takeDeadLetter(side, record, spilled, deadLetterOuts, buckets));
            }
        } finally {
            close(deadLetterOuts);
        }
        return spilled;
    }

    private List<DataOutputStream> open(List<Path> files, String name, int buckets) throws IOException {
        List<DataOutputStream> outs = new ArrayList<>();
        for (int b = 0; b < buckets; b++) {
            Path file = spillDir.resolve(name + "-" + b + ".bin");
            files.add(file);
            outs.add(new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 8192)));
        }
        return outs;
    }

    private static void close(List<DataOutputStream> outs) throws IOException {
        for (DataOutputStream out : outs) {
            out.close();
        }
    }

    /** What is done with each record read. */
    private interface RecordTaker {
        void take(ConsumerRecord<byte[], byte[]> record) throws IOException;
    }

    /** Reads one topic's ranges to their ends (read_committed), handing each record in range to {@code taker}. */
    private void read(Side side, Map<TopicPartition, long[]> ranges, long[] read, long total, Progress progress, RecordTaker taker) throws IOException {
        long readBefore = read[0];
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.readCommittedConsumer(clientSettings, "explainstream-diff", "earliest")) {
            List<TopicPartition> pending = new ArrayList<>();
            consumer.assign(List.copyOf(ranges.keySet()));
            ranges.forEach((p, range) -> {
                consumer.seek(p, range[0]);
                if (range[0] < range[1]) {
                    pending.add(p);
                }
            });
            consumer.pause(ranges.keySet().stream().filter(p -> !pending.contains(p)).toList());
            long lastProgress = System.nanoTime();
            while (!pending.isEmpty()) {
                var records = consumer.poll(Duration.ofMillis(500));
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    long[] range = ranges.get(new TopicPartition(record.topic(), record.partition()));
                    if (record.offset() >= range[1]) {
                        continue;
                    }
                    taker.take(record);
                }
                // Every poll, records or none: progress may stop the run (Progress.update), and is said at most every few seconds.
                progress.update("read", readBefore + consumed(consumer, ranges), total);
                if (!records.isEmpty()) {
                    lastProgress = System.nanoTime();
                } else if (System.nanoTime() - lastProgress > STALLED.toNanos()) {
                    throw new IllegalStateException("reading " + pending.get(0).topic() + " (" + side.describe() + "): no record for "
                            + STALLED.toSeconds() + " s, still behind " + pending);
                }
                for (Iterator<TopicPartition> it = pending.iterator(); it.hasNext();) {
                    TopicPartition p = it.next();
                    if (consumer.position(p) >= ranges.get(p)[1]) {
                        consumer.pause(List.of(p));
                        it.remove();
                    }
                }
            }
            read[0] = readBefore + consumed(consumer, ranges);
            progress.update("read", read[0], total);
        }
    }

    /** Offsets of the ranges passed so far: records and the transaction markers between them, so that it reaches the total. */
    private static long consumed(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, long[]> ranges) {
        long done = 0;
        for (Map.Entry<TopicPartition, long[]> range : ranges.entrySet()) {
            long position = range.getValue()[0] < range.getValue()[1] ? consumer.position(range.getKey()) : range.getValue()[1];
            done += Math.min(position, range.getValue()[1]) - range.getValue()[0];
        }
        return done;
    }

    private void take(Side side, ConsumerRecord<byte[], byte[]> record, Spilled spilled, List<DataOutputStream> outs, int buckets) throws IOException {
        if (!inRange(record)) {
            return;
        }
        if (!ofSide(side, record, spilled)) {
            spilled.explanationsElsewhere++;
            return;
        }
        String problem = notAnExplanation(record);
        // The value's event_id, not the record key: a producer may key by conversation or user (for
        // their order), and the service keys its explanations like the input.
        String eventId = problem == null ? eventIdOf(record.value()) : null;
        if (eventId == null) {
            spilled.bad++;
            notExplanations++;
            if (firstNotExplanation == null) {
                firstNotExplanation = record.topic() + " partition " + record.partition() + " offset " + record.offset() + ": "
                        + (problem != null ? problem : "its event_id cannot be read");
            }
            return;
        }
        write(outs.get(bucket(eventId, 0, buckets)), eventId, record.value());
        spilled.kept++;
    }

    /**
     * Whether the record's input was in the time range: the input record's timestamp, which the
     * record keeps unless its topic refused it (then the header has it).
     */
    private boolean inRange(ConsumerRecord<byte[], byte[]> record) {
        long time = SourceTimestamp.of(record.headers(), record.timestamp());
        return time >= fromMs && time < toMs;
    }

    /**
     * Whether a record is the side's run's (its replay-id header, none for the live service's); the
     * first few other replay ids seen are kept, for the error that names the ones there.
     */
    private static boolean ofSide(Side side, ConsumerRecord<byte[], byte[]> record, Spilled spilled) {
        Header header = record.headers().lastHeader(io.explainstream.stream.replay.Replay.HEADER);
        String replayId = header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
        if (java.util.Objects.equals(replayId, side.replayId())) {
            return true;
        }
        if (replayId != null && spilled.otherReplayIds.size() < OTHER_IDS_KEPT) {
            spilled.otherReplayIds.add(replayId);
        }
        return false;
    }

    /**
     * A dead letter of the side's run in range: its reason ("stage: reason") spilled under its
     * event id ({@link #deadLetterEventId}).
     */
    private void takeDeadLetter(Side side, ConsumerRecord<byte[], byte[]> record, Spilled spilled, List<DataOutputStream> outs, int buckets)
            throws IOException {
        if (!inRange(record) || !ofSide(side, record, spilled)) {
            return;
        }
        String eventId = deadLetterEventId(record);
        if (eventId == null) {
            spilled.deadLettersWithoutEventId++;
            return;
        }
        io.explainstream.stream.output.DeadLetter letter = io.explainstream.stream.output.DeadLetter.of(record);
        write(outs.get(bucket(eventId, 0, buckets)), eventId, (java.util.Objects.requireNonNullElse(letter.stage(), "unknown stage") + ": "
                + java.util.Objects.requireNonNullElse(letter.reason(), "no reason given")).getBytes(StandardCharsets.UTF_8));
        spilled.deadLettersWithEventId++;
    }

    /**
     * An Avro Explanation's event_id, its first field in every version of the schema: a length
     * (zig-zag varint) and UTF-8 bytes after the wire format's header. Null when the bytes end first.
     */
    static String eventIdOf(byte[] value) {
        int position = WireFormat.HEADER_BYTES;
        long zigzag = 0;
        for (int shift = 0; ; shift += 7) {
            if (position >= value.length || shift > 63) {
                return null;
            }
            int b = value[position++] & 0xff;
            zigzag |= (long) (b & 0x7f) << shift;
            if (b < 0x80) {
                break;
            }
        }
        long length = (zigzag >>> 1) ^ -(zigzag & 1);
        if (length < 0 || length > value.length - position) {
            return null;
        }
        return new String(value, position, (int) length, StandardCharsets.UTF_8);
    }

    /**
     * A dead letter's event id: the event_id of its original when that is a JSON object with one
     * (the key is the input's, which a producer may set to a conversation or a user), else the key;
     * null when it has neither.
     */
    static String deadLetterEventId(ConsumerRecord<byte[], byte[]> record) {
        byte[] original = record.value();
        String eventId = original != null && original.length > 0 && original[0] != WireFormat.MAGIC_BYTE ? GroupFields.eventId(original) : null;
        if (eventId != null) {
            return eventId;
        }
        return record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
    }

    /** Why a record's value is not a Confluent-framed Explanation, or null when it is one; the registry is asked once per schema id. */
    private String notAnExplanation(ConsumerRecord<byte[], byte[]> record) {
        byte[] value = record.value();
        if (value == null) {
            return "a tombstone (null value)";
        }
        if (value.length < WireFormat.HEADER_BYTES || value[0] != WireFormat.MAGIC_BYTE) {
            return "not in Confluent's wire format (first byte " + (value.length == 0 ? "none" : Integer.toString(value[0] & 0xff)) + ", not 0)";
        }
        int id = WireFormat.schemaId(record.topic(), value);
        return verdicts.computeIfAbsent(id, k -> {
            try {
                String name = registry.schemaById(k).getFullName();
                return name.equals(Explanation.getClassSchema().getFullName()) ? "" : "schema id " + k + " is " + name + ", not an Explanation";
            } catch (RuntimeException e) {
                return "schema id " + k + " cannot be read from the registry: " + e.getMessage();
            }
        }).transform(v -> v.isEmpty() ? null : v);
    }

    /**
     * A side with nothing in range, neither explanations nor dead letters, is a mistake (a replay id
     * mistyped, another range).
     *
     * @param besides what the other side holds there, said after the range, or empty
     */
    private void requireRecords(Side side, Spilled spilled, String besides) {
        if (spilled.holdsAny()) {
            return;
        }
        String range = fromMs == Long.MIN_VALUE && toMs == Long.MAX_VALUE ? "" : " in the time range";
        if (spilled.bad > 0) {
            throw new DiffInputException(side.option() + ": " + side.describe() + ": " + spilled.bad + " records" + range
                    + ", none an Explanation (first: " + firstNotExplanation + ")");
        }
        String others = spilled.otherReplayIds.isEmpty() ? "" : "; replay ids there: " + otherIds(spilled.otherReplayIds, side.replayId());
        throw new DiffInputException(side.option() + ": no records of " + side.describe() + range + besides + " (" + spilled.explanationsElsewhere
                + " records of other " + (side.isLive() ? "replays" : "replays or the live service") + others + ")");
    }

    /**
     * The other replay ids, those that differ from the one asked for only in case first (a user
     * who typed "casea" for "CaseA"), then in the order read; ten at most, and how many more.
     */
    static String otherIds(Set<String> ids, String asked) {
        Set<String> ordered = new LinkedHashSet<>();
        ids.stream().filter(id -> asked != null && id.equalsIgnoreCase(asked)).forEach(ordered::add);
        ordered.addAll(ids);
        String shown = String.join(", ", ordered.stream().limit(OTHER_IDS_SHOWN).toList());
        int more = ordered.size() - OTHER_IDS_SHOWN;
        return more <= 0 ? shown : shown + " and " + (ids.size() >= OTHER_IDS_KEPT ? "at least " : "") + more + " more";
    }

    private static void write(DataOutputStream out, String eventId, byte[] value) throws IOException {
        byte[] key = eventId.getBytes(StandardCharsets.UTF_8);
        out.writeInt(key.length);
        out.write(key);
        out.writeInt(value.length);
        out.write(value);
    }

    /** Bucket of an event id at a split level: each level mixes the hash with another seed, so a split spreads what the level above gathered. */
    static int bucket(String eventId, int level, int buckets) {
        long h = eventId.hashCode() ^ (0x9E3779B97F4A7C15L * (level + 1));
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        return (int) Math.floorMod(h, (long) buckets);
    }

    private void joinBuckets(Bucket replayBucket, Bucket againstBucket, int level, Pairs pairs, Runnable onReplayEvent) throws IOException {
        if (size(replayBucket) + size(againstBucket) > bucketBytes && level < MAX_LEVEL) {
            splits++;
            List<Bucket> replayParts = split(replayBucket, level);
            List<Bucket> againstParts = split(againstBucket, level);
            for (int i = 0; i < SPLIT; i++) {
                joinBuckets(replayParts.get(i), againstParts.get(i), level + 1, pairs, onReplayEvent);
            }
            return;
        }
        Path replayFile = replayBucket.explanations();
        Path againstFile = againstBucket.explanations();
        Map<String, byte[]> newer = load(replayFile);
        Map<String, byte[]> older = load(againstFile);
        Map<String, String> replayDeadLetters = reasons(replayBucket.deadLetters());
        Map<String, String> againstDeadLetters = reasons(againstBucket.deadLetters());
        for (Map.Entry<String, byte[]> entry : newer.entrySet()) {
            byte[] other = older.remove(entry.getKey());
            report(entry.getKey(), decode(replayFile, entry.getValue()), other == null ? null : decode(againstFile, other),
                    replayDeadLetters.remove(entry.getKey()), againstDeadLetters.remove(entry.getKey()), pairs);
            onReplayEvent.run();
        }
        for (Map.Entry<String, byte[]> entry : older.entrySet()) {
            report(entry.getKey(), null, decode(againstFile, entry.getValue()), replayDeadLetters.remove(entry.getKey()),
                    againstDeadLetters.remove(entry.getKey()), pairs);
        }
        // What is left was explained on neither side.
        for (Map.Entry<String, String> entry : replayDeadLetters.entrySet()) {
            report(entry.getKey(), null, null, entry.getValue(), againstDeadLetters.remove(entry.getKey()), pairs);
        }
        for (Map.Entry<String, String> entry : againstDeadLetters.entrySet()) {
            report(entry.getKey(), null, null, null, entry.getValue(), pairs);
        }
        for (Path file : List.of(replayFile, againstFile, replayBucket.deadLetters(), againstBucket.deadLetters())) {
            Files.delete(file);
        }
    }

    /**
     * One event's outcome: its explanation on each side (null: none, or one that does not decode)
     * and each side's dead-letter reason (null: none). An event explained on a side is not
     * dead-lettered there, whatever an earlier attempt wrote, so a reason counts only on a side
     * without an explanation.
     */
    private static void report(String eventId, Explanation replay, Explanation against, String replayDeadLetter, String againstDeadLetter,
            Pairs pairs) {
        if (replay != null && against != null) {
            pairs.joined(replay, against);
        } else if (replay != null) {
            pairs.replayOnly(eventId, againstDeadLetter);
        } else if (against != null) {
            pairs.againstOnly(eventId, replayDeadLetter);
        } else if (replayDeadLetter != null || againstDeadLetter != null) {
            pairs.deadLetteredOnly(eventId, replayDeadLetter, againstDeadLetter);
        }
    }

    private static long size(Bucket bucket) throws IOException {
        return Files.size(bucket.explanations()) + Files.size(bucket.deadLetters());
    }

    /**
     * A bucket's dead-letter reasons by event id; a later dead letter of an event id replaces an
     * earlier one and is counted as a duplicate, as a later explanation is (two events logged with
     * one empty id were one dead letter and no duplicate).
     */
    private Map<String, String> reasons(Path file) throws IOException {
        Map<String, String> reasons = new LinkedHashMap<>();
        forEach(file, (eventId, value) -> {
            if (reasons.remove(eventId) != null) {
                duplicates++;
            }
            reasons.put(eventId, new String(value, StandardCharsets.UTF_8));
        });
        return reasons;
    }

    private Explanation decode(Path file, byte[] value) {
        try {
            return deserializer.deserialize(file.getFileName().toString(), value);
        } catch (RuntimeException e) {
            notExplanations++;
            if (firstNotExplanation == null) {
                firstNotExplanation = "a record that does not decode as an Explanation: " + e.getMessage();
            }
            return null;
        }
    }

    private List<Bucket> split(Bucket bucket, int level) throws IOException {
        List<Path> explanations = split(bucket.explanations(), level);
        List<Path> deadLetters = split(bucket.deadLetters(), level);
        List<Bucket> parts = new ArrayList<>();
        for (int i = 0; i < SPLIT; i++) {
            parts.add(new Bucket(explanations.get(i), deadLetters.get(i)));
        }
        return parts;
    }

    private List<Path> split(Path file, int level) throws IOException {
        List<Path> parts = new ArrayList<>();
        List<DataOutputStream> outs = new ArrayList<>();
        try {
            for (int i = 0; i < SPLIT; i++) {
                Path part = file.resolveSibling(file.getFileName() + "." + i);
                parts.add(part);
                outs.add(new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(part), 8192)));
            }
            forEach(file, (eventId, value) -> write(outs.get(bucket(eventId, level, SPLIT)), eventId, value));
        } finally {
            for (DataOutputStream out : outs) {
                out.close();
            }
        }
        Files.delete(file);
        return parts;
    }

    /** A side's bucket as a map; a later record of an event id replaces an earlier one (counted as a duplicate). */
    private Map<String, byte[]> load(Path file) throws IOException {
        Map<String, byte[]> records = new LinkedHashMap<>();
        forEach(file, (eventId, value) -> {
            if (records.remove(eventId) != null) {
                duplicates++;
            }
            records.put(eventId, value);
        });
        return records;
    }

    private interface RecordConsumer {
        void accept(String eventId, byte[] value) throws IOException;
    }

    private static void forEach(Path file, RecordConsumer consumer) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 65536))) {
            while (true) {
                int keyLength;
                try {
                    keyLength = in.readInt();
                } catch (EOFException end) {
                    return;
                }
                byte[] key = in.readNBytes(keyLength);
                byte[] value = in.readNBytes(in.readInt());
                consumer.accept(new String(key, StandardCharsets.UTF_8), value);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
