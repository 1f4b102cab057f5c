package io.explainstream.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionEngine;
import io.explainstream.attribution.AttributionRequest;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.NonFiniteAttributionException;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.embedded.EmbeddedPlatform;
import io.explainstream.input.PlainNumber;
import io.explainstream.model.LlamaModel;
import io.explainstream.model.ModelOptions;
import io.explainstream.schema.Explanation;
import io.explainstream.scratch.ScratchFolder;
import io.explainstream.stats.StatsTopology;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import io.explainstream.stream.output.DeadLetters;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.stream.topology.Scope;
import io.explainstream.text.Shortened;
import io.explainstream.tokenize.ChatTurn;
import io.explainstream.tokenize.LlamaTokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.DoubleSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The whole service on the embedded broker against the engine alone, on the same events and
 * batches in the same run: throughput of both, the pipeline's overhead in percent, and end-to-end
 * latency (produced → explanation consumed) p50/p99.
 */
public final class PipelineBench {

    /**
     * The measured figures.
     *
     * @param engineSeconds the engine alone: the mean of its runs before and after the pipelines
     * @param pipelineSeconds the pipeline with the statistics: the median of its runs
     * @param engineSecondsInService the engine's time inside that run of the service while the clock ran
     * @param withoutStatsSeconds the pipeline with stats.enabled=false: the median of its runs
     * @param rounds each round's pair of runs without and with the statistics
     * @param statsOverheadPercent what the statistics sub-topology adds: the median over the rounds
     *     of (with − without) / without
     * @param statsOverheadOutsideEnginePercent the same with each run's engine time taken out: the
     *     median over the rounds of the difference in the service's own work, in percent of the run without
     */
    public record Result(int events, double engineSeconds, double pipelineSeconds, double overheadPercent, long p50Ms, long p99Ms,
            double engineSecondsInService, double withoutStatsSeconds, List<Round> rounds, double statsOverheadPercent,
            double statsOverheadOutsideEnginePercent) {

        public Result {
            rounds = List.copyOf(rounds);
        }
    }

    /**
     * One round of the statistics' overhead: the same events through the pipeline without and with
     * the statistics, one right after the other.
     *
     * @param statsFirst whether the run with the statistics went first (rounds alternate the order)
     */
    public record Round(int number, boolean statsFirst, PipelineRun without, PipelineRun with) {

        /** (with − without) / without, in percent. */
        public double overheadPercent() {
            return 100 * (with.seconds() - without.seconds()) / without.seconds();
        }

        /** The difference in the service's own work (run time − engine time inside it), in percent of the run without. */
        public double outsideEnginePercent() {
            return 100 * (with.outsideEngineSeconds() - without.outsideEngineSeconds()) / without.seconds();
        }
    }

    /** What one pipeline run measured: its time, the explanations' latencies (sorted, and by event id), and the engine time inside it. */
    public record PipelineRun(double seconds, List<Long> latenciesMs, Map<String, Long> latencyById, double engineSeconds) {

        double outsideEngineSeconds() {
            return seconds - engineSeconds;
        }
    }

    /**
     * Latencies of the short events of a mixed stream, each way of batching measured in the same run.
     *
     * @param shortOnly p50/p99 ms of the short events in a stream without long ones
     * @param arrivalOrder p50/p99 ms of the same short events among long ones, batched in arrival order
     * @param byLength the same, batched by length
     */
    public record MixResult(long[] shortOnly, long[] arrivalOrder, long[] byLength) {}

    /**
     * batch.max.wait.ms of the bench's pipelines: a tenth of the service's default (2000 ms), so
     * that a run's last, partial batches are not timed waiting to fill. Said in the --mix report.
     */
    static final long PIPELINE_MAX_WAIT_MS = 200;
    /**
     * How long a pipeline run waits for the next explanation or dead letter before it names the
     * events still missing: far longer than a batch of the bench takes (the --mix runs' long
     * events, whole batches of them, waited 6.7 to 16.3 s at their p99; docs/benchmarks.md).
     */
    static final Duration STALL = Duration.ofMinutes(5);
    /** How much of a dead letter's reason the error of an incomplete run quotes, in UTF-16 units ({@link Shortened}). */
    private static final int REASON_CHARS = 200;

    private final PrintWriter out;

    public PipelineBench(PrintWriter out) {
        this.out = out;
    }

