package io.explainstream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.CompletenessGap;
import io.explainstream.bench.PipelineBench;
import io.explainstream.dashboard.Dashboard;
import io.explainstream.embedded.DataFolderLock;
import io.explainstream.embedded.EmbeddedPlatform;
import io.explainstream.render.Aggregate;
import io.explainstream.render.ExplanationViews;
import io.explainstream.render.HtmlReport;
import io.explainstream.render.TerminalHeatmap;
import io.explainstream.schema.Explanation;
import io.explainstream.stats.StatsTopology;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.stream.topology.Scope;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The one-command demonstration: a real broker and the built-in registry on 127.0.0.1, the bundled
 * model, the bundled sample of logged interactions (a few malformed on purpose), the service, a
 * live heatmap per explanation, an HTML report and a summary. Everything it starts is stopped and
 * its run data (broker log, stream state) deleted when it ends, also on Ctrl-C; the report stays
 * in the data folder. The data folder is a folder of its own, not the system temp directory,
 * which Kafka Streams warns about (the OS may clear it under a running state store).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "See ExplainStream work: embedded broker and registry, sample traffic, live heatmaps, an HTML report, a summary.")
final class DemoCommand implements Callable<Integer> {

    static final String SAMPLE = "/demo/interactions.jsonl";
    /** The report's name in the data folder. */
    static final String REPORT_NAME = "report.html";
    /** The data folder's subfolder for what one run starts: deleted when the run ends. */
    static final String RUN_FOLDER = "run";
    /** Marks a run folder as the demo's: see {@link #requireDemosOwn}. */
    static final String RUN_MARKER = ".explainstream-demo";

    /** The demo's groups: per tenant of the sample's metadata. */
    static final String STATS_GROUP_BY = "source_model,metadata.tenant";

    /**
     * The statistics of the demo: windows of 20 s over a sample stamped one event per second, so
     * that a run shows a few windows per tenant; a grace that covers the dead letters, which are
     * written before the explanations of the events logged just before them; two alert rules.
     */
    static final Map<String, String> STATS = Map.of(
            Setting.STATS_WINDOW.key(), "20s",
            Setting.STATS_GRACE.key(), "10s",
            Setting.STATS_EMIT_INTERVAL.key(), "1s",
            Setting.STATS_GROUP_BY.key(), STATS_GROUP_BY,
            "alert.dead-letters.when", "dlq.count >= 1",
            "alert.unfaithful.when", "delta.rel.max > 0.01");
    /** The sample is stamped one event per second, ending this long before it is sent, so that every window has ended when it arrives. */
    static final Duration SAMPLE_ENDS_BEFORE_SEND = Duration.ofSeconds(20);
    private static final java.util.regex.Pattern TIMESTAMP = java.util.regex.Pattern.compile("\"timestamp\"\\s*:\\s*\\d+");

    @Option(names = "--events", description = "How many sample events to send (default: all of them).")
    private Integer events;

    @Option(names = "--data", paramLabel = "DIR", defaultValue = "data/demo",
            description = "Folder of the demo's broker, stream state (deleted at the end) and report (kept). Default: ${DEFAULT-VALUE}.")
    private Path dataDir;

    @Option(names = "--report", paramLabel = "FILE", description = "Where the HTML report goes. Default: report.html in the --data folder.")
    private Path report;

    @Option(names = "--steps", defaultValue = "50", description = "Integrated-gradients steps. Default: ${DEFAULT-VALUE}.")
    private int steps;

    @Option(names = "--follow", description = "Keep running after the sample with the live dashboard; print its URL and the broker and registry addresses for other clients; Ctrl-C stops.")
    private boolean follow;

    @Option(names = "--dashboard-port", defaultValue = "8088",
            description = "With --follow: port of the live dashboard on 127.0.0.1 (0: any free one). Default: ${DEFAULT-VALUE}.")
    private int dashboardPort;

    @Option(names = "--timeout", defaultValue = "600", description = "Seconds to wait for the sample to be processed. Default: ${DEFAULT-VALUE}.")
    private int timeoutSeconds;

    @Option(names = "--no-color", description = "Plain text heatmaps.")
    private boolean noColor;

