package io.explainstream.cli;

import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.diff.DiffRun;
import io.explainstream.diff.Side;
import io.explainstream.diff.SpillJoin;
import io.explainstream.render.TokenText;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import io.explainstream.stream.config.TimeSpec;
import io.explainstream.stream.replay.ReplayRecord;
import io.explainstream.stream.replay.ReplayTerms;
import io.explainstream.stream.service.ReplayRunner;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Compares a replay's explanations with the live ones (or another replay's), per event and in aggregate. */
@Command(name = "diff", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Compare a replay's explanations with the live ones (or another replay's), per event and in aggregate.",
            "Joined by event id: top-k overlap, rank correlation, segment share changes, delta and log-prob changes, per event and as",
            "distributions. Reads read_committed; its memory does not grow with the number of events (both sides are spilled to disk by",
            "event id and joined a bucket at a time)."})
final class DiffCommand implements Callable<Integer> {

    /** Output formats: lower case, as typed on the command line. */
    enum Format { text, json, html }

    static final String DEFAULT_REPLAY_TOPIC = io.explainstream.stream.service.ReplayRunner.DEFAULT_OUTPUT_TOPIC;

    /** How long a stop signal waits for the diff to end: a read poll, or the join step in progress. */
    private static final java.time.Duration STOP_WAIT = java.time.Duration.ofSeconds(30);

    @Option(names = "--replay-id", required = true, description = "The replay to compare (its explanations carry this replay id).")
    private String replayId;

    @Mixin
    private ClusterOptions cluster;

    @Option(names = "--replay-topic", description = "Where the replay wrote (default: " + DEFAULT_REPLAY_TOPIC + ").")
    private String replayTopic;

    @Option(names = "--against", paramLabel = "TOPIC", description = "Topic of the explanations to compare against (default: output.topic, the live one).")
    private String against;

    @Option(names = "--against-replay", paramLabel = "ID2", description = "Compare against another replay's explanations (on the topic it recorded it wrote into, else --replay-topic, unless --against is given).")
    private String againstReplay;

    @Option(names = "--from", description = "First record time included: ISO-8601, a date, now, or -3d, -12h (default: the beginning).")
    private String from;

    @Option(names = "--to", description = "First record time excluded, same forms (default: the end).")
    private String to;

    @Option(names = "--format", defaultValue = "text", description = "text, json or html. Default: ${DEFAULT-VALUE}.")
    private Format format;

    @Option(names = "--out", paramLabel = "FILE", description = "Write the report here instead of standard output; - is standard output.")
    private Path outFile;

    @Option(names = "--publish", description = "Also write one Avro ExplanationDiff per event and a summary record to diff.topic.")
    private boolean publish;

    @Option(names = "--top-k", defaultValue = "5", description = "k of the top-k token overlap. Default: ${DEFAULT-VALUE}.")
    private int topK;

    @Option(names = "--group-by", paramLabel = "KEYS", description = "Comma-separated metadata keys to aggregate by, such as application or metadata.application (default: the metadata keys of"
            + " stats.group.by of the configuration, else the model).")
    private String groupBy;

    @Option(names = "--list", defaultValue = "10", description = "How many of the most-changed events to show. Default: ${DEFAULT-VALUE}.")
    private int listed;



    @Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    /** The choices of one diff, as the options give them; {@code replay --diff} fills them from its own. */
    record Choice(String replayId, String replayTopic, String against, String againstReplay, String from, String to, int topK, String groupBy, int listed,
            boolean publish, Format format, Path outFile, String outOption) {}