    /**
     * Times the engine alone, the pipeline without and with the statistics in {@code rounds}
     * rounds, and the engine alone again. On a shared machine the speed drifts by tens of percent
     * between runs minutes apart: the pipeline is compared with the mean of the engine runs on
     * either side, and the statistics' overhead is taken in each round from two runs back to back,
     * the order alternating from round to round (without-with, with-without, ...) so that a drift
     * during the run favours neither side, and reported as the median over the rounds.
     *
     * @param sample JSON events (one per line, all valid), cycled with fresh ids up to {@code events}
     */
    public Result run(Path home, Path modelDir, List<String> sample, int events, int steps, int batch, int rounds) throws Exception {
        List<String> payloads = payloads(sample, events);
        double before = engineOnly(modelDir, payloads, steps, batch);
        printEngine("engine alone, before", events, before, batch, steps);
        List<Round> measured = new ArrayList<>();
        try (Cluster cluster = new Cluster()) {
            // The first pipeline of a JVM pays for class loading and JIT: an untimed one first, so that the rounds start equal.
            pipeline(cluster, home, modelDir, payloads.subList(0, Math.min(payloads.size(), 4 * batch)), steps, batch, true);
            for (int number = 1; number <= rounds; number++) {
                boolean statsFirst = number % 2 == 0;
                PipelineRun first = pipeline(cluster, home, modelDir, payloads, steps, batch, statsFirst);
                printRun(number, statsFirst, first);
                PipelineRun second = pipeline(cluster, home, modelDir, payloads, steps, batch, !statsFirst);
                printRun(number, !statsFirst, second);
                Round round = statsFirst ? new Round(number, true, second, first) : new Round(number, false, first, second);
                measured.add(round);
                out.printf(Locale.ROOT, "round %d (%s): statistics overhead %+.1f%%; outside the engine %+.1f%% of the run%n", number,
                        statsFirst ? "with, then without" : "without, then with", round.overheadPercent(), round.outsideEnginePercent());
                out.flush();
            }
        }
        double after = engineOnly(modelDir, payloads, steps, batch);
        printEngine("engine alone, after", events, after, batch, steps);
        double engineSeconds = (before + after) / 2;
        PipelineRun pipeline = medianRun(measured.stream().map(Round::with).toList());
        PipelineRun withoutStats = medianRun(measured.stream().map(Round::without).toList());
        Result result = new Result(pipeline.latenciesMs().size(), engineSeconds, pipeline.seconds(),
                100 * (pipeline.seconds() - engineSeconds) / engineSeconds, percentile(pipeline.latenciesMs(), 0.5),
                percentile(pipeline.latenciesMs(), 0.99), pipeline.engineSeconds(), withoutStats.seconds(), measured,
                median(measured.stream().map(Round::overheadPercent).toList()), median(measured.stream().map(Round::outsideEnginePercent).toList()));
        out.printf(Locale.ROOT, "pipeline: %d events in %.2f s (%.2f events/s); overhead over the engine alone (mean %.2f s) %+.1f%%; "
                + "end-to-end latency p50 %d ms, p99 %d ms; engine time inside the service %.2f s%n", result.events(), result.pipelineSeconds(),
                result.events() / result.pipelineSeconds(), engineSeconds, result.overheadPercent(), result.p50Ms(), result.p99Ms(),
                result.engineSecondsInService());
        printRounds(result);
        return result;
    }

    private void printRun(int round, boolean stats, PipelineRun run) {
        out.printf(Locale.ROOT, "round %d, pipeline %s: %d events in %.2f s; engine time inside the service %.2f s%n", round,
                stats ? "with statistics" : "without statistics (stats.enabled=false)", run.latenciesMs().size(), run.seconds(), run.engineSeconds());
        out.flush();
    }

    /** The rounds as a table, then the medians. */
    private void printRounds(Result result) {
        out.println("round  order          without (s)  with (s)  overhead  engine without (s)  engine with (s)  outside the engine");
        for (Round round : result.rounds()) {
            out.printf(Locale.ROOT, "%5d  %-13s  %11.2f  %8.2f  %+7.1f%%  %18.2f  %15.2f  %+17.1f%%%n", round.number(),
                    round.statsFirst() ? "with-without" : "without-with", round.without().seconds(), round.with().seconds(), round.overheadPercent(),
                    round.without().engineSeconds(), round.with().engineSeconds(), round.outsideEnginePercent());
        }
        out.printf(Locale.ROOT, "statistics sub-topology overhead: median %+.1f%% over %d rounds (%.2f s with it, %.2f s without, medians);"
                + " outside the engine median %+.1f%% of the run%n", result.statsOverheadPercent(), result.rounds().size(), result.pipelineSeconds(),
                result.withoutStatsSeconds(), result.statsOverheadOutsideEnginePercent());
        out.flush();
    }

    /** The run of median time (the lower middle one of an even number). */
    private static PipelineRun medianRun(List<PipelineRun> runs) {
        List<PipelineRun> sorted = runs.stream().sorted(Comparator.comparingDouble(PipelineRun::seconds)).toList();
        return sorted.get((sorted.size() - 1) / 2);
    }

    static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private void printEngine(String label, int events, double seconds, int batch, int steps) {
        out.printf(Locale.ROOT, "%s: %d events in %.2f s (%.2f events/s), batches of %d, %d steps%n", label, events, seconds, events / seconds,
                batch, steps);
        out.flush();
    }

