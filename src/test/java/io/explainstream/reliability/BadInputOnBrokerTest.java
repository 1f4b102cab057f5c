package io.explainstream.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.stream.topology.BadInputCorpus;
import io.explainstream.testing.InJvmKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListSet;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole bad-input corpus, each kind followed by a good event, through the running service on
 * a real broker: every kind lands where docs/bad-input.md says, every good event is explained, and
 * the service is RUNNING from its start to the end.
 */
@Tag("slow")
class BadInputOnBrokerTest {

    /** The corpus has a 1 MB prompt: broker and test producer take records up to 4 MB, as a deployment that logs long prompts would. */
    private static final int MAX_RECORD_BYTES = 4 * 1024 * 1024;

    @Test
    void everyKindLandsWhereTheDocsSayAndTheServiceStaysRunning(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start(Map.of("message.max.bytes", Integer.toString(MAX_RECORD_BYTES)));
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            byte[] framedGood = new ConfluentAvroSerializer<LlmInteraction>(client, SubjectNameStrategy.TOPIC_NAME, true, false).serialize("corpus-in",
                    LlmInteraction.newBuilder().setEventId("avro").setTimestamp(Instant.ofEpochMilli(BadInputCorpus.NOW)).setModel("stories260K")
                            .setPrompt("One day,").setResponse("a little girl").build());
            Map<String, BadInputCorpus.Case> corpus = BadInputCorpus.cases(framedGood);
            Map<String, String> settings = new TreeMap<>(kafka.clientSettings());
            settings.putAll(Map.of("schema.registry.url", registry.url().toString(), "application.id", "corpus", "state.dir", dir.toString(),
                    "input.topic", "corpus-in", "output.topic", "corpus-out", "dlq.topic", "corpus-dlq", "attribution.steps", "8",
                    "model.accept", "stories260K", "ops.port", "-1"));
            // The corpus is stamped when its class loads, minutes before this test in a full run: that is
            // not a backlog to degrade for here (BudgetOnBrokerTest covers backlog control).
            settings.put("audit.max.lag.ms", "0");
            Set<KafkaStreams.State> states = new ConcurrentSkipListSet<>();
            try (ExplainService service = ExplainService.start(ServiceConfig.of(settings), TestData.repo(), Clock.systemUTC())) {
                assertTrue(service.awaitRunning(Duration.ofSeconds(60)), "started");
                Thread sampler = StateSampler.start(service, states);
                List<String> goodIds = produce(kafka, corpus);
                int explainedBad = (int) corpus.values().stream().filter(c -> c.outcome().startsWith("explained:")).count();
                int deadLetters = (int) corpus.values().stream().filter(c -> c.outcome().startsWith("dlq:")).count();
                List<ConsumerRecord<byte[], byte[]>> out = kafka.readCommitted("corpus-out",
                        records -> records.size() >= goodIds.size() + explainedBad, Duration.ofSeconds(180));
                List<ConsumerRecord<byte[], byte[]>> dead = kafka.readCommitted("corpus-dlq", records -> records.size() >= deadLetters,
                        Duration.ofSeconds(60));
                sampler.interrupt();
                sampler.join();

                List<String> problems = new ArrayList<>();
                var deserializer = ConfluentAvroDeserializer.specific(client, Explanation.class);
                Map<String, Explanation> explained = new TreeMap<>();
                for (ConsumerRecord<byte[], byte[]> record : out) {
                    explained.put(new String(record.key(), StandardCharsets.UTF_8), deserializer.deserialize("corpus-out", record.value()));
                }
                goodIds.stream().filter(id -> !explained.containsKey(id)).forEach(id -> problems.add(id + ": not explained"));
                Map<String, ConsumerRecord<byte[], byte[]>> deadByKind = new TreeMap<>();
                dead.forEach(record -> deadByKind.put(new String(record.key(), StandardCharsets.UTF_8), record));
                corpus.forEach((kind, bad) -> {
                    ConsumerRecord<byte[], byte[]> dl = deadByKind.get(kind);
                    String skipReason = BadInputCorpus.skipReason(bad);
                    String problem = BadInputCorpus.problem(bad, explained.get(kind),
                            dl == null ? null : new BadInputCorpus.DeadLetter(dl.key(), dl.value(), dl.headers()),
                            skipReason == null ? 0 : service.metrics().count("explainstream.events.skipped", "reason", skipReason));
                    if (problem != null) {
                        problems.add(kind + ": " + problem);
                    }
                });
                assertEquals(List.of(), problems);
                assertEquals(goodIds.size() + explainedBad, out.size(), "nothing else explained");
                assertEquals(deadLetters, dead.size(), "nothing else dead-lettered");
                // tail --dead-letters reads them back: each once, its reason and stage as the headers say.
                io.explainstream.cli.CliRun tail = io.explainstream.cli.CliRun.of("tail", "--dead-letters", "--format", "json", "--from-beginning",
                        "--bootstrap-servers", kafka.bootstrapServers(), "--set", "dlq.topic=corpus-dlq", "--max", Integer.toString(deadLetters),
                        "--timeout", "60");
                assertEquals(0, tail.exitCode(), tail.err());
                Map<String, String> tailed = new TreeMap<>();
                for (String line : tail.out().lines().toList()) {
                    var letter = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line);
                    tailed.put(letter.get("key").asText(), letter.get("stage").asText() + ": " + letter.get("reason").asText());
                    assertEquals("corpus", letter.get("application").asText(), "the writing service's application.id: " + line);
                }
                Map<String, String> headed = new TreeMap<>();
                deadByKind.forEach((kind, record) -> headed.put(kind, new String(record.headers().lastHeader(io.explainstream.stream.output.DeadLetters.STAGE).value(),
                        StandardCharsets.UTF_8) + ": " + new String(record.headers().lastHeader(io.explainstream.stream.output.DeadLetters.REASON).value(), StandardCharsets.UTF_8)));
                assertEquals(headed, tailed);
                assertEquals(EnumSet.of(KafkaStreams.State.RUNNING), EnumSet.copyOf(states), "RUNNING throughout");
            }
        }
    }

    /** Sends good-0, then each kind keyed by its name, each followed by the next good event. */
    private static List<String> produce(InJvmKafka kafka, Map<String, BadInputCorpus.Case> corpus) {
        List<String> goodIds = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of("max.request.size", MAX_RECORD_BYTES))) {
            goodIds.add(send(producer, "good-0"));
            for (Map.Entry<String, BadInputCorpus.Case> entry : corpus.entrySet()) {
                producer.send(new ProducerRecord<>("corpus-in", entry.getKey().getBytes(StandardCharsets.UTF_8), entry.getValue().value()));
                goodIds.add(send(producer, "good-" + goodIds.size()));
            }
        }
        return goodIds;
    }

    private static String send(KafkaProducer<byte[], byte[]> producer, String id) {
        producer.send(new ProducerRecord<>("corpus-in", id.getBytes(StandardCharsets.UTF_8), BadInputCorpus.good(id).getBytes(StandardCharsets.UTF_8)));
        return id;
    }
}