    @Override
    public Integer call() throws Exception {
        ServiceConfig config = cluster.config("a diff reads an existing cluster");
        io.explainstream.stream.replay.Replay.requireId("--replay-id", replayId);
        if (againstReplay != null) {
            io.explainstream.stream.replay.Replay.requireId("--against-replay", againstReplay);
        }
        if (OutputFile.isFile(outFile)) {
            OutputFile.requireWritable("--out", outFile);
        }
        PrintWriter err = spec.commandLine().getErr();
        // Stopped (SIGTERM, Ctrl-C), a diff ends at its next read or join step, its scratch folder deleted, and says so: exit 3, as replay and send.
        try (StopSignal stop = StopSignal.install("explainstream-diff-stop", STOP_WAIT)) {
            try {
                return stop.exit(run(config, new Choice(replayId, replayTopic, against, againstReplay, from, to, topK, groupBy, listed, publish, format,
                        outFile, "--out"), spec.commandLine().getOut(), err, stop::requested));
            } catch (org.apache.kafka.common.config.ConfigException e) {
                // A client setting Kafka refuses (an empty or malformed bootstrap.servers): the user's to fix, and Kafka's message names it.
                throw new IllegalArgumentException(e.getMessage(), e);
            } catch (Exception e) {
                if (!stop.requested()) {
                    throw e;
                }
                // Whatever the diff was doing when the signal came failed because of it.
                err.printf("diff %s stopped: no report written%s%n", TokenText.visible(replayId),
                        publish ? "; any records already published stay on " + config.get(Setting.DIFF_TOPIC) : "");
                err.flush();
                return stop.exit(3);
            }
        }
    }

    /**
     * Runs one diff and writes its report, unless {@code stopRequested} says to stop first: then it
     * ends with a {@link java.util.concurrent.CancellationException}, its scratch folder deleted and
     * no report written. Returns the exit status.
     */
    static int run(ServiceConfig config, Choice given, PrintWriter out, PrintWriter err, java.util.function.BooleanSupplier stopRequested) throws Exception {
        // The options first (a typo is said without waiting for a broker), then the cluster.
        Instant now = Instant.now();
        DiffRun.Request asGiven = request(config, given, given.against() != null, now, Map.of());
        ClusterCheck.cluster(config);
        Optional<ReplayRecord> replayRecord = ReplayRunner.recorded(config, given.replayId());
        Optional<ReplayRecord> againstRecord = given.againstReplay() == null ? Optional.empty() : ReplayRunner.recorded(config, given.againstReplay());
        Optional<ReplayTerms> recorded = replayRecord.map(ReplayRecord::terms);
        // Before the recorded range fills in a bound not given: --from alone past the range's end is outside it, not after "its" --to.
        recorded.ifPresent(terms -> requireOverlap(given.replayId(), asGiven, terms));
        Choice choice = withAgainstReplayTopic(withRecordedRange(config, given, recorded, now, err), againstRecord.map(ReplayRecord::terms), err);
        DiffRun.Request asked = request(config, choice, given.against() != null, now, inputTopics(config, replayRecord, againstRecord));
        DiffRun.Request request = recorded.isPresent() ? withinReplayRange(asked, given.replayId(), recorded.get(), err) : asked;
        Optional<ReplayTerms> againstTerms = againstRecord.map(ReplayRecord::terms);
        request = withinAgainstReplayRange(request, againstTerms, err);
        sayOtherInputTopics(config, recorded, againstTerms, request, err);
        List<String> unfinished = unfinished(given, replayRecord, againstRecord, err);
        if (recorded.isPresent() && recorded.get().outputTopic().equals(request.replay().topic())) {
            // The range is now inside the replay's, on the topic it wrote: a side with nothing in it
            // is a quiet stretch, not a typo (a --replay-topic it never wrote still is).
            request = new DiffRun.Request(request.replay(), request.against(), request.fromMs(), request.toMs(), request.topK(), request.groupBy(),
                    request.listed(), request.publish(), request.inputTopics(), true);
        }
        Map<String, String> clients = config.clientSettings();
        String stateDir = config.streamsProperties().getProperty("state.dir");
        Path spillRoot = stateDir != null ? Path.of(stateDir) : Path.of(System.getProperty("java.io.tmpdir"), "explainstream-diff");
        DiffProgress progress = new DiffProgress(err, System.console() != null, stopRequested);
        DiffRun.Result result = DiffRun.run(request, clients, new SchemaRegistryClient(config.registryConfig()), spillRoot, progress);
        progress.finish();
        for (String key : result.groupKeysInNoEvent()) {
            err.println(keyInNoEvent(key, result.aggregate().joined()));
        }
        String report = switch (choice.format()) {
            case text -> DiffReport.text(result, unfinished);
            case json -> DiffReport.json(result, unfinished);
            case html -> DiffReport.html(result, unfinished);
        };
        writeReport(choice, report, out);
        if (OutputFile.isFile(choice.outFile())) {
            err.printf(Locale.ROOT, "diff %s: %d joined, %d replay only, %d %s only; report in %s%n", request.diffId(), result.aggregate().joined(),
                    result.aggregate().replayOnly(), result.aggregate().againstOnly(), request.against().isLive() ? "live" : request.against().replayId(),
                    choice.outFile());
        }
        if (request.publish() != null) {
            err.printf(Locale.ROOT, "diff %s: published %d records to %s%n", request.diffId(), result.published(), request.publish().topic());
        }
        out.flush();
        err.flush();
        return 0;
    }

