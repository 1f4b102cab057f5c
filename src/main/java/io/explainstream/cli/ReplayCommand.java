package io.explainstream.cli;

import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import io.explainstream.stream.config.TimeSpec;
import io.explainstream.stream.replay.Replay;
import io.explainstream.stream.replay.ReplayPlan;
import io.explainstream.stream.service.ReplayRunner;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.streams.StreamsConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Re-explains the events of a time range of a topic, resumably, with progress, and stops by itself. */
@Command(name = "replay", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Re-explain the events whose timestamps fall in [--from, --to): after a model change or an incident.",
            "Runs under its own application id, so the live service's offsets and state are untouched; run it again with the same",
            "--replay-id (and range) to resume after an interruption, without duplicates."})
final class ReplayCommand implements Callable<Integer> {

    /** The exit status of a replay whose range retention cut: not started, or (with --allow-gaps) finished without what is gone. */
    private static final int GAPS_STATUS = 4;

    /** How long a stop signal waits for the replay to close: its service's close timeout, with room to say the outcome. */
    private static final java.time.Duration STOP_WAIT = java.time.Duration.ofSeconds(60);
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter ID_TIME_MILLIS = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);

    @Option(names = "--from", required = true, description = "First instant included: ISO-8601 (2026-11-28T00:00:00Z or 2026-11-28), now, or -3d, -12h, -30m.")
    private String from;

    @Option(names = "--to", required = true, description = "First instant excluded, same forms as --from.")
    private String to;

    @Option(names = "--input-topic", description = "Topic to replay (default: input.topic of the configuration).")
    private String inputTopic;

    @Option(names = "--output-topic", description = "Where explanations go (default: explanations-replay; may be the live topic).")
    private String outputTopic;

    @Option(names = "--replay-id", description = "Names the replay (default: replay-<from>-<to>); reuse it to resume. Letters, digits, '.', '_' and '-', at most 100"
            + " less the length of application.id and '-replay-' (79 with the default application.id).")
    private String replayId;

    @Option(names = "--config", paramLabel = "FILE", description = "Properties file (cluster, registry, model, attribution settings).")
    private Path configFile;

    @Option(names = "--model", paramLabel = "DIR", description = "Another model directory than the configuration's.")
    private Path model;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override any configuration key for this replay, e.g. --set attribution.steps=100.")
    private List<String> overrides = List.of();

    @Option(names = "--dry-run", description = "Print the number of events in range per partition, and any part of the range retention deleted, and do nothing else.")
    private boolean dryRun;

    @Option(names = "--allow-gaps", description = "Replay what is left when retention has deleted part of the range (without it, such a replay does not start and exits 4).")
    private boolean allowGaps;

    @Option(names = "--diff", description = "When the replay finishes, compare its explanations with the live ones (as `diff --replay-id ID`).")
    private boolean diff;

    @Option(names = "--diff-format", defaultValue = "text", description = "The diff's format: text, json or html. Default: ${DEFAULT-VALUE}.")
    private DiffCommand.Format diffFormat;

    @Option(names = "--diff-out", paramLabel = "FILE", description = "Write the diff's report here instead of standard output; - is standard output.")
    private Path diffOut;

    @Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!diff && (diffOut != null || spec.commandLine().getParseResult().hasMatchedOption("--diff-format"))) {
            throw new IllegalArgumentException((diffOut != null ? "--diff-out" : "--diff-format") + " shapes the report of --diff, which is not given;"
                    + " add --diff, or run diff --replay-id later");
        }
        if (model != null) {
            ModelSelection.given("--model", model);
        }
        Instant now = Instant.now();
        Instant start = TimeSpec.parseRecordTime("--from", from, now);
        Instant end = TimeSpec.parseRecordTime("--to", to, now);
        String id = replayId != null ? replayId : defaultId(start, end);
        Replay replay = new Replay(id, start.toEpochMilli(), end.toEpochMilli());
        ServiceConfig base = baseConfig();
        if (OutputFile.isFile(diffOut)) {
            OutputFile.requireWritable("--diff-out", diffOut);
        }
        ServiceConfig config = ReplayRunner.configure(base, replay, inputTopic, outputTopic);
        // A dry run only counts records: it needs the broker, not the registry.
        ClusterCheck.broker(base.clientSettings(), ClusterCheck.TIMEOUT);
        if (!dryRun) {
            ClusterCheck.registry(base.registryConfig(), ClusterCheck.TIMEOUT);
        }
        if (diff && !dryRun) {
            requireLiveTopic(base);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (dryRun) {
            // What the run would read (a resumed replay id: to its first plan's stop offsets), or why it would not start.
            ReplayPlan planned = ReplayRunner.plan(config, replay);
            ReplayPlan.Admission admitted = null;
            String refusal = null;
            try {
                ReplayRunner.checkOutputs(config, replay, planned, java.time.Clock.systemUTC());
                admitted = ReplayRunner.admit(config, RunCommand.home(), replay, planned);
                ReplayRunner.requireNotRunning(config, replay);
            } catch (ConfigException | io.explainstream.model.ModelLoadException e) {
                refusal = e.getMessage();
            }
            ReplayPlan plan = admitted == null ? planned : admitted.plan();
            Map<Integer, Long> counts = plan.countEvents(replay);
            long events = counts.values().stream().mapToLong(Long::longValue).sum();
            List<ReplayPlan.Gap> gaps = admitted == null ? plan.gaps(ReplayRunner.group(config))
                    : admitted.record().notSkipped(plan.gaps(ReplayRunner.group(config), admitted));
            List<ReplayPlan.Gap> skippedEarlier = admitted == null ? List.of() : admitted.record().skipped();
            // A resumed replay's range may begin in records retention deleted after it passed them: not countable, not missing.
            Map<Integer, Long> deleted = admitted == null ? Map.of()
                    : plan.deletedAfterPassed(plan.resumesFrom(ReplayRunner.group(config), admitted), admitted.record().skipped());
            long deletedRecords = deleted.values().stream().mapToLong(Long::longValue).sum();
            // Passed: read, or jumped over where retention deleted records while a run was reading their partition (README, "Retention").
            // Where the record predates the keeping of skipped parts, what it passed may have been skipped too.
            String passed = admitted == null || admitted.record().skipsKnown() ? "passed them" : "passed them (read, or skipped as gone with --allow-gaps)";
            out.printf("replay %s of %s, [%s, %s): %d event%s in range%s%n", id, config.get(Setting.INPUT_TOPIC), start, end, events, events == 1 ? "" : "s",
                    deletedRecords == 0 ? "" : ", not counting " + deletedRecords + " record" + (deletedRecords == 1 ? "" : "s")
                            + " retention deleted after this replay " + passed);
            counts.forEach((partition, count) -> {
                long gone = deleted.getOrDefault(partition, 0L);
                out.printf("  partition %d: %d event%s (offsets [%d, %d) read%s)%n", partition, count, count == 1 ? "" : "s",
                        plan.start().get(new org.apache.kafka.common.TopicPartition(config.get(Setting.INPUT_TOPIC), partition)),
                        plan.stop().get(new org.apache.kafka.common.TopicPartition(config.get(Setting.INPUT_TOPIC), partition)),
                        gone == 0 ? "" : "; " + gone + " of them deleted by retention after this replay " + passed);
            });
            gone(gaps, skippedEarlier, List.of()).forEach(line -> out.printf("  gone: %s%n", line));
            if (refusal != null) {
                out.printf("  would not start: %s%n", refusal);
            } else if (!gaps.isEmpty() && !allowGaps) {
                out.printf("  would not start: part of the range is gone; --allow-gaps replays what is left%n");
            }
            out.flush();
            // The run's own status, so that a script checking a replay before it runs it sees a refusal, or a range retention cut.
            return refusal != null ? 2 : gaps.isEmpty() && skippedEarlier.isEmpty() ? 0 : GAPS_STATUS;
        }
        err.printf("replay %s: %s [%s, %s) → %s%n", id, config.get(Setting.INPUT_TOPIC), start, end, config.get(Setting.OUTPUT_TOPIC));
        err.flush();
        // The JVM must not exit while the replay's batch is in the engine: libtorch's exit handlers
        // under a backward pass in flight crash it (SIGSEGV) and corrupt the task. So a signal waits
        // until the service is closed and the outcome said.
        try (StopSignal stop = StopSignal.install("explainstream-replay-stop", STOP_WAIT)) {
            return stop.exit(replay(config, base, replay, id, stop, out, err));
        }
    }

    /**
     * The command line that resumes this replay: the one given, with the same settings (--config,
     * --model, --set: a resume with others would mix two kinds of explanation in one replay), and
     * the range as resolved instants under its id ("-1h" and "now" would name another range later).
     * Each argument is quoted for a POSIX shell when it needs to be. A --set of a secret (a
     * password, a registry's user info) is left out: the line goes to a terminal or a log
     * ({@link #secretsLeftOut} names them).
     */
    static List<String> resumeCommand(List<String> given, String id, Instant from, Instant to) {
        List<String> command = new java.util.ArrayList<>(List.of("replay"));
        java.util.Set<String> replaced = java.util.Set.of("--replay-id", "--from", "--to");
        // picocli gives a subcommand the whole command line, its own name first.
        for (int i = given.isEmpty() || !given.get(0).equals("replay") ? 0 : 1; i < given.size(); i++) {
            String arg = given.get(i);
            String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
            if (replaced.contains(name)) {
                i += arg.contains("=") ? 0 : 1; // skip its value too
            } else if (arg.equals("--set") && i + 1 < given.size() && secret(given.get(i + 1))) {
                i++;
            } else if (!(arg.startsWith("--set=") && secret(arg.substring("--set=".length())))) {
                command.add(arg);
            }
        }
        command.addAll(List.of("--replay-id", id, "--from", from.toString(), "--to", to.toString()));
        return command.stream().map(ShellWords::quoted).toList();
    }

    private static boolean secret(String override) {
        return override.contains("=") && io.explainstream.stream.config.ServiceConfig.isSecret(override.substring(0, override.indexOf('=')).trim());
    }

    /** What a printed command says of the secret --set settings it left out; empty when there were none. */
    static String secretsLeftOut(List<String> overrides) {
        List<String> keys = ClusterOptions.parseSet(overrides).keySet().stream().filter(io.explainstream.stream.config.ServiceConfig::isSecret).toList();
        return keys.isEmpty() ? "" : " (and the secret settings left out here: --set " + String.join(", ", keys)
                + ", or in --config or the environment)";
    }

    /** The range's own id; past the year 9999 (which the basic ISO form cannot write) in epoch milliseconds. */
    static String defaultId(Instant start, Instant end) {
        Instant lastBasic = Instant.parse("9999-12-31T23:59:59Z");
        if (start.isAfter(lastBasic) || end.isAfter(lastBasic)) {
            return "replay-" + start.toEpochMilli() + "-" + end.toEpochMilli();
        }
        return "replay-" + idTime(start) + "-" + idTime(end);
    }

    /** To the second, or to the millisecond where the instant has one: two ranges that differ by less than a second got one id (a hostile test). */
    private static String idTime(Instant instant) {
        return (instant.getNano() == 0 ? ID_TIME : ID_TIME_MILLIS).format(instant);
    }

    /** Runs the replay until it finishes or a stop signal comes, says how it ended, and returns the exit status. */
    private int replay(ServiceConfig config, ServiceConfig base, Replay replay, String id, StopSignal stop, PrintWriter out, PrintWriter err)
            throws Exception {
        ProgressBar bar = new ProgressBar(err, System.console() != null);
        ReplayRunner.Outcome outcome = ReplayRunner.run(config, RunCommand.home(), replay, allowGaps, bar::update, stop::requested, Clock.systemUTC());
        bar.finish();
        gone(outcome.gaps(), outcome.skippedEarlier(), outcome.deletedWhileRunning()).forEach(line -> err.printf("replay %s: %s%n", id, line));
        if (!outcome.gaps().isEmpty()) {
            if (!allowGaps) {
                err.printf("replay %s: not started: part of the range is gone; --allow-gaps replays what is left%n", id);
                err.flush();
                return GAPS_STATUS;
            }
        }
        // Finished, every event of the range is accounted for; interrupted, only some are, of at most
        // the records between its start and stop offsets (some may be stamped outside the range).
        String counted = outcome.finished() ? outcome.eventsInRange() + (outcome.eventsInRange() == 1 ? " event" : " events") + " in range"
                : outcome.eventsInRange() + (outcome.eventsInRange() == 1 ? " event" : " events") + " done of at most " + outcome.recordsInRange();
        out.printf(Locale.ROOT, "replay %s %s: %s: %d explained, %d dead-lettered, %d skipped; %.1f s%s%s%n", id,
                outcome.finished() ? "finished" : "interrupted", counted, outcome.explained(), outcome.deadLettered(), outcome.skipped(),
                outcome.seconds(), outcome.resumed() ? " (resumed)" : "", outcome.missesRecords() ? "; records deleted by retention are missing" : "");
        out.flush();
        if (!outcome.finished()) {
            // Said once there is something to resume: a replay that never started (a broken model directory) has nothing.
            // As the user started it: the launcher passes its own path ("./explainstream").
            String launcher = ShellWords.quoted(System.getProperty("explainstream.command", "explainstream"));
            err.printf("replay %s: to resume, run: %s %s%s%n", id, launcher, String.join(" ", resumeCommand(spec.commandLine().getParseResult().originalArgs(),
                    id, Instant.ofEpochMilli(replay.fromMs()), Instant.ofEpochMilli(replay.toMs()))), secretsLeftOut(overrides));
            err.flush();
            return 3;
        }
        err.flush();
        forgetLocalState(config);
        // A replay that refused every event is diffed: its dead letters say why each live event is on one side only.
        if (diff && outcome.explained() + outcome.deadLettered() == 0) {
            err.printf("replay %s: no event explained or dead-lettered in range, so nothing to diff%n", id);
            err.flush();
        } else if (diff) {
            return diffAfter(base, config.get(Setting.OUTPUT_TOPIC), replay, id, stop, out, err, outcome.missesRecords() ? GAPS_STATUS : 0);
        }
        return outcome.missesRecords() ? GAPS_STATUS : 0;
    }

    /**
     * Deletes a finished replay's local state, {@code <state.dir>/<its application.id>}: Kafka
     * Streams' stores, which their changelogs restore should it ever run again. Nothing else reads
     * it, and it stayed behind in the working folder's data/streams-state after the demo had
     * deleted its own (a hostile test), to meet a later demo's new broker under the same replay id.
     */
    private static void forgetLocalState(ServiceConfig config) {
        String stateDir = config.streamsProperties().getProperty(StreamsConfig.STATE_DIR_CONFIG);
        if (stateDir != null) {
            OutputFile.deleteRecursively(Path.of(stateDir).resolve(ReplayRunner.group(config)));
        }
    }

    /**
     * One line per missing part of the range, in partition and offset order: gone now, skipped by an
     * earlier run (missing from the replay still), or deleted while this run went on.
     */
    private static List<String> gone(List<ReplayPlan.Gap> gaps, List<ReplayPlan.Gap> skippedEarlier, List<ReplayPlan.Gap> deletedWhileRunning) {
        Map<ReplayPlan.Gap, String> lines = new java.util.TreeMap<>(
                java.util.Comparator.comparingInt(ReplayPlan.Gap::partition).thenComparingLong(ReplayPlan.Gap::firstOffset));
        gaps.forEach(gap -> lines.put(gap, gap.toString()));
        skippedEarlier.forEach(gap -> lines.put(gap, gap + ", skipped by an earlier run"));
        deletedWhileRunning.forEach(gap -> lines.put(gap, gap + " while the replay ran, before it read them"));
        return List.copyOf(lines.values());
    }

    /**
     * The diff --diff asks for, after the replay finished: returns {@code status}, or 3 when a stop
     * signal came first or stopped the diff. The replay is whole either way, and the diff holds no
     * engine, so a stop ends it at once (its scratch folder deleted) and says the diff command
     * that compares later.
     */
    private int diffAfter(ServiceConfig base, String replayTopic, Replay replay, String id, StopSignal stop, PrintWriter out, PrintWriter err,
            int status) throws Exception {
        // The replay's own topics are in config; the live explanations are the base configuration's
        // output topic, of which only the replay's range is compared: explanations carry their
        // event's record time, and the rest of the live topic would all be "live only".
        String from = Instant.ofEpochMilli(replay.fromMs()).toString();
        String to = Instant.ofEpochMilli(replay.toMs()).toString();
        if (!stop.requested()) {
            try {
                DiffCommand.run(base, new DiffCommand.Choice(id, replayTopic, null, null, from, to, 5, null, 10, false, diffFormat, diffOut, "--diff-out"),
                        out, err, stop::requested);
                return status;
            } catch (Exception e) {
                if (!stop.requested()) {
                    throw e;
                }
                // Stopped: whatever the diff was doing when the signal came (reading, or making its
                // scratch folder as the JVM began to shut down) failed because of the stop.
            }
        }
        String launcher = ShellWords.quoted(System.getProperty("explainstream.command", "explainstream"));
        err.printf("replay %s finished; its diff was stopped: to compare, run: %s %s%s%n", id, launcher, String.join(" ",
                diffCommand(id, replayTopic, base.get(Setting.OUTPUT_TOPIC), from, to)), secretsLeftOut(overrides));
        err.flush();
        return 3;
    }

    /**
     * The diff command that compares this replay later, as --diff would have: its range and topic,
     * the live topic (output.topic, which --set may have given), the configuration as given
     * (--config and every --set but secrets: the cluster, the live dead-letter topic,
     * stats.group.by, which diff groups by), and the report's format and file. Each argument quoted
     * for a POSIX shell.
     */
    private List<String> diffCommand(String id, String replayTopic, String liveTopic, String from, String to) {
        List<String> command = new java.util.ArrayList<>(List.of("diff", "--replay-id", id, "--replay-topic", replayTopic, "--against", liveTopic,
                "--from", from, "--to", to));
        if (configFile != null) {
            command.addAll(List.of("--config", configFile.toString()));
        }
        for (String override : overrides) {
            if (!secret(override)) {
                command.addAll(List.of("--set", override));
            }
        }
        if (diffFormat != DiffCommand.Format.text) {
            command.addAll(List.of("--format", diffFormat.name()));
        }
        if (diffOut != null) {
            command.addAll(List.of("--out", diffOut.toString()));
        }
        return command.stream().map(ShellWords::quoted).toList();
    }

    /** --diff compares with the live explanations on output.topic: a missing topic is said before the replay, not after it. */
    private static void requireLiveTopic(ServiceConfig base) {
        Map<String, String> clients = base.clientSettings();
        String live = base.get(Setting.OUTPUT_TOPIC);
        if (!ClusterCheck.topicExists(clients, live, ClusterCheck.TIMEOUT)) {
            throw new IllegalArgumentException("--diff compares with the live explanations on " + Setting.OUTPUT_TOPIC.key() + " = " + live
                    + ", which does not exist on " + clients.get("bootstrap.servers"));
        }
    }

    private ServiceConfig baseConfig() {
        Map<String, String> given = ClusterOptions.parseSet(overrides);
        Map<String, String> set = new HashMap<>(given);
        for (String key : given.keySet()) {
            if (key.equals(Setting.OUTPUT_TOPIC.key()) || key.equals(Setting.DLQ_TOPIC.key())) {
                // A replay writes to topics of its own (the live service's configuration may be given whole): said, not silently overridden.
                spec.commandLine().getErr().printf("replay: --set %s is the live service's (--diff compares with its output.topic); the replay"
                        + " writes to --output-topic (default %s) and dead letters to <output topic>-dlq%n", key, ReplayRunner.DEFAULT_OUTPUT_TOPIC);
            }
        }
        if (model != null) {
            set.put(Setting.MODEL_DIR.key(), model.toString());
        }
        ServiceConfig config = ClusterOptions.withSet(ServiceConfig.load(configFile, System.getenv()), set, given);
        if (!config.hasBootstrapServers()) {
            throw new IllegalArgumentException("bootstrap.servers is not set: a replay reads an existing cluster (give --config or EXPLAINSTREAM_BOOTSTRAP_SERVERS)");
        }
        return config;
    }

    /** Progress on the terminal: a redrawn bar on a console, a line every few seconds otherwise. */
    static final class ProgressBar {
        /** How long this run's own progress is measured before a rate and a time left are said. */
        static final double RATE_AFTER_SECONDS = 5;
        private final PrintWriter err;
        private final boolean console;
        private double lastPrinted = -10;
        private boolean printedFull;
        /** When this run first made progress (-1: not yet), and how much was done then. */
        private double firstProgressAt = -1;
        private long doneAtFirstProgress;

        ProgressBar(PrintWriter err, boolean console) {
            this.err = err;
            this.console = console;
        }

        /**
         * The rate and time left count only this run's progress, so that a resumed replay does not
         * claim the earlier run's, and from its first progress on, once it has gone on for a few
         * seconds: counted from the start, the service's start-up and the engine's warm-up made a
         * resumed replay's first line say "0.2/s · 35114 s left" for a run of two minutes.
         */
        void update(long done, long total, long doneBefore, double seconds) {
            if (firstProgressAt < 0 && done > doneBefore) {
                firstProgressAt = seconds;
                doneAtFirstProgress = done;
            }
            // A full bar is printed once however soon it comes: the last line before the summary.
            boolean full = done >= total && !printedFull;
            if (!console && seconds - lastPrinted < 5 && !full) {
                return;
            }
            printedFull |= done >= total;
            lastPrinted = seconds;
            // Outcomes of an earlier run under the same id over a wider range can outnumber this range's records.
            double share = total == 0 ? 1 : Math.min(1, (double) done / total);
            int width = 30;
            int filled = (int) Math.round(share * width);
            double measuredFor = firstProgressAt < 0 ? 0 : seconds - firstProgressAt;
            double rate = measuredFor >= RATE_AFTER_SECONDS ? (done - doneAtFirstProgress) / measuredFor : 0;
            String speed = rate > 0 ? String.format(Locale.ROOT, "%.1f/s · %.0f s left", rate, (total - done) / rate)
                    : done >= total ? "done" : "— /s · time left not known yet";
            String line = String.format(Locale.ROOT, "[%s%s] %d/%d records · %s", "#".repeat(filled), ".".repeat(width - filled), done, total, speed);
            err.print(console ? "\r" + line : line + System.lineSeparator());
            err.flush();
        }

        void finish() {
            if (console) {
                err.println();
                err.flush();
            }
        }
    }
}
