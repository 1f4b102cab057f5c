package io.explainstream.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.attribution.AttributionEngine;
import io.explainstream.attribution.AttributionRequest;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.embedded.EmbeddedPlatform;
import io.explainstream.model.LlamaModel;
import io.explainstream.model.ModelOptions;
import io.explainstream.schema.Explanation;
import io.explainstream.stream.ExplainService;
import io.explainstream.stream.KafkaClients;
import io.explainstream.stream.ServiceConfig;
import io.explainstream.stream.Setting;
import io.explainstream.tokenize.ChatMessage;
import io.explainstream.tokenize.LlamaTokenizer;
import java.io.IOException;
import java.io.PrintWriter;
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
     * @param engineSeconds the engine alone: the mean of its runs before and after the pipeline
     * @param engineSecondsInService the engine's time inside the service while the clock ran
     * @param withoutStatsSeconds the same pipeline with stats.enabled=false
     * @param statsOverheadPercent what the statistics sub-topology adds: pipeline time with it over the time without it
     */
    public record Result(int events, double engineSeconds, double pipelineSeconds, double overheadPercent, long p50Ms, long p99Ms,
            double engineSecondsInService, double withoutStatsSeconds, double statsOverheadPercent) {}

    /** What the pipeline run measured: its time, the explanations' latencies, sorted, and the engine time inside it. */
    private record PipelineRun(double seconds, List<Long> latenciesMs, double engineSeconds) {}

    private final PrintWriter out;

    public PipelineBench(PrintWriter out) {
        this.out = out;
    }

    /**
     * Times the engine alone, the pipeline, and the engine alone again: on a shared machine the
     * speed drifts by tens of percent between runs minutes apart, so the pipeline is compared with
     * the mean of the runs on either side of it.
     *
     * @param sample JSON events (one per line, all valid), cycled with fresh ids up to {@code events}
     */
    public Result run(Path home, Path modelDir, List<String> sample, int events, int steps, int batch) throws Exception {
        List<String> payloads = payloads(sample, events);
        double before = engineOnly(modelDir, payloads, steps, batch);
        printEngine("engine alone, before", events, before, batch, steps);
        // Without the statistics, then with them (the default): the same events, one run after the other.
        PipelineRun withoutStats = pipeline(home, modelDir, payloads, steps, batch, false);
        out.printf(Locale.ROOT, "pipeline without statistics (stats.enabled=false): %d events in %.2f s; engine time inside the service %.2f s%n",
                withoutStats.latenciesMs().size(), withoutStats.seconds(), withoutStats.engineSeconds());
        out.flush();
        PipelineRun pipeline = pipeline(home, modelDir, payloads, steps, batch, true);
        double after = engineOnly(modelDir, payloads, steps, batch);
        printEngine("engine alone, after", events, after, batch, steps);
        double engineSeconds = (before + after) / 2;
        Result result = new Result(pipeline.latenciesMs().size(), engineSeconds, pipeline.seconds(),
                100 * (pipeline.seconds() - engineSeconds) / engineSeconds, percentile(pipeline.latenciesMs(), 0.5),
                percentile(pipeline.latenciesMs(), 0.99), pipeline.engineSeconds(), withoutStats.seconds(),
                100 * (pipeline.seconds() - withoutStats.seconds()) / withoutStats.seconds());
        out.printf(Locale.ROOT, "pipeline: %d events in %.2f s (%.2f events/s); overhead over the engine alone (mean %.2f s) %+.1f%%; "
                + "end-to-end latency p50 %d ms, p99 %d ms; engine time inside the service %.2f s%n", result.events(), result.pipelineSeconds(),
                result.events() / result.pipelineSeconds(), engineSeconds, result.overheadPercent(), result.p50Ms(), result.p99Ms(),
                result.engineSecondsInService());
        // Engine time inside each run is subtracted too: the engine's speed drifts between runs on a shared machine.
        double overheadOutsideEngine = 100 * ((pipeline.seconds() - pipeline.engineSeconds()) - (withoutStats.seconds() - withoutStats.engineSeconds()))
                / withoutStats.seconds();
        out.printf(Locale.ROOT, "statistics sub-topology overhead: %+.1f%% (%.2f s with it, %.2f s without); outside the engine %+.1f%% of the run%n",
                result.statsOverheadPercent(), result.pipelineSeconds(), result.withoutStatsSeconds(), overheadOutsideEngine);
        out.flush();
        return result;
    }

    private void printEngine(String label, int events, double seconds, int batch, int steps) {
        out.printf(Locale.ROOT, "%s: %d events in %.2f s (%.2f events/s), batches of %d, %d steps%n", label, events, seconds, events / seconds,
                batch, steps);
        out.flush();
    }

    private PipelineRun pipeline(Path home, Path modelDir, List<String> payloads, int steps, int batch, boolean stats) throws Exception {
        Path data = Files.createTempDirectory("explainstream-bench-");
        try (EmbeddedPlatform platform = EmbeddedPlatform.start(data, 0)) {
            ServiceConfig config = ServiceConfig.of(Map.of("application.id", "explainstream-bench", "state.dir", data.resolve("streams").toString(),
                    Setting.MODEL_DIR.key(), modelDir.toAbsolutePath().toString(),
                    Setting.STEPS.key(), Integer.toString(steps), Setting.BATCH_MAX_EVENTS.key(), Integer.toString(batch),
                    Setting.BATCH_MAX_WAIT_MS.key(), "200", Setting.OPS_PORT.key(), "-1", Setting.TOPICS_PARTITIONS.key(), "1",
                    Setting.STATS_ENABLED.key(), Boolean.toString(stats)))
                    .with(platform.clientSettings());
            try (ExplainService service = ExplainService.start(config, home, Clock.systemUTC())) {
                // The clock starts once the service has its partitions: joining the group is start-up, not throughput.
                service.awaitRunning(Duration.ofMinutes(2));
                return measurePipeline(config, platform, payloads, batch, () -> service.meters().find("explainstream.attribution.per.event").timer()
                        .totalTime(java.util.concurrent.TimeUnit.SECONDS));
            }
        } finally {
            try (var paths = Files.walk(data)) {
                paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
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

    /** The same events, tokenized as the service does, through the engine in the same batches. */
    private static double engineOnly(Path modelDir, List<String> payloads, int steps, int batch) throws IOException {
        ObjectMapper json = new ObjectMapper();
        try (LlamaModel model = LlamaModel.load(modelDir, ModelOptions.CPU_FLOAT32);
                LlamaTokenizer tokenizer = LlamaTokenizer.load(modelDir)) {
            AttributionEngine engine = new AttributionEngine(model, tokenizer);
            List<AttributionRequest> requests = new ArrayList<>();
            for (String payload : payloads) {
                JsonNode event = json.readTree(payload);
                var prompt = event.has("messages") ? tokenizer.encodeChat(messages(event.get("messages"))) : tokenizer.encodePrompt(event.get("prompt").asText());
                requests.add(new AttributionRequest(prompt, tokenizer.encodeResponse(event.get("response").asText())));
            }
            AttributionSettings settings = AttributionSettings.DEFAULTS.withSteps(steps);
            engine.attribute(requests.subList(0, Math.min(batch, requests.size())), settings); // warm-up
            long started = System.nanoTime();
            for (int from = 0; from < requests.size(); from += batch) {
                engine.attribute(requests.subList(from, Math.min(requests.size(), from + batch)), settings);
            }
            return (System.nanoTime() - started) / 1e9;
        }
    }

    private static List<ChatMessage> messages(JsonNode messages) {
        List<ChatMessage> out = new ArrayList<>();
        messages.forEach(m -> out.add(new ChatMessage(ChatMessage.Role.parse("role", m.get("role").asText()), m.get("content").asText())));
        return out;
    }

    /**
     * One batch of warm-up events first, as the engine-alone run has, then the timed events, all
     * sent at once; the time runs from the first send to the last explanation read.
     */
    private PipelineRun measurePipeline(ServiceConfig config, EmbeddedPlatform platform, List<String> payloads, int batch,
            DoubleSupplier engineSecondsSoFar) {
        Map<String, Long> sentAt = new HashMap<>();
        List<Long> latencies = new ArrayList<>();
        var deserializer = ConfluentAvroDeserializer.specific(new SchemaRegistryClient(RegistryConfig.of(platform.registryUrl())), Explanation.class);
        Properties producerProps = new Properties();
        producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, platform.bootstrapServers());
        producerProps.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.readCommittedConsumer(platform.clientSettings(), "bench", "earliest");
                KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer())) {
            consumer.subscribe(List.of(config.get(Setting.OUTPUT_TOPIC)));
            consumer.poll(Duration.ofMillis(500)); // join before producing
            List<String> warmUp = payloads.subList(0, Math.min(batch, payloads.size()));
            for (String payload : warmUp) {
                producer.send(new ProducerRecord<>(config.get(Setting.INPUT_TOPIC), "warm-up", payload.replace("\"bench-", "\"warm-up-")));
            }
            producer.flush();
            long warmUpDeadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
            for (int seen = 0; seen < warmUp.size() && System.nanoTime() < warmUpDeadline; ) {
                seen += consumer.poll(Duration.ofMillis(100)).count();
            }
            double engineAtStart = engineSecondsSoFar.getAsDouble();
            long started = System.nanoTime();
            for (String payload : payloads) {
                String id = payload.substring(payload.indexOf("bench-"), payload.indexOf('"', payload.indexOf("bench-")));
                sentAt.put(id, System.currentTimeMillis());
                producer.send(new ProducerRecord<>(config.get(Setting.INPUT_TOPIC), id, payload));
            }
            producer.flush();
            long deadline = System.nanoTime() + Duration.ofMinutes(30).toNanos();
            while (latencies.size() < payloads.size() && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    Explanation explanation = deserializer.deserialize(record.topic(), record.value());
                    latencies.add(System.currentTimeMillis() - sentAt.get(explanation.getEventId()));
                }
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            latencies.sort(Long::compare);
            return new PipelineRun(seconds, latencies, engineSecondsSoFar.getAsDouble() - engineAtStart);
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
