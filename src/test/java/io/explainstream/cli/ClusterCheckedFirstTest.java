package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.testing.InJvmKafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * diff, replay and dashboard read an existing cluster, and check it before anything else, as send
 * and tail do: an unreachable broker or registry is one line naming the setting, exit status 2, at
 * once. Without the check, diff and replay printed a connection warning a second for 60 s and then
 * a stack trace, and the dashboard served an empty page for ever.
 */
class ClusterCheckedFirstTest {

    private static final String NOWHERE_BROKER = "127.0.0.1:1";
    private static final String NOWHERE_REGISTRY = "http://127.0.0.1:1";

    @Test
    void anUnreachableBrokerIsOneLineAtOnce() {
        for (List<String> args : commands(NOWHERE_BROKER, NOWHERE_REGISTRY)) {
            CliRun run = runWithin(args);
            assertEquals(2, run.exitCode(), args + ": " + run.err());
            assertEquals("error: the Kafka broker at bootstrap.servers = 127.0.0.1:1 could not be reached (no connection within 10 s)",
                    run.err().strip(), args.toString());
        }
    }

    @Test
    @Tag("slow") // starts a broker
    void anUnreachableRegistryIsOneLineAtOnce() throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start()) {
            for (List<String> args : commands(kafka.bootstrapServers(), NOWHERE_REGISTRY)) {
                if (args.contains("--dry-run")) {
                    continue; // counts records only: no registry needed (ReplayCommandTest runs one without)
                }
                CliRun run = runWithin(args);
                assertEquals(2, run.exitCode(), args + ": " + run.err());
                assertEquals(1, run.err().strip().lines().count(), args + ": " + run.err());
                assertTrue(run.err().startsWith("error: the schema registry at schema.registry.url = http://127.0.0.1:1 could not be reached"),
                        args + ": " + run.err());
            }
            // Another web server where the registry was (its old port, taken since): tail skipped every
            // explanation as "not an explanation", quoting the server's 404 page, and exited 0.
            com.sun.net.httpserver.HttpServer other = com.sun.net.httpserver.HttpServer.create(
                    new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
            other.createContext("/", exchange -> {
                byte[] page = "<html><body>404 Not Found</body></html>".getBytes(java.nio.charset.StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(404, page.length);
                exchange.getResponseBody().write(page);
                exchange.close();
            });
            other.start();
            try {
                String url = "http://127.0.0.1:" + other.getAddress().getPort();
                List<List<String>> all = new java.util.ArrayList<>(commands(kafka.bootstrapServers(), url));
                all.add(List.of("tail", "--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", url, "--timeout", "5"));
                for (List<String> args : all) {
                    if (args.contains("--dry-run")) {
                        continue;
                    }
                    CliRun run = runWithin(args);
                    assertEquals(2, run.exitCode(), args + ": " + run.err());
                    assertEquals("error: the server at schema.registry.url = " + url + " does not answer as a schema registry: GET /subjects answered 404"
                            + " (is the URL the registry's, and is it up?)", run.err().strip(), args.toString());
                }
            } finally {
                other.stop(0);
            }
        }
    }

    /**
     * An empty value (an unset shell variable: --host "$HOST") is said before the cluster is
     * tried: it used to wait 10 s for an unreachable broker first, or name another thing (an empty
     * --model named the bundled model).
     */
    @Test
    void anEmptyOptionIsSaidBeforeTheClusterIsTried() {
        List<String> connection = List.of("--bootstrap-servers", NOWHERE_BROKER, "--registry-url", NOWHERE_REGISTRY);
        List<String> set = List.of("--set", "bootstrap.servers=" + NOWHERE_BROKER, "--set", "schema.registry.url=" + NOWHERE_REGISTRY);
        assertEquals("error: --replay-id = '' must be 1 to 100 ASCII letters, digits, '.', '_' or '-'"
                + " (fewer with a long application.id: the replay's own, <application.id>-replay-<id>, holds at most 100)",
                runWithin(concat(List.of("diff", "--replay-id", ""), connection)).err().strip());
        assertEquals("error: --against-replay = 'a b' must be 1 to 100 ASCII letters, digits, '.', '_' or '-'"
                + " (fewer with a long application.id: the replay's own, <application.id>-replay-<id>, holds at most 100)",
                runWithin(concat(List.of("diff", "--replay-id", "x", "--against-replay", "a b"), connection)).err().strip());
        assertEquals("error: --host = '' is empty; give the address to listen on, such as 127.0.0.1 (the default)",
                runWithin(concat(List.of("dashboard", "--host", ""), connection)).err().strip());
        assertEquals("error: --model = '' is empty; give a model directory",
                runWithin(concat(List.of("replay", "--model", "", "--from", "-1h", "--to", "now"), set)).err().strip());
        assertEquals("error: --model = '' is empty; give a model directory", runWithin(List.of("attribute", "--model", "", "--prompt", "a",
                "--response", "b")).err().strip());
        // the cluster's own options: named, where an empty registry URL was called "not set" and an empty broker list went to Kafka's check
        for (String command : List.of("tail", "diff", "dashboard", "send")) {
            List<String> head = switch (command) {
                case "diff" -> List.of("diff", "--replay-id", "x");
                case "send" -> List.of("send", "-");
                default -> List.of(command);
            };
            assertEquals("error: --bootstrap-servers = '' is empty; give the Kafka addresses (host:port,…), or leave it out for bootstrap.servers of --config",
                    runWithin(concat(head, List.of("--bootstrap-servers", "", "--registry-url", ""))).err().strip(), command);
            assertEquals("error: --registry-url = ' ' is empty; give the schema registry's URL, or leave it out for schema.registry.url of --config",
                    runWithin(concat(head, List.of("--bootstrap-servers", NOWHERE_BROKER, "--registry-url", " "))).err().strip(), command);
        }
    }

    /** Each command that reads a cluster, pointed at {@code broker} and {@code registry}. */
    private static List<List<String>> commands(String broker, String registry) {
        List<String> connection = List.of("--bootstrap-servers", broker, "--registry-url", registry);
        List<String> set = List.of("--set", "bootstrap.servers=" + broker, "--set", "schema.registry.url=" + registry, "--set", "ops.port=-1");
        List<List<String>> commands = new ArrayList<>();
        commands.add(concat(List.of("diff", "--replay-id", "x"), connection));
        commands.add(concat(List.of("dashboard", "--port", "0"), connection));
        commands.add(concat(List.of("replay", "--replay-id", "x", "--from", "-1h", "--to", "now"), set));
        commands.add(concat(List.of("replay", "--dry-run", "--from", "-1h", "--to", "now"), set));
        return commands;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** The command, given 30 s: the check answers within its 10 s, where a command without it waited 60 s or for ever. */
    private static CliRun runWithin(List<String> args) {
        return assertTimeoutPreemptively(Duration.ofSeconds(30), () -> CliRun.of(args.toArray(String[]::new)), args.toString());
    }
}
