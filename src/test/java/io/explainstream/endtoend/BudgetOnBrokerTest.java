package io.explainstream.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.schema.Explanation;
import io.explainstream.stream.audit.AuditPolicy;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.testing.InJvmKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A burst far beyond the engine's capacity on a real broker, with a lag limit of 2 s: the service
 * degrades, and at the end every event is accounted for (explained in some tier, or counted as
 * skipped), every explanation carries its tier, forced events all got the full method, and the
 * tier and skip counters match the records.
 */
@Tag("slow")
class BudgetOnBrokerTest {

    private static final int EVENTS = 240;

    @Test
    void aBurstLargerThanCapacityEndsWithEveryEventAccountedForAndTheMetricsMatchingTheRecords(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            Map<String, String> settings = settings(kafka, registry, dir, "budget", 32);
            settings.putAll(Map.of("audit.sample.rate", "0.5", "audit.sample.always", "metadata.tenant=vip", "audit.max.lag.ms", "2000",
                    "audit.min.steps", "4", "batch.max.wait.ms", "200"));
            AuditPolicy audit = ServiceConfig.of(settings).auditPolicy();
            try (ExplainService service = ExplainService.start(ServiceConfig.of(settings), TestData.repo(), Clock.systemUTC())) {
                assertTrue(service.awaitRunning(Duration.ofSeconds(60)), "started");
                // The most input records backlog control counted as waiting, sampled while the burst is explained.
                java.util.concurrent.atomic.AtomicLong mostWaiting = new java.util.concurrent.atomic.AtomicLong();
                var waiting = service.metrics().registry().get("explainstream.input.waiting.records").gauge();
                var sampler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
                sampler.scheduleAtFixedRate(() -> mostWaiting.accumulateAndGet((long) waiting.value(), Math::max), 0, 20,
                        java.util.concurrent.TimeUnit.MILLISECONDS);
                try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                    for (int i = 0; i < EVENTS; i++) {
                        String id = "b-" + i;
                        String json = "{\"event_id\":\"" + id + "\",\"timestamp\":" + System.currentTimeMillis() + ",\"model\":\"stories260K\","
                                + "\"prompt\":\"Once upon a time, there was a little girl named\",\"response\":\"Lily. She loved to play\","
                                + "\"metadata\":{\"tenant\":\"" + (i % 10 == 0 ? "vip" : "acme") + "\"}}";
                        producer.send(new ProducerRecord<>("budget-in", id.getBytes(StandardCharsets.UTF_8), json.getBytes(StandardCharsets.UTF_8)));
                    }
                }
                var deserializer = ConfluentAvroDeserializer.specific(new SchemaRegistryClient(RegistryConfig.of(registry.url().toString())),
                        Explanation.class);
                List<Explanation> out = new ArrayList<>();
                long deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos();
                double skipped = 0;
                while (out.size() + skipped < EVENTS && System.nanoTime() < deadline) {
                    out.clear();
                    for (ConsumerRecord<byte[], byte[]> record : kafka.readCommitted("budget-out", records -> false, Duration.ofMillis(1000))) {
                        out.add(deserializer.deserialize(record.topic(), record.value()));
                    }
                    skipped = service.metrics().count("explainstream.events.skipped");
                }
                Map<String, Integer> byTier = new TreeMap<>();
                for (Explanation e : out) {
                    byTier.merge(e.getTier() + "/" + e.getTierReason(), 1, Integer::sum);
                    AuditPolicy.Choice choice = audit.choose(new io.explainstream.stream.ingest.InputEvent(e.getEventId(), 0, "stories260K", "x", null, "y", null,
                            null, e.getMetadata(), List.of()));
                    String tier = e.getTier() + "/" + e.getTierReason();
                    switch (choice) {
                        case FORCED -> assertEquals("FULL/FORCED/32", tier + "/" + e.getSteps(), e.getEventId() + ": forced events always in full");
                        case NOT_SAMPLED -> assertEquals("CHEAP/NOT_SAMPLED/INPUT_X_GRADIENT", tier + "/" + e.getMethod(), e.getEventId());
                        case SAMPLED -> assertTrue(tier.equals("FULL/SAMPLED") || tier.endsWith("/BACKLOG"), e.getEventId() + " " + tier);
                    }
                }
                sampler.shutdownNow();
                System.out.println("BudgetOnBrokerTest: " + out.size() + " explained " + byTier + ", " + skipped + " skipped, dead letters "
                        + kafka.readCommitted("budget-dlq", records -> false, Duration.ofMillis(200)).size() + ", at most " + mostWaiting
                        + " records counted as waiting");
                // The batch store holds a batch or two; more means the records produced and not yet read were counted, from the input's end.
                assertTrue(mostWaiting.get() >= 100, "records counted as waiting: at most " + mostWaiting);
                assertEquals(EVENTS, out.size() + (int) skipped, "every event explained once or counted as skipped: " + byTier);
                assertEquals(EVENTS, out.stream().map(Explanation::getEventId).distinct().count() + (int) skipped, "no event twice");
                assertEquals(EVENTS / 10, byTier.getOrDefault("FULL/FORCED", 0), "every forced event in full");
                assertTrue(byTier.keySet().stream().anyMatch(t -> t.endsWith("BACKLOG"))
                        || service.metrics().count("explainstream.events.skipped", "reason", "backlog") > 0, "the burst degraded the service: " + byTier);
                for (Map.Entry<String, Integer> tier : byTier.entrySet()) {
                    String[] parts = tier.getKey().toLowerCase(java.util.Locale.ROOT).split("/");
                    assertEquals(tier.getValue(), service.metrics().count("explainstream.events.tier", "tier", parts[0], "reason", parts[1]), 0.0,
                            "explainstream_events_tier_total{" + tier.getKey() + "} matches the records");
                }
                assertEquals(out.size(), service.metrics().count("explainstream.events.tier"), 0.0);
                assertEquals(out.size(), service.metrics().count("explainstream.events.out"), 0.0);
            }
        }
    }

    /**
     * Events outside the sample with audit.cheap.method=skip count in the statistics windows of
     * their groups beside the explained ones, so that a window reads "4 events, 9 skipped", not
     * "4 events" (helper-74: 17 skipped events showed only in a per-process counter).
     */
    @Test
    void eventsSkippedOutsideTheSampleCountInTheStatisticsWindowsOfTheirGroups(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            Map<String, String> settings = settings(kafka, registry, dir, "coverage", 4);
            settings.putAll(Map.of("audit.sample.rate", "0.3", "audit.cheap.method", "skip", "audit.max.lag.ms", "0", "stats.window", "1h",
                    "stats.emit.interval", "1s"));
            int events = 30;
            Map<String, Integer> explainedBy = new TreeMap<>();
            Map<String, Integer> skippedBy = new TreeMap<>();
            try (ExplainService service = ExplainService.start(ServiceConfig.of(settings), TestData.repo(), io.explainstream.stream.topology.Scope.live(),
                    List.of(io.explainstream.stats.StatsTopology.extension()), Clock.systemUTC())) {
                assertTrue(service.awaitRunning(Duration.ofSeconds(60)), "started");
                try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                    for (int i = 0; i < events; i++) {
                        String id = "c-" + i;
                        String application = i % 3 == 0 ? "helpdesk" : "storybook";
                        (AuditPolicy.sampled(id, 0.3) ? explainedBy : skippedBy).merge(application, 1, Integer::sum);
                        String json = "{\"event_id\":\"" + id + "\",\"timestamp\":" + System.currentTimeMillis() + ",\"model\":\"stories260K\","
                                + "\"prompt\":\"One day,\",\"response\":\"a girl\",\"metadata\":{\"application\":\"" + application + "\"}}";
                        producer.send(new ProducerRecord<>("coverage-in", id.getBytes(StandardCharsets.UTF_8), json.getBytes(StandardCharsets.UTF_8)));
                    }
                }
                var client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
                var deserializer = ConfluentAvroDeserializer.specific(client, io.explainstream.schema.ExplanationStats.class);
                Map<String, io.explainstream.schema.ExplanationStats> latest = new TreeMap<>();
                long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                while (latest.values().stream().mapToLong(w -> w.getEvents() + w.getSkipped().getCount()).sum() < events && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> record : kafka.readCommitted("explanation-stats", records -> false, Duration.ofMillis(1000))) {
                        var window = deserializer.deserialize(record.topic(), record.value());
                        latest.put(window.getGroupKey() + "@" + window.getWindowStart(), window);
                    }
                }
                Map<String, Integer> explained = new TreeMap<>();
                Map<String, Integer> skipped = new TreeMap<>();
                for (var window : latest.values()) {
                    String application = window.getGroup().get("metadata.application");
                    explained.merge(application, (int) window.getEvents(), Integer::sum);
                    skipped.merge(application, (int) window.getSkipped().getCount(), Integer::sum);
                    assertEquals(window.getSkipped().getCount(), window.getSkipped().getByReason().getOrDefault("not_sampled", 0L), "all not_sampled");
                }
                assertEquals(explainedBy, explained, "the explained events per application: " + latest.values());
                assertEquals(skippedBy, skipped, "the skipped events per application, in the windows beside them");
                assertEquals(skippedBy.values().stream().mapToInt(Integer::intValue).sum(), service.metrics().count("explainstream.events.skipped"), 0.0,
                        "as many as the counter says");
            }
        }
    }

    /** A service of its own on the test's broker and registry: application {@code name}, topics {@code name-in}, {@code -out}, {@code -dlq}. */
    private static Map<String, String> settings(InJvmKafka kafka, EmbeddedSchemaRegistry registry, Path dir, String name, int steps) {
        Map<String, String> settings = new TreeMap<>(kafka.clientSettings());
        settings.putAll(Map.of("schema.registry.url", registry.url().toString(), "application.id", name, "state.dir", dir.toString(),
                "input.topic", name + "-in", "output.topic", name + "-out", "dlq.topic", name + "-dlq", "attribution.steps", Integer.toString(steps),
                "ops.port", "-1"));
        return settings;
    }
}
