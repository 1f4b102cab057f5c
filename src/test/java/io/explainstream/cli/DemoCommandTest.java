package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.TestData;
import io.explainstream.embedded.EmbeddedKafkaBroker;
import io.explainstream.testing.RunsBeside;
import io.explainstream.testing.ServiceProcess;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("slow")
@RunsBeside
class DemoCommandTest {

    /** Every option is checked before the broker starts, naming the demo's own option; nothing is started or left behind. */
    @Test
    void badOptionsAreOneLineErrorsBeforeAnythingStarts(@TempDir Path dir) {
        Path data = dir.resolve("data");
        for (String[] bad : new String[][] {
                {"--timeout", "0", "error: --timeout = 0 must be at least 1 (seconds to wait for the sample)"},
                {"--dashboard-port", "70000", "error: --dashboard-port = 70000 must be from 0 to 65535 (0: any free port)"},
                {"--steps", "0", "error: --steps = 0 must be positive"}}) {
            CliRun run = CliRun.of("demo", "--data", data.toString(), bad[0], bad[1]);
            assertEquals(2, run.exitCode(), run.out() + run.err());
            assertEquals(bad[2], run.err().strip());
            assertTrue(!run.out().contains("starting a Kafka broker"), run.out());
        }
        CliRun proc = CliRun.of("demo", "--data", "/proc/explainstream-demo");
        assertEquals(2, proc.exitCode(), proc.out() + proc.err());
        assertTrue(proc.err().startsWith("error: --data = /proc/explainstream-demo cannot be used: "), proc.err());
        assertEquals(1, proc.err().strip().lines().count(), proc.err());
    }

    /**
     * The demo as a user runs it, in a JVM of its own: every valid event explained, the malformed
     * ones dead-lettered, the report written, and no warning in its whole output (Kafka's default
     * warnings included, which only the command line's logging quiets).
     */
    @Test
    void theDemoExplainsEveryValidSampleEventDeadLettersTheMalformedOnesAndWritesTheReport(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("demo");
        Path report = data.resolve(DemoCommand.REPORT_NAME);
        // The child's temp directory is its own, so that a data folder (or a checkout) under /tmp is not taken for one.
        String out;
        try (ServiceProcess demo = ServiceProcess.start(List.of("demo", "--events", "25", "--steps", "8", "--no-color", "--data", data.toString(),
                "--timeout", "240"), List.of("-Djava.io.tmpdir=" + Files.createDirectories(dir.resolve("tmp"))), Map.of(), dir.resolve("demo.log"),
                Duration.ofSeconds(300))) {
            assertTrue(demo.process().waitFor(280, TimeUnit.SECONDS), "the demo ends");
            out = Files.readString(dir.resolve("demo.log"), StandardCharsets.UTF_8); // the child has ended: whole UTF-8 characters
            assertEquals(0, demo.process().exitValue(), out);
        }
        assertFalse(out.contains("Processing exception handler is not enabled for the GlobalThread"), out);
        assertFalse(out.contains("Using an OS temp directory"), out);
        assertFalse(out.contains(" WARN "), "no warnings at all in a demo run:\n" + out);
        List<String> sample = DemoCommand.sample(25);
        assertEquals(2, sample.stream().filter(line -> !DemoCommand.wellFormed(line)).count(), "the first 25 sample lines hold two malformed events");
        assertTrue(out.contains("summary: 25 events sent, 23 explained, 2 dead letters"), out);
        assertTrue(out.contains("dead letter demo-bad-json: value is not valid JSON"), out);
        assertTrue(out.contains("dead letter demo-no-prompt: field 'prompt' or 'messages' is required"), out);
        assertTrue(out.matches("(?s).*end-to-end latency p50 \\d+ ms, p99 \\d+ ms.*"), out);
        // Statistics: every sent event is in a closed window, the dead-letter rule fired, the report shows the trends.
        assertTrue(out.matches("(?s).*\\d+ statistics windows closed, \\d+ alerts fired.*"), out);
        assertTrue(out.contains("ALERT dead-letters: dlq.count = 1 >= 1"), out);
        assertTrue(out.contains("last closed windows:"), out);
        Matcher addresses = Pattern.compile("broker (\\S+) · registry (\\S+) ·").matcher(out);
        assertTrue(addresses.find(), out);
        assertFalse(EmbeddedKafkaBroker.accepts(addresses.group(1)), "the broker port is free after the demo");
        URI registry = URI.create(addresses.group(2));
        assertFalse(EmbeddedKafkaBroker.accepts(registry.getHost() + ":" + registry.getPort()), "the registry port is free after the demo");
        assertTrue(out.contains("report: " + report.toAbsolutePath()), "the report goes into the data folder by default:\n" + out);
        assertFalse(Files.exists(data.resolve(DemoCommand.RUN_FOLDER)), "the broker's and the streams' data are deleted");
        String html = Files.readString(report);
        assertEquals(23, html.split("<section class=\"explanation\" id=\"event-", -1).length - 1, "one section per explanation");
        assertTrue(html.contains("<a href=\"#event-1\">demo-000</a>"), "the index links to each event");
        assertTrue(html.contains("<th>events sent</th><td>25</td>") && html.contains("<th>dead letters</th><td>2</td>"), "the summary");
        assertTrue(html.contains("<td>demo-no-prompt</td><td>validation</td><td>field &#39;prompt&#39; or &#39;messages&#39; is required"),
                "dead letters with their reasons");
        assertTrue(html.contains("<th>event time</th>"), "each event's time");
        // demo-011 is a RAG-style event: two named documents, printed and drawn as segment shares.
        assertTrue(out.matches("(?s).*demo-011 .*\n  segments: .*doc:kb-ball \\d+%.*"), out);
        assertTrue(html.contains("class=\"shares\"") && html.contains("doc:kb-rain"), "the report draws segment shares");
        assertTrue(html.contains("<section class=\"trends\" id=\"trends\">"), "the trends section");
    }