    /**
     * The replay ids of the two sides whose records say they have not finished (running, or
     * stopped before the end of their range), each said on {@code err}: the events such a replay
     * has not reached yet count as one-sided, and the measures cover only those it explained. A
     * hostile test read "41 joined · 59 live only" of a replay still running as a complete diff.
     */
    static List<String> unfinished(Choice given, Optional<ReplayRecord> replay, Optional<ReplayRecord> against, PrintWriter err) {
        List<String> unfinished = new ArrayList<>();
        if (replay.filter(r -> r.finish() == ReplayRecord.Finish.NOT_YET).isPresent()) {
            unfinished.add(given.replayId());
        }
        if (against.filter(r -> r.finish() == ReplayRecord.Finish.NOT_YET).isPresent()) {
            unfinished.add(given.againstReplay());
        }
        unfinished.forEach(id -> err.println("diff: " + DiffReport.unfinishedLine(id)));
        return unfinished;
    }

    /**
     * The replay's own range and output topic where the options leave them out, as the replay
     * recorded them with its id (under this configuration's application.id): the live topic holds
     * explanations of every time, and those outside the replay's range would all be "live only".
     * Said on {@code err}, as is comparing every record time when nothing is recorded.
     */
    static Choice withRecordedRange(ServiceConfig config, Choice choice, Optional<ReplayTerms> recorded, Instant now, PrintWriter err) {
        if (choice.from() != null && choice.to() != null && choice.replayTopic() != null) {
            return choice;
        }
        if (recorded.isEmpty()) {
            if (choice.from() == null && choice.to() == null) {
                // A replay run with --set application.id=... (the demo's) records its range under that id.
                err.printf("diff: replay %s has no recorded range under %s = %s; comparing every record time (--from and --to narrow it;"
                        + " a replay run under another application.id: give it with --config or EXPLAINSTREAM_APPLICATION_ID)%n",
                        TokenText.visible(choice.replayId()), "application.id", TokenText.visible(ReplayRunner.group(config)));
            }
            return choice;
        }
        ReplayTerms terms = recorded.get();
        // Given bounds as the instants they stand for ("-1h" is said as the time it was an hour ago).
        String from = choice.from() != null ? TimeSpec.parseRecordTime("--from", choice.from(), now).toString() : Instant.ofEpochMilli(terms.fromMs()).toString();
        String to = choice.to() != null ? TimeSpec.parseRecordTime("--to", choice.to(), now).toString() : Instant.ofEpochMilli(terms.toMs()).toString();
        String replayTopic = choice.replayTopic() != null ? choice.replayTopic() : terms.outputTopic();
        err.printf("diff: replay %s explained [%s, %s) of %s into %s; comparing [%s, %s) of %s%n", TokenText.visible(choice.replayId()),
                Instant.ofEpochMilli(terms.fromMs()), Instant.ofEpochMilli(terms.toMs()), TokenText.visible(terms.inputTopic()),
                TokenText.visible(terms.outputTopic()), from, to, TokenText.visible(replayTopic));
        return new Choice(choice.replayId(), replayTopic, choice.against(), choice.againstReplay(), from, to, choice.topK(), choice.groupBy(),
                choice.listed(), choice.publish(), choice.format(), choice.outFile(), choice.outOption());
    }

