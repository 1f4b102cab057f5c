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
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The whole service on the embedded broker against the engine alone, on the same events and
 * batches in the same run: throughput of both, the pipeline's overhead in percent, and end-to-end
 * latency (produced → explanation consumed) p50/p99.
 */
public final class PipelineBench {

    /** The measured figures. */
    public record Result(int events, double engineSeconds, double pipelineSeconds, double overheadPercent, long p50Ms, long p99Ms,
            double engineSecondsInService) {}

    private final PrintWriter out;

    public PipelineBench(PrintWriter out) {
        this.out = out;
    }

    /**
     * @param sample JSON events (one per line, all valid), cycled with fresh ids up to {@code events}
     */
    public Result run(Path home, Path modelDir, List<String> sample, int events, int steps, int batch) throws Exception {
        List<String> payloads = payloads(sample, events);
        double engineSeconds = engineOnly(modelDir, payloads, steps, batch);
        out.printf(Locale.ROOT, "engine alone: %d events in %.2f s (%.2f events/s), batches of %d, %d steps%n", events, engineSeconds,
                events / engineSeconds, batch, steps);
        out.flush();
        Path data = Files.createTempDirectory("explainstream-bench-");
        try (EmbeddedPlatform platform = EmbeddedPlatform.start(data, 0)) {
            ServiceConfig config = ServiceConfig.of(Map.of("application.id", "explainstream-bench", "state.dir", data.resolve("streams").toString(),
                    Setting.MODEL_DIR.key(), modelDir.toAbsolutePath().toString(),
                    Setting.STEPS.key(), Integer.toString(steps), Setting.BATCH_MAX_EVENTS.key(), Integer.toString(batch),
                    Setting.BATCH_MAX_WAIT_MS.key(), "200", Setting.OPS_PORT.key(), "-1", Setting.TOPICS_PARTITIONS.key(), "1"))
                    .with(platform.clientSettings());
            try (ExplainService service = ExplainService.start(config, home, null, Clock.systemUTC())) {
                Result measured = measurePipeline(config, platform, payloads, engineSeconds);
                double inService = service.meters().find("explainstream.attribution.per.event").timer().totalTime(java.util.concurrent.TimeUnit.SECONDS);
                Result result = new Result(measured.events(), measured.engineSeconds(), measured.pipelineSeconds(), measured.overheadPercent(),
                        measured.p50Ms(), measured.p99Ms(), inService);
                out.printf(Locale.ROOT, "pipeline: %d events in %.2f s (%.2f events/s); overhead over the engine alone %+.1f%%; "
                        + "end-to-end latency p50 %d ms, p99 %d ms; engine time inside the service %.2f s%n", result.events(), result.pipelineSeconds(),
                        result.events() / result.pipelineSeconds(), result.overheadPercent(), result.p50Ms(), result.p99Ms(), result.engineSecondsInService());
                out.flush();
                return result;
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

    private Result measurePipeline(ServiceConfig config, EmbeddedPlatform platform, List<String> payloads, double engineSeconds) {
        Map<String, Long> sentAt = new HashMap<>();
        List<Long> latencies = new ArrayList<>();
        Properties consumerProps = new Properties();
        consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, platform.bootstrapServers());
        consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-" + UUID.randomUUID());
        consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        consumerProps.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        var deserializer = ConfluentAvroDeserializer.specific(new SchemaRegistryClient(RegistryConfig.of(platform.registryUrl())), Explanation.class);
        Properties producerProps = new Properties();
        producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, platform.bootstrapServers());
        producerProps.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProps, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer())) {
            consumer.subscribe(List.of(config.get(Setting.OUTPUT_TOPIC)));
            consumer.poll(Duration.ofMillis(500)); // join before producing
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
            return new Result(latencies.size(), engineSeconds, seconds, 100 * (seconds - engineSeconds) / engineSeconds, percentile(latencies, 0.5),
                    percentile(latencies, 0.99), 0);
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
