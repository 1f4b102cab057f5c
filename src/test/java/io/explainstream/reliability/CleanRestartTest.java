package io.explainstream.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.FreePort;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.RunsBeside;
import io.explainstream.testing.ServiceProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A clean stop (SIGTERM) leaves every state store checkpointed: under exactly once, a store
 * without a checkpoint offset in a task folder that is not empty is taken for one holding
 * uncommitted writes, so the restart logs TaskCorruptedException, wipes the task and restores its
 * stores from their changelogs. The statistics' window stores did that on every restart. Here the service runs, aggregates a few
 * explanations, stops on SIGTERM and starts again on the same state folder with the same windows
 * and no corruption; then it is killed (SIGKILL), and the next start still rebuilds the windows.
 */
@Tag("slow")
@RunsBeside
class CleanRestartTest {

    @RegisterExtension
    static final BuiltInRegistry REGISTRY = new BuiltInRegistry();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int EVENTS = 3;

    @TempDir
    Path dir;


    private static HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(20))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The events counted in the windows /api/stats answers with, asking again until {@code atLeast} are or the time runs out. */
    private static long eventsInWindows(int port, long atLeast, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        long events = -1;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> response = get(port, "/api/stats");
            if (response.statusCode() == 200) {
                events = 0;
                for (JsonNode window : JSON.readTree(response.body()).path("windows")) {
                    events += window.path("events").asLong();
                }
                if (events >= atLeast) {
                    return events;
                }
            }
            Thread.sleep(500);
        }
        return events;
    }

    private static void awaitReady(ServiceProcess service, int port, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline && service.process().isAlive()) {
            try {
                if (get(port, "/ready").statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("not ready within " + timeout + ":\n" + service.output());
    }

    /** The task folders of the state folder, with what their checkpoint files hold: what a failure message shows. */
    private static String checkpoints(Path state) throws IOException {
        StringBuilder out = new StringBuilder();
        try (Stream<Path> files = Files.walk(state, 3)) {
            for (Path file : files.sorted().toList()) {
                out.append(state.relativize(file));
                if (file.getFileName().toString().startsWith(".checkpoint")) {
                    out.append(": ").append(Files.readString(file).replace('\n', ' '));
                }
                out.append('\n');
            }
        }
        return out.toString();
    }

    @Test
    void aCleanStopCheckpointsTheStatisticsSoTheRestartKeepsThemWhileACrashStillRebuildsThem() throws Exception {
        InJvmKafka kafka = InJvmKafka.start();
        try {
            int port = FreePort.onLoopback();
            Path state = dir.resolve("state");
            Map<String, String> settings = ServiceProcess.instanceSettings(kafka.clientSettings(), REGISTRY.url().toString(), "restart", state);
            settings.put("attribution.steps", "4");
            settings.put("batch.max.wait.ms", "200");
            settings.put("ops.port", Integer.toString(port));
            settings.put("stats.emit.interval", "1s");
            // The killed instance leaves the group in seconds (the broker's minimum is 6 s), not the default 45.
            settings.put("session.timeout.ms", "6000");
            // An hour's window: the window of the first run is still open after the restart, as in production.
            settings.put("stats.window", "1h");
            Path config = ServiceProcess.configFile(dir.resolve("restart.properties"), settings, "clean restart test");

            try (ServiceProcess first = ServiceProcess.start(List.of("run", "--config", config.toString()), List.of(), Map.of(),
                    dir.resolve("first.log"), Duration.ofMinutes(4))) {
                awaitReady(first, port, Duration.ofSeconds(150));
                try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                    for (int i = 0; i < EVENTS; i++) {
                        String value = "{\"event_id\":\"r-" + i + "\",\"timestamp\":" + System.currentTimeMillis()
                                + ",\"model\":\"stories260K\",\"prompt\":\"One day,\",\"response\":\"a little girl named Lily\"}";
                        producer.send(new ProducerRecord<>("restart-in", ("r-" + i).getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8)));
                    }
                }
                assertEquals(EVENTS, eventsInWindows(port, EVENTS, Duration.ofSeconds(120)), "the windows count the explanations:\n" + first.output());
                first.process().destroy();
                assertTrue(first.process().waitFor(30, TimeUnit.SECONDS), "ends on SIGTERM");
                assertTrue(first.output().contains("stopped"), "a clean stop:\n" + first.output());
            }
            String checkpointed = checkpoints(state);
            String firstOutput = Files.readString(dir.resolve("first.log"), StandardCharsets.ISO_8859_1);
            String stop = firstOutput.substring(Math.max(0, firstOutput.indexOf("stopping")));

            try (ServiceProcess second = ServiceProcess.start(List.of("run", "--config", config.toString()), List.of(), Map.of(),
                    dir.resolve("second.log"), Duration.ofMinutes(4))) {
                awaitReady(second, port, Duration.ofSeconds(150));
                long events = eventsInWindows(port, EVENTS, Duration.ofSeconds(60));
                String output = second.output();
                String context = "first run, from its stop:\n" + stop + "\nstate after the stop:\n" + checkpointed + "\nsecond run:\n" + output;
                assertTrue(!output.contains("did not find checkpoint offsets"), context);
                assertTrue(!output.contains("TaskCorruptedException"), context);
                assertEquals(EVENTS, events, "the windows from before the stop, without a rebuild: " + context);
                second.kill();
            }

            // A crash, by contrast, must still leave the window store without an offset: it may hold
            // uncommitted writes, so Kafka Streams rebuilds it from its changelog, to the same counts.
            try (ServiceProcess third = ServiceProcess.start(List.of("run", "--config", config.toString()), List.of(), Map.of(),
                    dir.resolve("third.log"), Duration.ofMinutes(4))) {
                awaitReady(third, port, Duration.ofSeconds(150));
                long events = eventsInWindows(port, EVENTS, Duration.ofSeconds(60));
                String output = third.output();
                assertTrue(output.contains("State store stats-windows did not find checkpoint offsets"), "rebuilt after the crash:\n" + output);
                assertEquals(EVENTS, events, "the windows rebuilt from the changelog:\n" + output);
                third.process().destroy();
                assertTrue(third.process().waitFor(30, TimeUnit.SECONDS), "ends on SIGTERM");
            }
        } finally {
            kafka.close();
        }
    }
}