    /**
     * The topic the other replay recorded it wrote into, where --against-replay is given without
     * --against: two replays may have written to different topics. Said on {@code err}.
     */
    static Choice withAgainstReplayTopic(Choice choice, Optional<ReplayTerms> recorded, PrintWriter err) {
        if (choice.againstReplay() == null || choice.against() != null || recorded.isEmpty()) {
            return choice;
        }
        String topic = recorded.get().outputTopic();
        err.printf("diff: replay %s wrote into %s%n", TokenText.visible(choice.againstReplay()), TokenText.visible(topic));
        return new Choice(choice.replayId(), choice.replayTopic(), topic, choice.againstReplay(), choice.from(), choice.to(), choice.topK(),
                choice.groupBy(), choice.listed(), choice.publish(), choice.format(), choice.outFile(), choice.outOption());
    }

    /** The report to the file the choice names, else (none, or {@code -}) to {@code out}. */
    static void writeReport(Choice choice, String report, PrintWriter out) {
        if (OutputFile.isFile(choice.outFile())) {
            OutputFile.write(choice.outOption(), choice.outFile(), report);
        } else {
            out.print(report);
        }
    }

    /**
     * The topics whose events the sides explained: the configuration's input.topic (the live
     * service's), and the one each replay recorded (a replay may have read another), with the bound
     * ahead the replay recorded for it (0 where none is recorded).
     */
    static Map<String, Long> inputTopics(ServiceConfig config, Optional<ReplayRecord> replay, Optional<ReplayRecord> against) {
        Map<String, Long> topics = new LinkedHashMap<>(Map.of(config.get(Setting.INPUT_TOPIC), 0L));
        for (Optional<ReplayRecord> side : List.of(replay, against)) {
            side.ifPresent(record -> topics.merge(record.terms().inputTopic(), record.inputAheadMs().orElse(0L), Math::max));
        }
        return topics;
    }

    /**
     * A time range that misses the replay's own holds none of its explanations (each keeps its
     * event's time, and diff selects by it): said as such, rather than as a replay with no records.
     */
    static void requireOverlap(String replayId, DiffRun.Request request, ReplayTerms terms) {
        if (request.toMs() <= terms.fromMs() || request.fromMs() >= terms.toMs()) {
            throw new IllegalArgumentException("--from/--to: [" + bound(request.fromMs()) + ", " + bound(request.toMs()) + ") is outside replay "
                    + TokenText.visible(replayId) + "'s range [" + Instant.ofEpochMilli(terms.fromMs()) + ", " + Instant.ofEpochMilli(terms.toMs())
                    + "), so it holds none of its explanations");
        }
    }

    /**
     * The part of the range inside the replay's own: outside it every live event would count as
     * "live only" (missed or refused), though the replay never covered it. Said on {@code err}.
     */
    static DiffRun.Request withinReplayRange(DiffRun.Request request, String replayId, ReplayTerms terms, PrintWriter err) {
        if (request.fromMs() >= terms.fromMs() && request.toMs() <= terms.toMs()) {
            return request;
        }
        long fromMs = Math.max(request.fromMs(), terms.fromMs());
        long toMs = Math.min(request.toMs(), terms.toMs());
        err.printf("diff: [%s, %s) reaches outside replay %s's range; comparing [%s, %s)%n", bound(request.fromMs()), bound(request.toMs()),
                TokenText.visible(replayId), Instant.ofEpochMilli(fromMs), Instant.ofEpochMilli(toMs));
        return new DiffRun.Request(request.replay(), request.against(), fromMs, toMs, request.topK(), request.groupBy(), request.listed(),
                request.publish(), request.inputTopics(), request.inRecordedRange());
    }

    /**
     * The part of the range inside the other replay's own too, where {@code --against-replay} reads
     * the topic it recorded it wrote into: the replay's events outside that range would all count
     * as "replay only", though the other replay never covered them. Said on {@code err}; a range
     * that misses it is refused.
     */
    static DiffRun.Request withinAgainstReplayRange(DiffRun.Request request, Optional<ReplayTerms> against, PrintWriter err) {
        if (against.isEmpty() || request.against().isLive() || !against.get().outputTopic().equals(request.against().topic())) {
            return request;
        }
        requireOverlap(request.against().replayId(), request, against.get());
        return withinReplayRange(request, request.against().replayId(), against.get(), err);
    }

