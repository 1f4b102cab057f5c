package io.explainstream.diff;

import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.scratch.ScratchFolder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One diff: joins the replay's explanations with the other side's by event id, compares each pair,
 * aggregates, and (when asked) publishes every comparison and the summary.
 */
public final class DiffRun {

    /**
     * What to compare and how.
     *
     * @param fromMs first record timestamp included ({@code Long.MIN_VALUE}: all)
     * @param toMs first record timestamp excluded ({@code Long.MAX_VALUE}: all)
     * @param groupBy metadata keys naming the aggregation groups; empty: the source model
     * @param listed how many of the most-changed events the result keeps
     * @param publish where to publish, or null
     * @param inputTopics the topics whose events the sides explained (their bounds on timestamps
     *     ahead of the clock say how far before {@code fromMs} the range's records may sit), each
     *     with the bound a replay recorded when it read it (0: none recorded), for a bound since narrowed
     * @param inRecordedRange the range lies within the one the replay recorded with its id: a side
     *     with no records in it had nothing to explain there (a quiet hour), and is compared as it
     *     is; otherwise such a side is taken for a mistyped id or range, and refused
     */
    public record Request(Side replay, Side against, long fromMs, long toMs, int topK, List<String> groupBy, int listed, Publish publish,
            Map<String, Long> inputTopics, boolean inRecordedRange) {
        public Request {
            groupBy = List.copyOf(groupBy);
            inputTopics = Map.copyOf(inputTopics);
            if (listed < 0) {
                throw new IllegalArgumentException("--list = " + listed + " must not be negative");
            }
            if (listed > MAX_LISTED) {
                // Each listed event's two explanations stay in memory for the report: 100,000 took 2.3 GB for a 96 MB page.
                throw new IllegalArgumentException("--list = " + listed + " is over " + MAX_LISTED + ", the most a report lists (each listed event's"
                        + " explanations are held for it); --publish writes every event's comparison to a topic");
            }
        }

        /** The range compared, as {@code [from, to)} in ISO-8601 instants ({@code …} for an open end), for a report to say what it covers. */
        public String range() {
            return "[" + (fromMs == Long.MIN_VALUE ? "…" : Instant.ofEpochMilli(fromMs).toString()) + ", "
                    + (toMs == Long.MAX_VALUE ? "…" : Instant.ofEpochMilli(toMs).toString()) + ")";
        }

        /** What the groups are made of: the metadata keys, or the source model where none is given. */
        public String grouping() {
            return groupBy.isEmpty() ? "source model" : "metadata " + String.join(", ", groupBy);
        }

        /** Names the run: in the published records and their summary's key. */
        public String diffId() {
            return replay.replayId() + "-vs-" + (against.isLive() ? against.topic() : against.replayId());
        }
    }

    /** The most events a report lists ({@code --list}): their explanations are held in memory until it is written. */
    public static final int MAX_LISTED = 1_000;

    /** Where and how the comparisons are published. */
    public record Publish(String topic, SubjectNameStrategy strategy, boolean autoRegister, int partitions, short replication) {}

    /**
     * The outcome: the aggregate, what the reader skipped, how long it took, how many records were
     * published, and the {@code --group-by} keys that no joined event's metadata has on either side
     * (a typo, {@code tennant}, put every event in group "-" and read as a run without --group-by).
     */
    public record Result(Request request, Instant started, DiffAggregate aggregate, SpillJoin.Counts counts, double seconds, long published,
            List<String> groupKeysInNoEvent) {
        public Result {
            groupKeysInNoEvent = List.copyOf(groupKeysInNoEvent);
        }
    }

    /** The spill folders' names under the spill root: diff-*. */
    static final String SPILL_PREFIX = "diff-";

    private DiffRun() {}

    /**
     * @param clientSettings Kafka client settings (bootstrap servers, security)
     * @param spillRoot where the run makes its spill folder ({@link ScratchFolder}: deleted at the end, also when the JVM is stopped)
     */
    public static Result run(Request request, Map<String, String> clientSettings, SchemaRegistryClient registry, Path spillRoot,
            SpillJoin.Progress progress) throws IOException, InterruptedException, java.util.concurrent.ExecutionException {
        Instant started = Instant.now();
        long t0 = System.nanoTime();
        EventComparison comparison = new EventComparison(request.topK(), request.groupBy());
        java.util.Set<String> keysInNoEvent = new java.util.LinkedHashSet<>(request.groupBy());
        DiffAggregate aggregate = new DiffAggregate(request.listed());
        ScratchFolder spill = ScratchFolder.create(spillRoot, SPILL_PREFIX);
        DiffPublisher publisher = request.publish() == null ? null
                : new DiffPublisher(clientSettings, registry, request.publish().strategy(), request.publish().autoRegister(), request.publish().topic(),
                        request.publish().partitions(), request.publish().replication(),
                        new DiffPublisher.RunFacts(request.diffId(), started, request.replay(), request.against(), request.topK()));
        try {
            SpillJoin.Counts counts = new SpillJoin(clientSettings, registry, spill.path(), request.fromMs(), request.toMs(), request.inputTopics()).run(request.replay(),
                    request.against(), request.inRecordedRange(), new SpillJoin.Pairs() {
                        @Override
                        public void joined(io.explainstream.schema.Explanation replay, io.explainstream.schema.Explanation against) {
                            if (!keysInNoEvent.isEmpty()) {
                                keysInNoEvent.removeIf(key -> replay.getMetadata().containsKey(key) || against.getMetadata().containsKey(key));
                            }
                            EventDiff diff = comparison.compare(replay, against);
                            aggregate.joined(diff, replay, against);
                            if (publisher != null) {
                                publisher.send(diff);
                            }
                        }

                        @Override
                        public void replayOnly(String eventId, String againstDeadLetter) {
                            aggregate.replayOnly(eventId, againstDeadLetter);
                        }

                        @Override
                        public void againstOnly(String eventId, String replayDeadLetter) {
                            aggregate.againstOnly(eventId, replayDeadLetter);
                        }

                        @Override
                        public void deadLetteredOnly(String eventId, String replayDeadLetter, String againstDeadLetter) {
                            aggregate.deadLetteredOnly(eventId, replayDeadLetter, againstDeadLetter);
                        }
                    }, progress);
            if (publisher != null) {
                publisher.sendSummary(aggregate, counts);
            }
            return new Result(request, started, aggregate, counts, (System.nanoTime() - t0) / 1e9, publisher == null ? 0 : publisher.sent(),
                    aggregate.joined() == 0 ? List.of() : List.copyOf(keysInNoEvent));
        } finally {
            if (publisher != null) {
                publisher.close();
            }
            spill.close();
        }
    }
}