    @Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    /** Every option checked before the broker starts, in the user's words: a typo must not cost a demo's run. */
    private void checkOptions() {
        if (timeoutSeconds < 1) {
            throw new IllegalArgumentException("--timeout = " + timeoutSeconds + " must be at least 1 (seconds to wait for the sample)");
        }
        if (dashboardPort < 0 || dashboardPort > 65535) {
            throw new IllegalArgumentException("--dashboard-port = " + dashboardPort + " must be from 0 to 65535 (0: any free port)");
        }
        try {
            AttributionSettings.DEFAULTS.withSteps(steps);
        } catch (AttributionSettings.Refused e) {
            throw new IllegalArgumentException(e.message(AttributionSettings.Option::cliOption), e);
        }
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        checkOptions();
        List<String> sample = sample(events);
        java.time.Instant started = replayFrom(java.time.Instant.now(), sample.size());
        Path reportFile = report != null ? report : dataDir.resolve(REPORT_NAME);
        // A fresh run folder each time: a broker log or stream state left by an earlier demo
        // (killed with SIGKILL) would mix its events into this one's.
        Path data = dataDir.resolve(RUN_FOLDER);
        ExplainService.requireStateDirRocksDbCanOpen(data.resolve("streams").toString());
        DataFolderLock lock;
        try {
            lock = DataFolderLock.acquire("--data", dataDir);
        } catch (IOException e) {
            throw new IllegalArgumentException("--data = " + dataDir + " cannot be used: " + OutputFile.reason(e), e);
        }
        try {
            requireDemosOwn(data);
            OutputFile.deleteRecursively(data);
            Files.createDirectories(data);
            Files.createFile(data.resolve(RUN_MARKER));
            OutputFile.requireWritable(report != null ? "--report" : "--data", reportFile);
        } catch (IOException | RuntimeException e) {
            lock.close();
            if (e instanceof IOException io) {
                throw new IllegalArgumentException("--data = " + dataDir + " cannot be used: " + OutputFile.reason(io), e);
            }
            throw e;
        }
        Teardown teardown = new Teardown(data, lock);
        Thread hook = new Thread(teardown::run, "explainstream-demo-teardown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            out.println("starting a Kafka broker and a schema registry on 127.0.0.1 ...");
            out.flush();
            teardown.platform = EmbeddedPlatform.start(data, 0);
            ServiceConfig config = ServiceConfig.of(Map.of(
                    "application.id", "explainstream-demo",
                    "state.dir", data.resolve("streams").toString(),
                    Setting.STEPS.key(), Integer.toString(steps),
                    Setting.BATCH_MAX_EVENTS.key(), "8",
                    Setting.BATCH_MAX_WAIT_MS.key(), "300",
                    Setting.OPS_PORT.key(), "0",
                    Setting.TOPICS_PARTITIONS.key(), "1")).with(STATS)
                    // The sample is stamped as the last two minutes of history, not a backlog: explain it as configured.
                    .with(Map.of(Setting.AUDIT_MAX_LAG_MS.key(), "0"))
                    // As the embedded default's: the demo's traffic stays on its topics, to be replayed (with --follow).
                    .with(Map.of(Setting.TOPICS_INPUT_RETENTION_MS.key(), "-1"))
                    .with(teardown.platform.clientSettings());
            teardown.service = ExplainService.start(config, RunCommand.home(), Scope.live(), List.of(StatsTopology.extension()), Clock.systemUTC());
            out.printf("broker %s · registry %s · model %s · metrics http://127.0.0.1:%d/metrics%n", teardown.platform.bootstrapServers(),
                    teardown.platform.registryUrl(), teardown.service.model().checkpoint().directory().getFileName(), teardown.service.operationsPort());
            Summary summary = runSample(config, sample, out);
            summary.stats = DemoStats.collect(config, sample.size(), Duration.ofSeconds(Math.min(timeoutSeconds, 90)));
            writeReport(report != null ? "--report" : "--data", reportFile, summary);
            out.println(summary.describe(reportFile));
            out.flush();
            if (follow) {
                Dashboard.Settings dashboardSettings = new Dashboard.Settings(config.get(Setting.OUTPUT_TOPIC), config.get(Setting.STATS_TOPIC),
                        config.get(Setting.ALERTS_TOPIC), Dashboard.Settings.DEFAULT_HOST,
                        dashboardPort, Dashboard.Settings.DEFAULT_KEEP, null, CompletenessGap.DEFAULT_WARN_ABOVE, null);
                teardown.dashboard = Dashboard.start(dashboardSettings, teardown.platform.clientSettings(), config.registryConfig());
                out.printf("following: produce JSON or Avro events to topic %s at %s (registry %s); read %s; dashboard %s; Ctrl-C stops%n",
                        config.get(Setting.INPUT_TOPIC), teardown.platform.bootstrapServers(), teardown.platform.registryUrl(),
                        config.get(Setting.OUTPUT_TOPIC), teardown.dashboard.url());
                out.println(replayHint(teardown.platform.bootstrapServers(), teardown.platform.registryUrl(), started));
                out.flush();
                new CountDownLatch(1).await();
            }
            // Every event sent has an outcome: an explanation or a dead letter with its reason.
            int outcomes = summary.explanations.size() + summary.deadLetters.size();
            if (outcomes < summary.sent) {
                spec.commandLine().getErr().printf("demo: --timeout = %d s passed with %d of %d events without an outcome%n", timeoutSeconds,
                        summary.sent - outcomes, summary.sent);
                spec.commandLine().getErr().flush();
                return 1;
            }
            return 0;
        } finally {
            teardown.run();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down: the hook is running the same teardown
            }
        }
    }

    /**
     * A command line to paste into another terminal while the demo follows: re-explains the demo's
     * traffic with other settings (input x gradient instead of 50-step integrated gradients, which
     * takes no steps) and compares the two with {@code diff}, grouped by tenant as the demo's
     * statistics are (without the demo's stats.group.by the diff grouped by application).
     */
    static String replayHint(String bootstrapServers, String registryUrl, java.time.Instant from) {
        return "compare with other settings: ./explainstream replay --set bootstrap.servers=" + bootstrapServers + " --set schema.registry.url="
                + registryUrl + " --set application.id=explainstream-demo --set " + Setting.STATS_GROUP_BY.key() + "=" + STATS_GROUP_BY + " --from " + from
                + " --to now --replay-id demo-ixg --set attribution.method=input_x_gradient --diff";
    }

    /** Stops what the demo started, once, whether it ends normally or by a signal. */
    private static final class Teardown {
        private final Path data;
        private final DataFolderLock lock;
        private final AtomicBoolean done = new AtomicBoolean();
        volatile EmbeddedPlatform platform;
        volatile ExplainService service;
        volatile Dashboard dashboard;

        Teardown(Path data, DataFolderLock lock) {
            this.data = data;
            this.lock = lock;
        }

        void run() {
            if (!done.compareAndSet(false, true)) {
                return;
            }
            if (dashboard != null) {
                dashboard.close();
            }
            if (service != null) {
                service.close();
            }
            if (platform != null) {
                platform.close();
            }
            OutputFile.deleteRecursively(data);
            lock.close();
        }
    }

    /**
     * The run folder is deleted before and after each demo: only one a demo made (its marker, or
     * only what a demo keeps there, from before the marker) may be. A folder of the user's that
     * happens to be called {@code run} in --data was deleted with everything in it.
     */
    static void requireDemosOwn(Path data) throws IOException {
        if (!Files.exists(data)) {
            return;
        }
        if (!Files.isDirectory(data)) {
            throw new IllegalArgumentException("--data: " + data + " is a file; the demo keeps its broker there: give another --data");
        }
        try (var entries = Files.list(data)) {
            List<String> names = entries.map(entry -> entry.getFileName().toString()).toList();
            if (!names.contains(RUN_MARKER) && !java.util.Set.of("kafka", "streams", "streams-state").containsAll(names)) {
                throw new IllegalArgumentException("--data: " + data + " was not made by the demo (it holds " + String.join(", ", names.stream().sorted()
                        .limit(5).toList()) + (names.size() > 5 ? ", …" : "") + "), and the demo deletes that folder when it starts and ends:"
                        + " give another --data");
            }
        }
    }

    private Summary runSample(ServiceConfig config, List<String> sample, PrintWriter out) throws IOException {
        String input = config.get(Setting.INPUT_TOPIC);
        String output = config.get(Setting.OUTPUT_TOPIC);
        String dlq = config.get(Setting.DLQ_TOPIC);
        Summary summary = new Summary(sample.size());
        Map<String, Long> sentAt = new HashMap<>();
        TerminalHeatmap heatmap = new TerminalHeatmap(!noColor && TerminalHeatmap.colorByDefault());
        try (ExplanationFeed feed = new ExplanationFeed(Map.of("bootstrap.servers", config.streamsProperties().getProperty("bootstrap.servers")),
                config.registryConfig(), List.of(output, dlq), true)) {
            long started = System.nanoTime();
            produce(config, input, sample, sentAt);
            out.printf("sent %d logged interactions to %s%n%n", sample.size(), input);
            long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
            while (summary.explanations.size() + summary.deadLetters.size() < sample.size() && System.nanoTime() < deadline) {
                feed.poll(Duration.ofMillis(200), output, (record, problem) -> {
                    throw new IllegalStateException("the demo's own " + output + " holds a record that is not an explanation: " + problem);
                }, (record, explanation) -> {
                    long latency = System.currentTimeMillis() - sentAt.getOrDefault(explanation.getEventId(), System.currentTimeMillis());
                    summary.explanations.add(explanation);
                    summary.latenciesMs.add(latency);
                    Attribution attribution = ExplanationViews.toAttribution(explanation);
                    String shares = ExplanationViews.segmentShares(ExplanationViews.summary(explanation), 4);
                    out.print(heatmap.compact(explanation.getEventId(), attribution, ExplanationViews.source(explanation),
                            String.format(Locale.ROOT, "%d ms end to end", latency) + (shares.contains(" · ") ? "\n  segments: " + shares : "")));
                    out.flush();
                }, record -> {
                    io.explainstream.stream.output.DeadLetter dead = io.explainstream.stream.output.DeadLetter.of(record);
                    HtmlReport.DeadLetter letter = new HtmlReport.DeadLetter(
                            record.key() == null ? "(no key)" : new String(record.key(), StandardCharsets.UTF_8),
                            java.util.Objects.requireNonNullElse(dead.stage(), "?"), java.util.Objects.requireNonNullElse(dead.reason(), "?"));
                    summary.deadLetters.add(letter);
                    out.printf("dead letter %s: %s%n", letter.key(), letter.reason());
                    out.flush();
                });
            }
            summary.seconds = (System.nanoTime() - started) / 1e9;
        }
        return summary;
    }

    /** The first sample event's timestamp when {@code size} events are sent at {@code sendMillis}: one per second, ending before the send. */
    static long firstStamp(long sendMillis, int size) {
        return sendMillis - SAMPLE_ENDS_BEFORE_SEND.toMillis() - 1000L * size;
    }

    /**
     * Where the replay hint's range starts, for a run that began at {@code now}: at or before the
     * first sample event's timestamp (the events are sent later than now), with a minute's margin.
     */
    static java.time.Instant replayFrom(java.time.Instant now, int size) {
        return java.time.Instant.ofEpochMilli(firstStamp(now.toEpochMilli(), size)).minusSeconds(60).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    }

    private static void produce(ServiceConfig config, String topic, List<String> sample, Map<String, Long> sentAt) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.streamsProperties().getProperty("bootstrap.servers"));
        ObjectMapper json = new ObjectMapper();
        long first = firstStamp(System.currentTimeMillis(), sample.size());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < sample.size(); i++) {
                long loggedAt = first + 1000L * i;
                String line = restamp(sample.get(i), loggedAt);
                String key = eventId(json, line, "line-" + (i + 1));
                sentAt.put(key, System.currentTimeMillis());
                producer.send(new ProducerRecord<>(topic, null, loggedAt, key.getBytes(StandardCharsets.UTF_8), line.getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    /**
     * A sample line with its timestamp set to {@code loggedAt}, as if logged one per second just
     * before the demo (windows by event time then show the run as a short history). The text is
     * edited in place, so that a malformed line stays malformed in the same way; a timestamp that
     * is not a number stays as it is, the record timestamp standing for it.
     */
    static String restamp(String line, long loggedAt) {
        return TIMESTAMP.matcher(line).replaceFirst("\"timestamp\":" + loggedAt);
    }

    private static String eventId(ObjectMapper json, String line, String fallback) {
        try {
            return json.readTree(line).path("event_id").asText(fallback);
        } catch (IOException e) {
            // a malformed line: find its id by hand so that it can be told apart in the dead letters
            int at = line.indexOf("\"event_id\"");
            if (at >= 0) {
                String rest = line.substring(line.indexOf(':', at) + 1).trim();
                if (rest.startsWith("\"") && rest.indexOf('"', 1) > 0) {
                    return rest.substring(1, rest.indexOf('"', 1));
                }
            }
            return fallback;
        }
    }

    /** The bundled sample: one JSON event per line; lines whose id starts with demo-bad or names a problem are malformed on purpose. */
    static List<String> sample(Integer limit) throws IOException {
        List<String> lines = new ArrayList<>();
        try (InputStream in = DemoCommand.class.getResourceAsStream(SAMPLE);
                BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (!line.isBlank()) {
                    lines.add(line);
                }
            }
        }
        if (limit != null) {
            if (limit <= 0) {
                throw new IllegalArgumentException("--events = " + limit + " must be positive");
            }
            return lines.subList(0, Math.min(limit, lines.size()));
        }
        return lines;
    }

    /**
     * A sample line that is a valid event: its id follows demo-NNN (the benchmarks draw their events
     * from these). The demo itself does not predict outcomes: it waits for each event's explanation
     * or dead letter and reports what the service did.
     */
    static boolean wellFormed(String sampleLine) {
        return sampleLine.matches("^\\{\"event_id\":\"demo-\\d{3}\".*");
    }

    /** The HTML report; a disk that fills up meanwhile is one line naming the option, as the checks before the demo are. */
    private static void writeReport(String option, Path file, Summary summary) throws IOException {
        List<HtmlReport.Entry> entries = summary.explanations.stream()
                .sorted(Comparator.comparing(Explanation::getEventId))
                .map(e -> new HtmlReport.Entry(e.getEventId(), ExplanationViews.toAttribution(e), ExplanationViews.summary(e), ExplanationViews.source(e),
                        details(e)))
                .toList();
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        OutputFile.write(option, file, HtmlReport.render("ExplainStream demo: " + entries.size() + " explanations", summary.forReport(), entries,
                Aggregate.SEGMENTS, CompletenessGap.DEFAULT_WARN_ABOVE, summary.stats.trends()));
    }

    private static HtmlReport.Details details(Explanation e) {
        List<String> notes = new ArrayList<>();
        if (e.getFlags().getPromptTruncated()) {
            notes.add("prompt truncated: its " + e.getFlags().getPromptTokensDropped() + " oldest tokens were dropped");
        }
        if (e.getFlags().getResponseTruncated()) {
            notes.add("response truncated: its last " + e.getFlags().getResponseTokensDropped() + " tokens were not explained");
        }
        if (e.getFlags().getRedacted()) {
            notes.add("redacted: token texts are not published");
        }
        if (e.getReplayId() != null) {
            notes.add("replay " + e.getReplayId());
        }
        return new HtmlReport.Details(e.getEventTime(), e.getProcessingTime(), e.getSourceModel(), e.getMetadata(), e.getBatchSize(),
                e.getAttributionLatencyMs(), notes);
    }

    /** What the demo saw. */
    private static final class Summary {
        final int sent;
        final List<Explanation> explanations = new ArrayList<>();
        final List<Long> latenciesMs = new ArrayList<>();
        final List<HtmlReport.DeadLetter> deadLetters = new ArrayList<>();
        double seconds;
        DemoStats stats = DemoStats.NONE;

        Summary(int sent) {
            this.sent = sent;
        }

        private long percentile(double q) {
            return PipelineBench.percentile(latenciesMs.stream().sorted().toList(), q);
        }

        private double engineMsPerEvent() {
            return explanations.stream().mapToDouble(e -> e.getAttributionLatencyMs() / e.getBatchSize()).average().orElse(0);
        }

        HtmlReport.RunSummary forReport() {
            return new HtmlReport.RunSummary(sent, deadLetters, seconds, percentile(0.5), percentile(0.99), engineMsPerEvent());
        }

        String describe(Path report) {
            return String.format(Locale.ROOT, "%nsummary: %d events sent, %d explained, %d dead letters%n"
                    + "throughput %.1f events/s over %.1f s · end-to-end latency p50 %d ms, p99 %d ms · engine time %.0f ms per event%n"
                    + "report: %s", sent, explanations.size(), deadLetters.size(), explanations.size() / Math.max(seconds, 1e-9),
                    seconds, percentile(0.5), percentile(0.99), engineMsPerEvent(), report.toAbsolutePath()) + stats.describe();
        }
    }

}