    @Test
    void runWithoutBootstrapServersUsesTheEmbeddedBrokerAndSaysSo(@TempDir Path dir) throws Exception {
        Map<String, String> environment = Map.of("EXPLAINSTREAM_STATE_DIR", dir.resolve("state").toString(), "EXPLAINSTREAM_OPS_PORT", "0",
                // a secret that must never reach the logs (the built-in registry ignores basic auth)
                "EXPLAINSTREAM_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO", "dashboard:Sup3rS3cretValue",
                // and the logs as JSON lines, as a log shipper would read them
                "EXPLAINSTREAM_LOG_FORMAT", "json");
        // The README's command: the shipped file leaves topics.input.retention.ms empty (the broker's default).
        List<String> readmeCommand = List.of("run", "--config", TestData.repo().resolve("deploy/explainstream.properties").toString(),
                "--data", dir.resolve("data").toString());
        try (ServiceProcess run = ServiceProcess.start(readmeCommand, List.of(), environment, dir.resolve("run.log"), Duration.ofSeconds(180))) {
            assertTrue(run.awaitOutput("ExplainStream running: llm-interactions ", Duration.ofSeconds(120)), run.output());
            String output = run.output();
            Matcher broker = Pattern.compile("no bootstrap.servers configured: using the embedded Kafka broker at (127\\.0\\.0\\.1:\\d+) .*"
                    + "the input, explanation and dead-letter topics it creates keep their records forever").matcher(output);
            assertTrue(broker.find(), output);
            // What it says is what the broker holds: the input topic is kept for ever (it was created with Kafka's 7 days).
            try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.group(1)))) {
                ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, "llm-interactions");
                assertEquals("-1", admin.describeConfigs(List.of(topic)).all().get(30, TimeUnit.SECONDS).get(topic).get("retention.ms").value());
                for (String follows : List.of("explanations", "llm-interactions-dlq")) {
                    ConfigResource follower = new ConfigResource(ConfigResource.Type.TOPIC, follows);
                    assertEquals("-1", admin.describeConfigs(List.of(follower)).all().get(30, TimeUnit.SECONDS).get(follower).get("retention.ms").value(),
                            follows + " follows the input");
                }
            }
            List<ProcessHandle> children = run.process().toHandle().descendants().toList();
            run.process().destroy(); // SIGTERM
            assertTrue(run.process().waitFor(90, TimeUnit.SECONDS), "run stops on SIGTERM");
            assertEquals(143, run.process().exitValue(), "ended by its SIGTERM handling (128 + 15), not killed by the watchdog");
            for (ProcessHandle child : children) {
                assertTrue(child.onExit().get(30, TimeUnit.SECONDS) != null && !child.isAlive(), "child " + child.pid() + " ended");
            }
            String everything = run.output();
            assertTrue(everything.contains("schema.registry.basic.auth.user.info=[hidden]"), "the configuration is logged, masked");
            assertFalse(everything.contains("Sup3rS3cretValue"), "the secret is not in the logs");
            ObjectMapper json = new ObjectMapper();
            List<JsonNode> logLines = new ArrayList<>();
            for (String line : everything.lines().filter(l -> l.startsWith("{")).toList()) {
                logLines.add(json.readTree(line)); // every log line is one JSON object
            }
            assertTrue(logLines.stream().anyMatch(l -> l.get("logger").asText().equals("io.explainstream.stream.service.ExplainService")
                    && l.get("level").asText().equals("INFO") && l.get("message").asText().startsWith("starting: model stories260K")), everything);
            assertFalse(everything.lines().anyMatch(l -> l.contains(" INFO io.explainstream")), "no text log lines");
            assertFalse(everything.contains("SLF4J("), "SLF4J has nothing to report about its provider");
        }
    }

    @Test
    void followModeServesOtherClientsTailPrintsTheExplanationsAndCtrlCLeavesNothingRunning(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "-Dexplainstream.home=" + TestData.repo(), "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "demo", "--follow", "--events", "6", "--steps", "4", "--no-color", "--data", dir.resolve("data").toString(),
                "--report", dir.resolve("report.html").toString());
        Process demo = new ProcessBuilder(withDefaultSigint(command)).redirectErrorStream(true).start();
        ServiceProcess.endAfter(demo, Duration.ofSeconds(300));
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(demo.getInputStream(), StandardCharsets.UTF_8));
            Pattern following = Pattern.compile("following: produce JSON or Avro events to topic (\\S+) at (\\S+) \\(registry (\\S+)\\).*");
            Matcher matcher = null;
            List<String> seen = new ArrayList<>();
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                seen.add(line);
                Matcher candidate = following.matcher(line);
                if (candidate.matches()) {
                    matcher = candidate;
                    break;
                }
            }
            assertTrue(matcher != null, "the demo prints where to connect:\n" + String.join("\n", seen));
            Deque<String> lastLines = new ArrayDeque<>();
            Thread drain = new Thread(() -> out.lines().forEach(line -> { // keep the pipe from filling, and the end for a failure message
                synchronized (lastLines) {
                    lastLines.addLast(line);
                    if (lastLines.size() > 40) {
                        lastLines.removeFirst();
                    }
                }
            }), "demo-output-drain");
            drain.setDaemon(true);
            drain.start();
            String bootstrap = matcher.group(2);
            String registry = matcher.group(3);
            assertTrue(bootstrap.startsWith("127.0.0.1:") && URI.create(registry).getHost().equals("127.0.0.1"), bootstrap + " " + registry);
            List<ProcessHandle> children = demo.toHandle().descendants().toList();
            assertFalse(children.isEmpty(), "the broker runs as a child process");

            CliRun tail = CliRun.of("tail", "--bootstrap-servers", bootstrap, "--registry-url", registry, "--from-beginning", "--max", "6",
                    "--timeout", "60", "--no-color");
            assertEquals(0, tail.exitCode(), tail.err());
            for (int i = 0; i < 6; i++) {
                assertTrue(tail.out().contains(String.format("demo-%03d  → ", i)), "tail prints demo-00" + i + ":\n" + tail.out());
            }
            assertTrue(tail.out().contains("top: "), tail.out());

            new ProcessBuilder("kill", "-INT", Long.toString(demo.pid())).start().waitFor();
            boolean exited = demo.waitFor(90, TimeUnit.SECONDS);
            synchronized (lastLines) {
                assertTrue(exited, "the demo exits on Ctrl-C; its last lines:\n" + String.join("\n", lastLines));
            }
            assertEquals(130, demo.exitValue(), "ended by its SIGINT handling (128 + 2), not killed by the watchdog");
            for (ProcessHandle child : children) {
                assertTrue(child.onExit().get(30, TimeUnit.SECONDS) != null && !child.isAlive(), "child " + child.pid() + " ended");
            }
            assertFalse(EmbeddedKafkaBroker.accepts(bootstrap), "the broker port is free");
            assertFalse(EmbeddedKafkaBroker.accepts(URI.create(registry).getHost() + ":" + URI.create(registry).getPort()), "the registry port is free");
        } finally {
            demo.descendants().forEach(ProcessHandle::destroyForcibly);
            demo.destroyForcibly();
        }
    }

    /**
     * The command, started so that it sees Ctrl-C as a terminal user's process would. A job
     * started in the background by a non-interactive shell (and nohup) ignores SIGINT, its children
     * inherit that, and the JVM then leaves SIGINT alone: the demo would never hear the test's
     * Ctrl-C. GNU env resets the signal to its default before it starts the command.
     */
    private static List<String> withDefaultSigint(List<String> command) throws InterruptedException {
        try {
            if (new ProcessBuilder("env", "--default-signal=INT", "true").start().waitFor() != 0) {
                return command;
            }
        } catch (IOException e) {
            return command;
        }
        List<String> reset = new ArrayList<>(List.of("env", "--default-signal=INT"));
        reset.addAll(command);
        return reset;
    }
}