    /**
     * Short events with a share of long ones among them, through the pipeline three times in one
     * run: the short events alone, the mix batched in arrival order ({@code batch.by.length=false}),
     * and the mix batched by length. Reports the short events' latency p50/p99 of each.
     *
     * @param longShare the share of long events, e.g. 0.05
     * @param longTokens about how many prompt tokens a long event has
     */
    public MixResult mix(Path home, Path modelDir, List<String> sample, int events, int steps, int batch, double longShare, int longTokens)
            throws Exception {
        List<String> shorts = payloads(sample, events);
        ObjectMapper json = new ObjectMapper();
        List<String> mixed = new ArrayList<>();
        Set<String> longIds = new HashSet<>();
        int every = (int) Math.round(1 / longShare);
        LongPrompt longPrompt = longPrompt(modelDir, longTokens, shorts);
        if (events <= every / 2) {
            // The first long event is the middle one of the first `every`: fewer events have none, and the long events' percentiles read 0 ms.
            throw new IllegalArgumentException(String.format(Locale.ROOT, "--long-share = %s with --events = %d gives no long event: one in %d is"
                    + " long, the first of them event %d; send at least %d events or a larger share", longShare, events, every,
                    every / 2 + 1, every / 2 + 1));
        }
        for (int i = 0; i < shorts.size(); i++) {
            ObjectNode event = (ObjectNode) json.readTree(shorts.get(i));
            if (i % every == every / 2) {
                event.remove("messages");
                event.put("prompt", longPrompt.text());
                longIds.add(event.get("event_id").asText());
            }
            mixed.add(json.writeValueAsString(event));
        }
        List<String> shortOnly = new ArrayList<>();
        for (int i = 0; i < shorts.size(); i++) {
            if (!longIds.contains(json.readTree(shorts.get(i)).get("event_id").asText())) {
                shortOnly.add(shorts.get(i));
            }
        }
        out.printf(Locale.ROOT, "mix: %d events, %d of them long (%d prompt tokens), %d steps, batches of %d (batch.max.wait.ms %d)%n", mixed.size(),
                longIds.size(), longPrompt.tokens(), steps, batch, PIPELINE_MAX_WAIT_MS);
        // The first pipeline of a JVM pays for class loading and JIT: one untimed run first, so that
        // the three that are compared start equal.
        try (Cluster cluster = new Cluster()) {
            pipeline(cluster, home, modelDir, shortOnly.subList(0, Math.min(shortOnly.size(), 4 * batch)), steps, batch, false, true);
            long[] alone = shortPercentiles(pipeline(cluster, home, modelDir, shortOnly, steps, batch, false, true), longIds);
            report("short events alone", alone, null);
            PipelineRun arrivalRun = pipeline(cluster, home, modelDir, mixed, steps, batch, false, false);
            long[] arrival = shortPercentiles(arrivalRun, longIds);
            report("short events among long ones, arrival order (batch.by.length=false)", arrival, alone);
            report("long events, arrival order", longPercentiles(arrivalRun, longIds), null);
            PipelineRun byLengthRun = pipeline(cluster, home, modelDir, mixed, steps, batch, false, true);
            long[] byLength = shortPercentiles(byLengthRun, longIds);
            report("short events among long ones, by length (batch.by.length=true)", byLength, alone);
            // What the short events' gain costs the long ones: a due batch may wait for records read after it.
            report("long events, by length", longPercentiles(byLengthRun, longIds), null);
            return new MixResult(alone, arrival, byLength);
        }
    }