    /**
     * Says where the two sides explained the events of different input topics: the same event
     * read from two topics is joined by its event_id, but a replay of a topic the live service
     * never read has none of its events on the live side.
     */
    static void sayOtherInputTopics(ServiceConfig config, Optional<ReplayTerms> replay, Optional<ReplayTerms> against, DiffRun.Request request,
            PrintWriter err) {
        if (replay.isEmpty()) {
            return;
        }
        String replayInput = replay.get().inputTopic();
        String againstInput = request.against().isLive() ? config.get(Setting.INPUT_TOPIC) : against.map(ReplayTerms::inputTopic).orElse(null);
        if (againstInput != null && !againstInput.equals(replayInput)) {
            err.printf("diff: replay %s read %s; %s %s%n", TokenText.visible(request.replay().replayId()), TokenText.visible(replayInput),
                    request.against().isLive() ? "the live service reads (input.topic)" : "replay " + TokenText.visible(request.against().replayId()) + " read",
                    TokenText.visible(againstInput));
        }
    }

    private static String bound(long ms) {
        return ms == Long.MIN_VALUE || ms == Long.MAX_VALUE ? "…" : Instant.ofEpochMilli(ms).toString();
    }

    /** @param againstGiven whether --against was given (not filled in from the other replay's record): errors about the topic name it */
    static DiffRun.Request request(ServiceConfig config, Choice choice, boolean againstGiven, Instant now, Map<String, Long> inputTopics) {
        if (choice.topK() < 1) {
            throw new IllegalArgumentException("--top-k = " + choice.topK() + " must be at least 1");
        }
        String replays = choice.replayTopic() != null ? choice.replayTopic() : DEFAULT_REPLAY_TOPIC;
        Side replay = new Side("--replay-id", replays, choice.replayId(), ReplayRunner.deadLetterTopic(replays));
        Side against;
        if (choice.againstReplay() != null) {
            String topic = choice.against() != null ? choice.against() : replays;
            against = new Side(againstGiven ? "--against" : "--against-replay", topic, choice.againstReplay(),
                    ReplayRunner.deadLetterTopic(topic));
        } else {
            // The live service's dead letters are on dlq.topic when the topic compared is its output.topic.
            String output = config.get(Setting.OUTPUT_TOPIC);
            String topic = choice.against() != null ? choice.against() : output;
            against = topic.equals(output) ? new Side("--against", topic, null, config.get(Setting.DLQ_TOPIC))
                    : new Side("--against", topic, null, null, "the configuration's dlq.topic goes with its output.topic, " + output
                            + ", not this topic (give the configuration the live service ran with)");
        }
        if (against.topic().equals(replay.topic()) && java.util.Objects.equals(against.replayId(), replay.replayId())) {
            throw new IllegalArgumentException("--against-replay = '" + choice.againstReplay() + "' is the replay itself");
        }
        long fromMs = choice.from() == null ? Long.MIN_VALUE : TimeSpec.parseRecordTime("--from", choice.from(), now).toEpochMilli();
        long toMs = choice.to() == null ? Long.MAX_VALUE : TimeSpec.parseRecordTime("--to", choice.to(), now).toEpochMilli();
        if (fromMs >= toMs) {
            throw new IllegalArgumentException("--from must be before --to (got " + choice.from() + " and " + choice.to() + ")");
        }
        List<String> groupBy = choice.groupBy() != null ? groupKeys("--group-by", choice.groupBy()) : metadataKeysOfStatsGroupBy(config);
        DiffRun.Publish publish = choice.publish() ? new DiffRun.Publish(config.get(Setting.DIFF_TOPIC), config.subjectStrategy(),
                config.bool(Setting.AUTO_REGISTER), config.integer(Setting.TOPICS_PARTITIONS), (short) config.integer(Setting.TOPICS_REPLICATION)) : null;
        return new DiffRun.Request(replay, against, fromMs, toMs, choice.topK(), groupBy, choice.listed(), publish, inputTopics, false);
    }

