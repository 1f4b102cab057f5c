package io.explainstream.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.RunsBeside;
import io.explainstream.testing.ServiceProcess;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM stops the service (the {@code run} command in a JVM of its own) within 10 s in every
 * state: with a long batch in the engine (the batch is aborted; its events are explained once after
 * the restart), with its stream thread failing and being replaced over and over (the registry
 * down), and with its stream thread stuck in a call to a registry that never answers.
 */
@Tag("slow")
@RunsBeside
class ShutdownTest {

    private static final Duration STOP_LIMIT = Duration.ofSeconds(10);
    @RegisterExtension
    static final BuiltInRegistry REGISTRY = new BuiltInRegistry();
    private static InJvmKafka kafka;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        kafka = InJvmKafka.start();
    }

    @AfterAll
    static void stop() throws Exception {
        kafka.close();
    }

    private Path config(String app, String registryUrl, Map<String, String> extra) throws IOException {
        Map<String, String> config = ServiceProcess.instanceSettings(kafka.clientSettings(), registryUrl, app, dir.resolve("state"));
        config.put("schema.registry.max.retries", "1");
        config.put("batch.max.wait.ms", "200");
        config.put("ops.port", "-1");
        config.putAll(extra);
        return ServiceProcess.configFile(dir.resolve(app + ".properties"), config, "shutdown test");
    }

    private ServiceProcess run(Path config, String name) throws IOException {
        return ServiceProcess.start(List.of("run", "--config", config.toString()),
                List.of("-Dorg.slf4j.simpleLogger.log.io.explainstream.stream.topology.BatchingProcessor=debug"), Map.of(), dir.resolve(name + ".log"),
                Duration.ofMinutes(4));
    }

    private static long failures(ServiceProcess service) throws IOException {
        return service.output().lines().filter(line -> line.contains("stream thread failed; replacing it")).count();
    }

    /** Sends SIGTERM and returns how long the process took to end. */
    private static Duration terminate(ServiceProcess service) throws InterruptedException {
        long sent = System.nanoTime();
        service.process().destroy();
        assertTrue(service.process().waitFor(60, TimeUnit.SECONDS), "ends on SIGTERM");
        return Duration.ofNanos(System.nanoTime() - sent);
    }

    /** How many committed explanations each event id has on {@code topic}, once at least {@code expected} records are there. */
    private static Map<String, Integer> explanationsPerEvent(String topic, int expected, Duration timeout) {
        List<ConsumerRecord<byte[], byte[]>> out = kafka.readCommitted(topic, records -> records.size() >= expected, timeout);
        var explanations = io.explainstream.avro.ConfluentAvroDeserializer.specific(REGISTRY.client(), io.explainstream.schema.Explanation.class);
        Map<String, Integer> counts = new TreeMap<>();
        out.forEach(record -> counts.merge(explanations.deserialize(topic, record.value()).getEventId(), 1, Integer::sum));
        return counts;
    }

    /** Sends {@code count} events with this prompt, all with the same key: one partition, one batch. */
    private static void send(String topic, int count, String prompt) {
        send(topic, java.util.Collections.nCopies(count, prompt));
    }

    /** Sends one event per prompt, {@code TOPIC-i} with the i-th, all with the same key. */
    private static void send(String topic, List<String> prompts) {
        try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
            for (int i = 0; i < prompts.size(); i++) {
                String id = topic + "-" + i;
                String value = "{\"event_id\":\"" + id + "\",\"timestamp\":" + System.currentTimeMillis() + ",\"model\":\"stories260K\",\"prompt\":\""
                        + prompts.get(i) + "\",\"response\":\"a little girl named Lily\"}";
                producer.send(new ProducerRecord<>(topic, topic.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    @Test
    void aLongBatchInTheEngineIsAbortedAndItsEventsAreExplainedOnceAfterTheRestart() throws Exception {
        // A short event, then two of about 90 prompt tokens at 256 steps, on one partition: each long
        // event takes seconds in the engine on a 2-core machine (at 64 steps one took 1 s in CI, too
        // short to be sure a SIGTERM sent after its batch started lands before the batch ends).
        Path config = config("midbatch", REGISTRY.url().toString(), Map.of("attribution.steps", "256"));
        String prompt = "Once upon a time, there was a little dog who liked to run in the park. ".repeat(5);
        try (ServiceProcess service = run(config, "midbatch-1")) {
            assertTrue(service.awaitOutput("ExplainStream running", Duration.ofSeconds(120)), service.output());
            assertTrue(service.output().contains("; no metrics or health endpoint (ops.port = -1); Ctrl-C stops"), service.output());
            send("midbatch-in", List.of("One day,", prompt, prompt));
            // The first event goes alone (the engine's cost is not measured yet); the next batch holds the
            // second event, with the third or (when the first one's cost leaves no room in the batch's
            // time budget) without it. Either is a batch of seconds, and SIGTERM goes as soon as the
            // batch is seen to start.
            assertTrue(service.awaitOutput("first midbatch-in-1", Duration.ofSeconds(90)), service.output());
            Duration took = terminate(service);
            System.out.printf("SIGTERM mid-batch: stopped in %d ms%n", took.toMillis());
            String output = service.output();
            assertTrue(took.compareTo(STOP_LIMIT) < 0, "stopped in " + took.toMillis() + " ms:\n" + output);
            assertTrue(output.lastIndexOf("batch started") > output.lastIndexOf("batch done"), "a batch was in the engine and did not finish: " + output);
        }
        // The restart explains the aborted events at fewer steps: what it shows is that each is explained once.
        Path restart = config("midbatch", REGISTRY.url().toString(), Map.of("attribution.steps", "16"));
        try (ServiceProcess service = run(restart, "midbatch-2")) {
            Map<String, Integer> counts = explanationsPerEvent("midbatch-out", 3, Duration.ofSeconds(150));
            assertEquals(Map.of("midbatch-in-0", 1, "midbatch-in-1", 1, "midbatch-in-2", 1), counts, "each event explained once after the restart");
            terminate(service);
        }
    }

    /**
     * A replay stopped mid-batch (SIGTERM, as Ctrl-C's SIGINT does) waits for its service to close
     * before the JVM exits: libtorch's exit handlers must not run under a backward pass still in
     * flight, which crashed the JVM (SIGSEGV, exit 134) and left the replay's task corrupted.
     */
    @Test
    void aReplayStoppedMidBatchSaysSoExitsThreeAndResumesToEveryEventOnce() throws Exception {
        String prompt = "Once upon a time, there was a little dog who liked to run in the park. ".repeat(5);
        send("rpl-in", 3, prompt);
        List<String> args = List.of("replay", "--replay-id", "stopped", "--from", "-1h", "--to", "now", "--input-topic", "rpl-in", "--output-topic",
                "rpl-out", "--set", "bootstrap.servers=" + kafka.bootstrapServers(), "--set", "schema.registry.url=" + REGISTRY.url(), "--set",
                "state.dir=" + dir.resolve("state"), "--set", "ops.port=-1", "--set", "attribution.steps=64", "--set", "batch.max.wait.ms=200");
        List<String> debug = List.of("-Dorg.slf4j.simpleLogger.log.io.explainstream.stream.topology.BatchingProcessor=debug");
        List<String> resume;
        int doneBefore;
        try (ServiceProcess replay = ServiceProcess.start(args, debug, Map.of(), dir.resolve("replay-1.log"), Duration.ofMinutes(4))) {
            assertTrue(replay.awaitOutput("batch started", Duration.ofSeconds(120)), replay.output());
            Thread.sleep(1000);
            Duration took = terminate(replay);
            System.out.printf("SIGTERM mid-batch in a replay: stopped in %d ms%n", took.toMillis());
            String output = replay.output();
            assertTrue(!output.contains("A fatal error has been detected"), output);
            assertTrue(!output.contains("Unsupported offset metadata"), "the replay's start offsets carry no text Kafka Streams cannot read:\n" + output);
            assertEquals(3, replay.process().exitValue(), "interrupted:\n" + output);
            assertTrue(output.matches("(?s).*replay stopped interrupted: [0-3] events? done of at most 3: .*"), output);
            assertTrue(output.contains("replay stopped: to resume, run: explainstream replay --input-topic rpl-in --output-topic rpl-out --set"),
                    "how to resume, with the settings given: " + output);
            assertTrue(took.compareTo(STOP_LIMIT) < 0, "stopped in " + took.toMillis() + " ms:\n" + output);
            // The resume line is what a user runs next; "-1h" and "now" given again would name another
            // range, which the replay id refuses. (Every argument here is plain: no shell quoting.)
            String line = output.lines().filter(l -> l.contains("to resume, run: explainstream ")).findFirst().orElseThrow();
            resume = List.of(line.substring(line.indexOf("to resume, run: explainstream ") + "to resume, run: explainstream ".length()).strip().split(" "));
            java.util.regex.Matcher done = java.util.regex.Pattern.compile("replay stopped interrupted: (\\d+) events? done").matcher(output);
            assertTrue(done.find(), output);
            doneBefore = Integer.parseInt(done.group(1));
        }
        try (ServiceProcess replay = ServiceProcess.start(resume, List.of(), Map.of(), dir.resolve("replay-2.log"), Duration.ofMinutes(4))) {
            assertTrue(replay.process().waitFor(180, TimeUnit.SECONDS), "the resumed replay finishes");
            String output = replay.output();
            assertEquals(0, replay.process().exitValue(), output);
            // The resumed bar starts where the interrupted run stopped, read before the service starts.
            String firstBar = output.lines().filter(l -> l.matches("\\[[#.]+\\] \\d+/3 records .*")).findFirst().orElseThrow(() -> new AssertionError(output));
            assertTrue(firstBar.contains("] " + doneBefore + "/3 records"), firstBar + " after " + doneBefore + " done:\n" + output);
            assertTrue(output.contains("replay stopped finished: 3 events in range: 3 explained, 0 dead-lettered, 0 skipped"), output);
            assertTrue(!output.contains("TaskCorruptedException"), output);
        }
        Map<String, Integer> counts = explanationsPerEvent("rpl-out", 3, Duration.ofSeconds(30));
        assertEquals(Map.of("rpl-in-0", 1, "rpl-in-1", 1, "rpl-in-2", 1), counts, "each event explained once over the two runs");
    }

    /**
     * A stop signal while {@code replay --diff} compares the finished replay with the live
     * explanations ends the diff at once: exit 3, one line with the diff command that compares
     * later, no stack trace, and the diff's scratch folder deleted (it used to fail in the shutdown
     * hook's race, with "Shutdown in progress", and leave the folder). The line's command then
     * gives the report.
     */
    @Test
    void aReplayStoppedDuringItsDiffSaysTheDiffCommandAndLeavesNoScratchFolder() throws Exception {
        send("rpd-in", 3, "Once upon a time");
        // The live side: enough explanations in the replay's range that reading them outlasts the signal.
        kafka.createTopic("rpd-live", 1);
        // Hand-made, not the engine's: this class runs beside the others, and one engine at a time may differentiate in a JVM.
        io.explainstream.schema.Explanation sample = io.explainstream.diff.DiffRecords.explanation("sample",
                List.of(new io.explainstream.diff.DiffRecords.Tok(1, "<s>", 0, 0, false, 0), new io.explainstream.diff.DiffRecords.Tok(403, "▁Once", 0, 4,
                        true, 0)), new double[] {0, 0.5}, new int[] {1, 2}, List.of(new io.explainstream.diff.DiffRecords.Seg("prompt", 1.0)), "prompt", 0.001,
                List.of(-1.0));
        var serializer = new io.explainstream.avro.ConfluentAvroSerializer<io.explainstream.schema.Explanation>(REGISTRY.client(),
                io.explainstream.avro.SubjectNameStrategy.TOPIC_NAME, true, false);
        try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of("linger.ms", "20", "batch.size", "262144"))) {
            for (int i = 0; i < 40_000; i++) {
                String id = "live-" + i;
                sample.setEventId(id);
                producer.send(new ProducerRecord<>("rpd-live", id.getBytes(StandardCharsets.UTF_8), serializer.serialize("rpd-live", sample)));
            }
        }
        Path state = dir.resolve("state");
        Path report = dir.resolve("diff.txt");
        List<String> args = List.of("replay", "--replay-id", "diffstop", "--from", "-1h", "--to", "now", "--input-topic", "rpd-in", "--output-topic",
                "rpd-out", "--set", "bootstrap.servers=" + kafka.bootstrapServers(), "--set", "schema.registry.url=" + REGISTRY.url(), "--set",
                "output.topic=rpd-live", "--set", "state.dir=" + state, "--set", "ops.port=-1", "--set", "attribution.steps=4", "--set",
                "batch.max.wait.ms=200", "--diff", "--diff-out", report.toString());
        String line;
        try (ServiceProcess replay = ServiceProcess.start(args, List.of(), Map.of(), dir.resolve("replay.log"), Duration.ofMinutes(4))) {
            // The diff's progress bar's first line: it is reading the two sides.
            assertTrue(replay.awaitOutput("offsets read", Duration.ofSeconds(180)), replay.output());
            Duration took = terminate(replay);
            String output = replay.output();
            System.out.printf("SIGTERM during a replay's diff: stopped in %d ms%n", took.toMillis());
            assertEquals(3, replay.process().exitValue(), output);
            assertTrue(output.contains("replay diffstop finished: 3 events in range: 3 explained"), output);
            assertTrue(!output.contains("Exception") && !output.contains("\tat "), "one line, no stack trace:\n" + output);
            assertTrue(!java.nio.file.Files.exists(report), "no report: " + output);
            try (var folders = java.nio.file.Files.list(state)) {
                assertEquals(List.of(), folders.filter(f -> f.getFileName().toString().startsWith("diff-")).toList(), "the diff's scratch folder is gone");
            }
            assertTrue(took.compareTo(STOP_LIMIT) < 0, "stopped in " + took.toMillis() + " ms:\n" + output);
            String prefix = "replay diffstop finished; its diff was stopped: to compare, run: explainstream ";
            line = output.lines().filter(l -> l.startsWith(prefix)).findFirst().orElseThrow(() -> new AssertionError(output)).substring(prefix.length());
            // With the replay's settings, which the diff uses too (here the live topic; the live dead letters' topic, stats.group.by).
            assertTrue(line.contains(" --set output.topic=rpd-live --set state.dir="), line);
        }
        // The printed command compares the replay's range, as --diff would have. (Every argument here is plain: no shell quoting.)
        try (ServiceProcess diff = ServiceProcess.start(List.of(line.strip().split(" ")), List.of(), Map.of(), dir.resolve("diff.log"),
                Duration.ofMinutes(4))) {
            assertTrue(diff.process().waitFor(180, TimeUnit.SECONDS), "the diff finishes");
            assertEquals(0, diff.process().exitValue(), diff.output());
            assertTrue(diff.output().contains("diff diffstop-vs-rpd-live: 0 joined, 3 replay only, 40000 live only; report in " + report), diff.output());
        }
        assertTrue(java.nio.file.Files.exists(report));
    }

    @Test
    void aStreamThreadReplacedOverAndOverStopsWithinTenSeconds() throws Exception {
        // No registry at all: the service starts (an outage is not a configuration error), and every
        // write of an explanation fails, so the stream thread is replaced over and over.
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = probe.getLocalPort();
        }
        // A replaced thread rejoins once the group drops its predecessor (session.timeout.ms). At the
        // broker's minimum, 6 s, the third failure comes about 12 s after the first (at the service's
        // default, 10 s, about 20 s); with Kafka's 45 s it could not come within the 60 s allowed.
        Path config = config("loop", "http://127.0.0.1:" + closedPort, Map.of("attribution.steps", "4", "session.timeout.ms", "6000"));
        try (ServiceProcess service = run(config, "loop")) {
            assertTrue(service.awaitOutput("ExplainStream running", Duration.ofSeconds(120)), service.output());
            send("loop-in", 4, "One day,");
            assertTrue(service.awaitOutput("stream thread failed; replacing it", Duration.ofSeconds(60)), service.output());
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (failures(service) < 3 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(failures(service) >= 3, "three failures in a replace loop within 60 s of the first:\n" + service.output());
            service.output().lines().filter(line -> line.contains("stream thread failed; replacing it")).forEach(System.out::println);
            Duration took = terminate(service);
            System.out.printf("SIGTERM in a replace loop: stopped in %d ms%n", took.toMillis());
            assertTrue(took.compareTo(STOP_LIMIT) < 0, "stopped in " + took.toMillis() + " ms:\n" + service.output());
        }
    }

    @Test
    void aStreamThreadWaitingForARegistryThatNeverAnswersStopsWithinTenSeconds() throws Exception {
        EmbeddedSchemaRegistry upAtStart = BuiltInRegistry.startInMemory();
        int port = upAtStart.url().getPort();
        // An Avro event whose schema id the service has never seen: reading it needs the registry.
        byte[] framed = new io.explainstream.avro.ConfluentAvroSerializer<io.explainstream.schema.LlmInteraction>(
                new io.explainstream.avro.SchemaRegistryClient(io.explainstream.avro.RegistryConfig.of(upAtStart.url().toString())),
                io.explainstream.avro.SubjectNameStrategy.TOPIC_NAME, true, false).serialize("hang-in",
                io.explainstream.schema.LlmInteraction.newBuilder().setEventId("hang-0").setTimestamp(java.time.Instant.now()).setModel("stories260K")
                        .setPrompt("One day,").setResponse("a little girl").build());
        Path config = config("hang", upAtStart.url().toString(), Map.of("attribution.steps", "4", "schema.registry.request.timeout.ms", "120000"));
        List<Socket> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (ServiceProcess service = run(config, "hang")) {
            assertTrue(service.awaitOutput("ExplainStream running", Duration.ofSeconds(120)), service.output());
            upAtStart.close();
            // The same port now accepts connections and never answers.
            try (ServerSocket silent = new ServerSocket(port, 50, java.net.InetAddress.getLoopbackAddress())) {
                Thread acceptor = new Thread(() -> {
                    try {
                        while (true) {
                            accepted.add(silent.accept());
                        }
                    } catch (IOException e) {
                        // closed
                    }
                }, "silent-registry");
                acceptor.start();
                try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                    producer.send(new ProducerRecord<>("hang-in", "hang-0".getBytes(StandardCharsets.UTF_8), framed));
                }
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (accepted.isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertTrue(!accepted.isEmpty(), "the service is calling the silent registry:\n" + service.output());
                Thread.sleep(1000);
                Duration took = terminate(service);
                System.out.printf("SIGTERM while waiting for the registry: stopped in %d ms%n", took.toMillis());
                assertTrue(took.compareTo(STOP_LIMIT) < 0, "stopped in " + took.toMillis() + " ms:\n" + service.output());
            }
        } finally {
            for (Socket socket : accepted) {
                socket.close();
            }
        }
    }
}