    /**
     * The long events' prompt: a sentence repeated until the model's tokenizer makes at least
     * {@code tokens} of it. Refused where, with the longest response of the sample, it would not
     * fit the model's context or limits.prompt.tokens: the service cuts such a prompt to fit, and
     * every longer setting would measure the same events (a hostile test: "about 400" and "about
     * 900" tokens both ran as the bundled model's 512).
     */
    static LongPrompt longPrompt(Path modelDir, int tokens, List<String> sample) throws IOException {
        try (LlamaTokenizer tokenizer = LlamaTokenizer.load(modelDir)) {
            ObjectMapper json = new ObjectMapper();
            int response = 0;
            for (String event : sample) {
                response = Math.max(response, tokenizer.encodeResponse(json.readTree(event).path("response").asText()).size());
            }
            int context = io.explainstream.model.LlamaConfig.read(modelDir).maxPositions();
            int most = Math.min(context - response, Integer.parseInt(Setting.PROMPT_TOKEN_LIMIT.defaultValue()));
            if (most < 1) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "--mix needs a model whose context holds a prompt beside the sample's"
                        + " longest response (%d tokens); this model's context is %d tokens", response, context));
            }
            if (tokens < 1 || tokens > most) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "--long-tokens = %d must be in [1, %d]: the model's context is %d tokens,"
                        + " the sample's longest response takes %d of them, and %s = %s", tokens, most, context, response,
                        Setting.PROMPT_TOKEN_LIMIT.key(), Setting.PROMPT_TOKEN_LIMIT.defaultValue()));
            }
            String sentence = "Once upon a time, there was a little dog who liked to run in the park. ";
            StringBuilder prompt = new StringBuilder(sentence);
            int made = tokenizer.encodePrompt(sentence).size();
            while (made < tokens) {
                prompt.append(sentence);
                made = tokenizer.encodePrompt(prompt.toString()).size();
            }
            return new LongPrompt(prompt.toString(), made);
        }
    }

    /** A long events' prompt and the tokens the model's tokenizer makes of it. */
    record LongPrompt(String text, int tokens) {}

    private void report(String label, long[] percentiles, long[] baseline) {
        out.printf(Locale.ROOT, "%s: p50 %d ms, p99 %d ms%s%n", label, percentiles[0], percentiles[1],
                baseline == null ? "" : String.format(Locale.ROOT, " (p99 %.2fx the short events' alone)", (double) percentiles[1] / Math.max(1, baseline[1])));
        out.flush();
    }

    private static long[] shortPercentiles(PipelineRun run, Set<String> longIds) {
        return percentiles(run, id -> !longIds.contains(id));
    }

    private static long[] longPercentiles(PipelineRun run, Set<String> longIds) {
        return percentiles(run, longIds::contains);
    }

    /** The p50 and p99 latency of the events whose id passes {@code counted}. */
    private static long[] percentiles(PipelineRun run, java.util.function.Predicate<String> counted) {
        List<Long> latencies = new ArrayList<>();
        run.latencyById().forEach((id, latency) -> {
            if (counted.test(id)) {
                latencies.add(latency);
            }
        });
        latencies.sort(Long::compare);
        return new long[] {percentile(latencies, 0.5), percentile(latencies, 0.99)};
    }

    /**
     * One embedded broker and registry for all the pipeline runs of a bench (the offered-rate bench
     * has one run): each run has its own
     * application id and topics, so that runs share nothing but the broker, whose start-up (4 s
     * on 2 cores) is then paid once instead of once per run.
     */
    static final class Cluster implements AutoCloseable {

        /** Its folder under the temp folder, explainstream-bench-cluster-*: broker data and stream state, gigabytes after a long run. */
        static final String PREFIX = "explainstream-bench-cluster-";

        private final ScratchFolder folder;
        private final Path data;
        private final EmbeddedPlatform platform;
        private int runs;

        Cluster() throws Exception {
            // Deleted however the bench ends (ScratchFolder): a bench stopped with Ctrl-C had left 1.3 GB in /tmp.
            folder = ScratchFolder.create(Path.of(System.getProperty("java.io.tmpdir")), PREFIX);
            data = folder.path();
            // The broker writes in the folder until it stops: stopped before the folder goes.
            platform = folder.closesFirst(EmbeddedPlatform.start(data, 0)).get();
        }

        /** The settings of the next run: its own application id, topics and state folder. */
        Map<String, String> nextRun() {
            String name = "bench-" + ++runs;
            Map<String, String> settings = new HashMap<>(Map.of("application.id", "explainstream-" + name, "state.dir",
                    data.resolve("streams-" + runs).toString(), Setting.INPUT_TOPIC.key(), name + "-in", Setting.OUTPUT_TOPIC.key(), name + "-out",
                    Setting.DLQ_TOPIC.key(), name + "-dlq", Setting.STATS_TOPIC.key(), name + "-stats", Setting.ALERTS_TOPIC.key(), name + "-alerts"));
            settings.putAll(platform.clientSettings());
            return settings;
        }

        /**
         * Starts a run's service, whose stream state is in the folder: closed through the handle,
         * or by the folder before it goes (a bench stopped mid-run: the stream's RocksDB stores make
         * their folders again while the shutdown hook deletes them).
         */
        ScratchFolder.Writer<ExplainService> start(ServiceConfig config, Path home) throws Exception {
            return folder.closesFirst(ExplainService.start(config, home, Scope.live(), List.of(StatsTopology.extension()), Clock.systemUTC()));
        }

        /** Stops the broker, then deletes the folder. */
        @Override
        public void close() throws IOException {
            folder.close();
        }
    }

    /** The pipeline with length buckets: the default. */
    PipelineRun pipeline(Cluster cluster, Path home, Path modelDir, List<String> payloads, int steps, int batch, boolean stats) throws Exception {
        return pipeline(cluster, home, modelDir, payloads, steps, batch, stats, true);
    }

    private PipelineRun pipeline(Cluster cluster, Path home, Path modelDir, List<String> payloads, int steps, int batch, boolean stats, boolean byLength)
            throws Exception {
        Map<String, String> settings = cluster.nextRun();
        settings.putAll(Map.of(Setting.MODEL_DIR.key(), modelDir.toAbsolutePath().toString(),
                Setting.STEPS.key(), Integer.toString(steps), Setting.BATCH_MAX_EVENTS.key(), Integer.toString(batch),
                Setting.BATCH_MAX_WAIT_MS.key(), Long.toString(PIPELINE_MAX_WAIT_MS), Setting.OPS_PORT.key(), "-1", Setting.TOPICS_PARTITIONS.key(), "1",
                Setting.BATCH_BY_LENGTH.key(), Boolean.toString(byLength), Setting.STATS_ENABLED.key(), Boolean.toString(stats)));
        ServiceConfig config = ServiceConfig.of(settings);
        try (ScratchFolder.Writer<ExplainService> running = cluster.start(config, home)) {
            ExplainService service = running.get();
            // The clock starts once the service has its partitions: joining the group is start-up, not throughput.
            service.awaitRunning(Duration.ofMinutes(2));
            return measurePipeline(config, cluster.platform, stampedNow(payloads), batch, () -> service.meters().find("explainstream.attribution.per.event").timer()
                    .totalTime(java.util.concurrent.TimeUnit.SECONDS));
        }
    }

    /**
     * The events with their timestamp set to now: a later run of the same events would otherwise
     * start minutes behind in event time, and backlog control (audit.max.lag.ms) would degrade it.
     */
    private static List<String> stampedNow(List<String> payloads) throws IOException {
        ObjectMapper json = new ObjectMapper();
        long now = System.currentTimeMillis();
        List<String> stamped = new ArrayList<>(payloads.size());
        for (String payload : payloads) {
            ObjectNode event = (ObjectNode) json.readTree(payload);
            event.put("timestamp", now);
            stamped.add(json.writeValueAsString(event));
        }
        return stamped;
    }

    private static List<String> payloads(List<String> sample, int events) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> payloads = new ArrayList<>();
        for (int i = 0; i < events; i++) {
            ObjectNode event = (ObjectNode) json.readTree(sample.get(i % sample.size()));
            event.put("event_id", "bench-" + i);
            event.put("timestamp", System.currentTimeMillis());
            payloads.add(json.writeValueAsString(event));
        }
        return payloads;
    }

    /** Seconds for the same events, tokenized as the service does, through the engine in the same batches, after one warm-up batch. */
    private static double engineOnly(Path modelDir, List<String> payloads, int steps, int batch) throws IOException {
        return afterWarmUp(modelDir, payloads, steps, batch, (engine, requests, settings) -> pass(engine, requests, settings, batch));
    }

    /**
     * The engine's full-method rate on these events, in events per second: the faster of two timed
     * passes after a warm-up batch (on a shared machine a neighbour's burst can slow one pass
     * several-fold).
     */
    private static double capacity(Path modelDir, List<String> payloads, int steps, int batch) throws IOException {
        return afterWarmUp(modelDir, payloads, steps, batch, (engine, requests, settings) ->
                requests.size() / Math.min(pass(engine, requests, settings, batch), pass(engine, requests, settings, batch)));
    }

    /** A measurement of the engine on prepared requests. */
    private interface EngineMeasurement {
        double on(AttributionEngine engine, List<AttributionRequest> requests, AttributionSettings settings);
    }

    /** Loads the model, prepares the events, runs one warm-up batch, then {@code measurement}. */
    private static double afterWarmUp(Path modelDir, List<String> payloads, int steps, int batch, EngineMeasurement measurement) throws IOException {
        try (LlamaModel model = LlamaModel.load(modelDir, ModelOptions.CPU_FLOAT32);
                LlamaTokenizer tokenizer = LlamaTokenizer.load(modelDir)) {
            AttributionEngine engine = new AttributionEngine(model, tokenizer);
            List<AttributionRequest> requests = requests(tokenizer, payloads);
            AttributionSettings settings = AttributionSettings.DEFAULTS.withSteps(steps);
            finite(engine.attribute(requests.subList(0, Math.min(batch, requests.size())), settings));
            return measurement.on(engine, requests, settings);
        }
    }

    /**
     * The events as the service tokenizes them, in the order it batches them by default
     * (batch.by.length): events of similar length together. In arrival order a batch pads every
     * event to its longest one, and the engine alone then measured about half of what the service
     * explains.
     */
    private static List<AttributionRequest> requests(LlamaTokenizer tokenizer, List<String> payloads) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<AttributionRequest> requests = new ArrayList<>();
        for (String payload : payloads) {
            JsonNode event = json.readTree(payload);
            var prompt = event.has("messages") ? tokenizer.encodeChat(messages(event.get("messages"))) : tokenizer.encodePrompt(event.get("prompt").asText());
            requests.add(new AttributionRequest(prompt, tokenizer.encodeResponse(event.get("response").asText())));
        }
        requests.sort(java.util.Comparator.comparingInt(r -> r.prompt().size() + r.response().size()));
        return requests;
    }

    /** Seconds for one pass of the engine over the requests, in batches of {@code batch}. */
    private static double pass(AttributionEngine engine, List<AttributionRequest> requests, AttributionSettings settings, int batch) {
        long started = System.nanoTime();
        for (int from = 0; from < requests.size(); from += batch) {
            finite(engine.attribute(requests.subList(from, Math.min(requests.size(), from + batch)), settings));
        }
        return (System.nanoTime() - started) / 1e9;
    }

    /**
     * Throws for the first attribution with a NaN or infinite number: the engine-alone times of a
     * model that gives them were reported as any others, before the pipeline run failed on its
     * dead letters (a hostile test, with one embedding row scaled to 3e38).
     */
    private static void finite(List<Attribution> attributions) {
        attributions.forEach(NonFiniteAttributionException::requireFinite);
    }

    private static List<ChatTurn> messages(JsonNode messages) {
        List<ChatTurn> out = new ArrayList<>();
        messages.forEach(m -> out.add(new ChatTurn(ChatTurn.Role.parse("role", m.get("role").asText()), m.get("content").asText())));
        return out;
    }

    /**
     * One batch of warm-up events first, as the engine-alone run has, then the timed events, all
     * sent at once; the time runs from the first send to the last explanation read. The dead
     * letters are read too: an event that becomes one, or that has neither an explanation nor a
     * dead letter {@link #STALL} after the last record read, ends the run with an
     * {@link Incomplete} that names it. Before, the bench waited half an hour for it and left it
     * out of the percentiles without a word.
     */
    private PipelineRun measurePipeline(ServiceConfig config, EmbeddedPlatform platform, List<String> payloads, int batch,
            DoubleSupplier engineSecondsSoFar) {
        Map<String, Long> sentAt = new HashMap<>();
        Map<String, Long> latencyById = new HashMap<>();
        Map<String, String> deadLetters = new LinkedHashMap<>();
        String outputTopic = config.get(Setting.OUTPUT_TOPIC);
        var deserializer = ConfluentAvroDeserializer.specific(new SchemaRegistryClient(RegistryConfig.of(platform.registryUrl())), Explanation.class);
        Properties producerProps = new Properties();
        producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, platform.bootstrapServers());
        producerProps.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.readCommittedConsumer(platform.clientSettings(), "bench-" + outputTopic, "earliest");
                KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer())) {
            consumer.subscribe(List.of(outputTopic, config.get(Setting.DLQ_TOPIC)));
            consumer.poll(Duration.ofMillis(500)); // join before producing
            List<String> warmUp = payloads.subList(0, Math.min(batch, payloads.size()));
            for (String payload : warmUp) {
                producer.send(new ProducerRecord<>(config.get(Setting.INPUT_TOPIC), "warm-up", payload.replace("\"bench-", "\"warm-up-")));
            }
            producer.flush();
            long lastReadNanos = System.nanoTime();
            for (int seen = 0; seen < warmUp.size() && System.nanoTime() - lastReadNanos < STALL.toNanos(); ) {
                int read = consumer.poll(Duration.ofMillis(100)).count();
                seen += read;
                lastReadNanos = read > 0 ? System.nanoTime() : lastReadNanos;
            }
            double engineAtStart = engineSecondsSoFar.getAsDouble();
            long started = System.nanoTime();
            for (String payload : payloads) {
                String id = payload.substring(payload.indexOf("bench-"), payload.indexOf('"', payload.indexOf("bench-")));
                sentAt.put(id, System.currentTimeMillis());
                producer.send(new ProducerRecord<>(config.get(Setting.INPUT_TOPIC), id, payload));
            }
            producer.flush();
            lastReadNanos = System.nanoTime();
            while (latencyById.size() + deadLetters.size() < payloads.size() && System.nanoTime() - lastReadNanos < STALL.toNanos()) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    lastReadNanos = System.nanoTime();
                    String key = record.key() == null ? "" : new String(record.key(), StandardCharsets.UTF_8);
                    if (!record.topic().equals(outputTopic)) {
                        if (sentAt.containsKey(key)) {
                            deadLetters.putIfAbsent(key, header(record, DeadLetters.REASON));
                        }
                        continue;
                    }
                    Explanation explanation = deserializer.deserialize(record.topic(), record.value());
                    if (!sentAt.containsKey(explanation.getEventId())) {
                        continue; // a warm-up event's, read late
                    }
                    latencyById.putIfAbsent(explanation.getEventId(), System.currentTimeMillis() - sentAt.get(explanation.getEventId()));
                }
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            if (latencyById.size() < payloads.size()) {
                throw new Incomplete(latencyById.size(), payloads.size(), deadLetters, sentAt.keySet().stream()
                        .filter(id -> !latencyById.containsKey(id) && !deadLetters.containsKey(id)).sorted().toList());
            }
            List<Long> latencies = latencyById.values().stream().sorted().toList();
            return new PipelineRun(seconds, latencies, latencyById, engineSecondsSoFar.getAsDouble() - engineAtStart);
        }
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        var header = record.headers().lastHeader(name);
        if (header == null || header.value() == null) {
            return "no reason given";
        }
        // A reason may quote its input at length (up to 4,096 characters): the error stays one readable line.
        String reason = new String(header.value(), StandardCharsets.UTF_8);
        return Shortened.cut(reason, REASON_CHARS);
    }

    /**
     * A pipeline run in which not every event was explained: percentiles over the rest would
     * leave the missing ones out without a word, so none are reported. The message names the
     * events, each dead letter with its reason.
     */
    public static final class Incomplete extends RuntimeException {

        /** How many missing events the message names, at most. */
        private static final int NAMED = 5;

        Incomplete(int explained, int sent, Map<String, String> deadLetters, List<String> unanswered) {
            super(message(explained, sent, deadLetters, unanswered));
        }

        private static String message(int explained, int sent, Map<String, String> deadLetters, List<String> unanswered) {
            List<String> named = new ArrayList<>();
            deadLetters.forEach((id, reason) -> named.add(id + " became a dead letter (" + reason + ")"));
            unanswered.forEach(id -> named.add(id + " has neither an explanation nor a dead letter " + STALL.toMinutes()
                    + " minutes after the last record read"));
            String more = named.size() > NAMED ? "; and " + (named.size() - NAMED) + " more" : "";
            return "the pipeline explained " + explained + " of the " + sent + " events sent: " + String.join("; ", named.subList(0, Math.min(NAMED,
                    named.size()))) + more + ". No latency is reported over the rest";
        }
    }

    /**
     * What an offered-rate run measured.
     *
     * @param offeredPerSecond the rate events were produced at
     * @param produced events produced
     * @param byTier explanations by tier/reason
     * @param skipped events counted as skipped (by reason)
     * @param forced events flagged metadata.audit=full, and how many of them were explained in full
     * @param lagAfterFirstMinuteMaxMs the largest end-to-end lag of an explanation consumed after the first minute
     */
    public record RateResult(double offeredPerSecond, int produced, Map<String, Integer> byTier, Map<String, Double> skipped, int forced,
            int forcedFull, long lagAfterFirstMinuteMaxMs, boolean accounted) {}

    /** The number in --offered-rate X or Nx, a plain decimal. */
    private static double rateNumber(String rate, String number) {
        try {
            return PlainNumber.parseDouble(number);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--offered-rate = " + rate + " is not events per second (X) or a multiple of the engine's capacity (Nx)");
        }
    }

    /**
     * Produces events at a fixed rate for a while through the whole service with backlog control,
     * and reports offered against explained per tier, the lag over time, and whether every event
     * was accounted for.
     *
     * @param rate events per second, or {@code Nx}: N times the engine's measured full-method capacity
     * @param forcedShare share of events flagged {@code metadata.audit=full}
     */
    public RateResult offeredRate(Path home, Path modelDir, List<String> sample, String rate, int durationSeconds, int steps, int batch,
            long maxLagMs, double sampleRate, double forcedShare) throws Exception {
        boolean multiple = rate.endsWith("x");
        double number = rateNumber(rate, multiple ? rate.substring(0, rate.length() - 1) : rate);
        if (!(number > 0)) {
            // Before the engine is measured for Nx: "0x" was refused only after 9 s of it (a hostile test).
            throw new IllegalArgumentException("--offered-rate = " + rate + " must be positive");
        }
        double perSecond = number;
        if (multiple) {
            // The whole sample, which the offered events cycle through: its first 32 events alone are
            // longer than its average, and measured half of what the service then kept up with.
            double capacity = capacity(modelDir, payloads(sample, Math.max(batch, sample.size())), steps, batch);
            perSecond = number * capacity;
            out.printf(Locale.ROOT, "engine alone, full method (%d steps, batches of %d): %.1f events/s; offering %s = %.1f events/s%n", steps, batch,
                    capacity, rate, perSecond);
        }
        if (!(perSecond * durationSeconds >= 1)) {
            // Event i goes out at i / rate: below one event in all, the first went out alone and the report said "0.0 events/s".
            throw new IllegalArgumentException(String.format(Locale.ROOT, "--offered-rate = %s (%s events/s) for --duration = %d s offers %s events:"
                    + " give a rate and a duration that offer at least one", rate, perSecond, durationSeconds, perSecond * durationSeconds));
        }
        out.flush();
        ObjectMapper json = new ObjectMapper();
        try (Cluster cluster = new Cluster()) {
            EmbeddedPlatform platform = cluster.platform;
            Map<String, String> settings = cluster.nextRun();
            settings.putAll(Map.of(Setting.MODEL_DIR.key(), modelDir.toAbsolutePath().toString(), Setting.STEPS.key(), Integer.toString(steps),
                    Setting.BATCH_MAX_EVENTS.key(), Integer.toString(batch), Setting.BATCH_MAX_WAIT_MS.key(), Long.toString(PIPELINE_MAX_WAIT_MS), Setting.OPS_PORT.key(), "-1",
                    Setting.TOPICS_PARTITIONS.key(), "1", Setting.AUDIT_MAX_LAG_MS.key(), Long.toString(maxLagMs)));
            settings.put(Setting.AUDIT_SAMPLE_RATE.key(), Double.toString(sampleRate));
            ServiceConfig config = ServiceConfig.of(settings);
            try (ScratchFolder.Writer<ExplainService> running = cluster.start(config, home)) {
                ExplainService service = running.get();
                service.awaitRunning(Duration.ofMinutes(2));
                var deserializer = ConfluentAvroDeserializer.specific(new SchemaRegistryClient(RegistryConfig.of(platform.registryUrl())), Explanation.class);
                Properties producerProps = new Properties();
                producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, platform.bootstrapServers());
                producerProps.put(ProducerConfig.LINGER_MS_CONFIG, "5");
                Set<String> forcedIds = new HashSet<>();
                Set<String> forcedFull = new HashSet<>();
                Map<String, Integer> byTier = new java.util.TreeMap<>();
                Set<String> explained = new HashSet<>();
                Map<Long, List<Long>> lagByWindow = new java.util.TreeMap<>();
                int every = forcedShare > 0 ? (int) Math.round(1 / forcedShare) : Integer.MAX_VALUE;
                try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.readCommittedConsumer(platform.clientSettings(), "bench-rate", "earliest");
                        KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer())) {
                    consumer.subscribe(List.of(config.get(Setting.OUTPUT_TOPIC)));
                    consumer.poll(Duration.ofMillis(500));
                    long started = System.currentTimeMillis();
                    long produceUntil = started + durationSeconds * 1000L;
                    int produced = 0;
                    long deadline = produceUntil + Math.max(120_000, 2L * durationSeconds * 1000);
                    while (System.currentTimeMillis() < deadline) {
                        long now = System.currentTimeMillis();
                        // Catch up to the schedule: event i goes out at started + i / rate.
                        while (now < produceUntil && produced < (now - started) * perSecond / 1000.0) {
                            ObjectNode event = (ObjectNode) json.readTree(sample.get(produced % sample.size()));
                            String id = "rate-" + produced;
                            event.put("event_id", id);
                            event.put("timestamp", now);
                            ObjectNode metadata = event.has("metadata") ? (ObjectNode) event.get("metadata") : event.putObject("metadata");
                            if (produced % every == 0) {
                                metadata.put("audit", "full");
                                forcedIds.add(id);
                            } else {
                                metadata.remove("audit");
                            }
                            producer.send(new ProducerRecord<>(config.get(Setting.INPUT_TOPIC), id, json.writeValueAsString(event)));
                            produced++;
                        }
                        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(50))) {
                            Explanation e = deserializer.deserialize(record.topic(), record.value());
                            long consumedAt = System.currentTimeMillis();
                            if (!explained.add(e.getEventId())) {
                                continue;
                            }
                            byTier.merge(e.getTier() + "/" + e.getTierReason(), 1, Integer::sum);
                            if (forcedIds.contains(e.getEventId()) && e.getTier() == io.explainstream.schema.ExplanationTier.FULL) {
                                forcedFull.add(e.getEventId());
                            }
                            lagByWindow.computeIfAbsent((consumedAt - started) / 10_000, w -> new ArrayList<>()).add(consumedAt - e.getEventTime().toEpochMilli());
                        }
                        double skipped = service.metrics().count("explainstream.events.skipped");
                        if (now >= produceUntil && explained.size() + skipped >= produced) {
                            break;
                        }
                    }
                    Map<String, Double> skipped = new java.util.TreeMap<>();
                    for (String reason : List.of("not_sampled", "backlog", "other_model")) {
                        double count = service.metrics().count("explainstream.events.skipped", "reason", reason);
                        if (count > 0) {
                            skipped.put(reason, count);
                        }
                    }
                    double skippedTotal = skipped.values().stream().mapToDouble(Double::doubleValue).sum();
                    long lagAfterMinute = 0;
                    out.printf(Locale.ROOT, "offered %.1f events/s for %d s: %d events (%d flagged metadata.audit=full); audit.max.lag.ms %d, audit.sample.rate %s%n",
                            perSecond, durationSeconds, produced, forcedIds.size(), maxLagMs, sampleRate);
                    out.println("window (s)  explained  lag p50 (s)  lag max (s)");
                    for (Map.Entry<Long, List<Long>> window : lagByWindow.entrySet()) {
                        List<Long> lags = window.getValue();
                        lags.sort(Long::compare);
                        long max = lags.get(lags.size() - 1);
                        if (window.getKey() >= 6) {
                            lagAfterMinute = Math.max(lagAfterMinute, max);
                        }
                        out.printf(Locale.ROOT, "%4d-%-4d   %9d  %11.1f  %11.1f%n", window.getKey() * 10, window.getKey() * 10 + 10, lags.size(),
                                percentile(lags, 0.5) / 1000.0, max / 1000.0);
                    }
                    boolean accounted = explained.size() + (int) skippedTotal == produced;
                    out.printf(Locale.ROOT, "explained %d %s; skipped %s; explained + skipped = %d of %d produced (%s)%n", explained.size(), byTier, skipped,
                            explained.size() + (int) skippedTotal, produced, accounted ? "all accounted for" : "NOT all accounted for");
                    out.printf(Locale.ROOT, "forced events explained in full: %d of %d; largest lag after the first minute %.1f s (%s audit.max.lag.ms)%n",
                            forcedFull.size(), forcedIds.size(), lagAfterMinute / 1000.0, lagAfterMinute <= maxLagMs ? "under" : "OVER");
                    out.flush();
                    return new RateResult(perSecond, produced, byTier, skipped, forcedIds.size(), forcedFull.size(), lagAfterMinute, accounted);
                }
            }
        }
    }

    /** The value at a quantile of a sorted list (nearest rank); 0 for an empty list. */
    public static long percentile(List<Long> sorted, double quantile) {
        if (sorted.isEmpty()) {
            return 0;
        }
        int index = (int) Math.ceil(quantile * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }

}