    /**
     * The metadata keys among stats.group.by's fields ({@code metadata.application} is the key
     * {@code application}): a diff groups events by metadata, and its fields name the metadata
     * keys with their prefix, where taking them whole matched no key and put every event in "-".
     */
    static List<String> metadataKeysOfStatsGroupBy(ServiceConfig config) {
        return io.explainstream.stats.GroupBy.parse(Setting.STATS_GROUP_BY.key(), config.get(Setting.STATS_GROUP_BY)).fields().stream()
                .filter(field -> field.startsWith(io.explainstream.stats.GroupBy.METADATA_PREFIX)).map(DiffCommand::metadataKey).toList();
    }

    /** A metadata key as --group-by and stats.group.by name it: {@code metadata.application} is the key {@code application}. */
    private static String metadataKey(String field) {
        String prefix = io.explainstream.stats.GroupBy.METADATA_PREFIX;
        return field.startsWith(prefix) && field.length() > prefix.length() ? field.substring(prefix.length()) : field;
    }

    /**
     * Comma-separated metadata keys, bare ({@code application}) or as stats.group.by names them
     * ({@code metadata.application}: taken whole it matched no key, a hostile test); none (an empty
     * value) groups by nothing, but an empty key or one named twice is a typo.
     */
    static List<String> groupKeys(String option, String text) {
        if (text.isBlank()) {
            return List.of();
        }
        List<String> keys = Arrays.stream(text.split(",", -1)).map(String::trim).map(DiffCommand::metadataKey).toList();
        if (keys.contains("")) {
            throw new IllegalArgumentException(option + " = '" + text + "' has an empty key: give comma-separated metadata keys, such as tenant,app");
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String key : keys) {
            if (!seen.add(key)) {
                throw new IllegalArgumentException(option + " = '" + text + "' names the key '" + key + "' twice");
            }
        }
        return keys;
    }

    /**
     * The warning for a --group-by key that no joined event's metadata has. A key that names a
     * field of the explanation (source_model, copied from stats.group.by) says what diff does with
     * it: the field is not read, and without keys it groups by the source model (a hostile test).
     */
    static String keyInNoEvent(String key, long joined) {
        String warning = String.format(java.util.Locale.ROOT, "diff: --group-by key '%s' is in the metadata of none of the %d joined events: they are all"
                + " in group '-' for it", TokenText.visible(key), joined);
        if (io.explainstream.schema.Explanation.getClassSchema().getField(key) == null) {
            return warning;
        }
        return warning + " ('" + key + "' is also a field of the explanation, which --group-by does not read: it takes metadata keys, and with"
                + " none, --group-by '', groups by the source model)";
    }

    /** Progress on the terminal: records read of the range, then events joined of the replay's; redrawn on a console, a line every 5 s otherwise. */
    static final class DiffProgress implements SpillJoin.Progress {
        private final PrintWriter err;
        private final boolean console;
        private final long started = System.nanoTime();
        private double lastPrinted = -10;
        private boolean drawn;
        /** The phase whose last line was printed, so that it is printed once. */
        private String finishedPhase;
        private final java.util.function.BooleanSupplier stopRequested;

        DiffProgress(PrintWriter err, boolean console, java.util.function.BooleanSupplier stopRequested) {
            this.err = err;
            this.console = console;
            this.stopRequested = stopRequested;
        }

        @Override
        public void update(String phase, long done, long total) {
            if (stopRequested.getAsBoolean()) {
                finish();
                throw new java.util.concurrent.CancellationException("the diff was stopped while " + (phase.equals("read") ? "reading" : "joining"));
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            boolean phaseDone = done >= total;
            if (phaseDone ? phase.equals(finishedPhase) : seconds - lastPrinted < (console ? 0.2 : 5)) {
                return;
            }
            if (phaseDone) {
                finishedPhase = phase;
            }
            lastPrinted = seconds;
            double share = total == 0 ? 1 : Math.min(1, (double) done / total);
            int width = 30;
            int filled = (int) Math.round(share * width);
            String what = phase.equals("read") ? "offsets read" : "replay events joined";
            String line = String.format(Locale.ROOT, "[%s%s] %d/%d %s · %.1f s", "#".repeat(filled), ".".repeat(width - filled), done, total, what, seconds);
            err.print(console ? "\r" + line : line + System.lineSeparator());
            err.flush();
            drawn = true;
        }

        void finish() {
            if (console && drawn) {
                err.println();
                err.flush();
            }
        }
    }
}
