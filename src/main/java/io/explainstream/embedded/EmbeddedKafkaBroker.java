package io.explainstream.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node KRaft Kafka broker (the {@code kafka_2.13} broker from Maven Central) run as a
 * child process on 127.0.0.1, with its data in a local folder: {@code StorageTool format
 * --standalone} the first time, then {@code kafka.Kafka server.properties}. Ports are chosen once
 * and kept in the folder, so a restart finds its data and its quorum again. Whoever starts it
 * closes it, last: the commands that run it until a signal close the service first and the
 * broker after, in one shutdown hook. (A hook of its own would run in parallel with theirs and kill
 * the broker while the service still commits to it.)
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final String PROPERTIES = "server.properties";

    private final Process process;
    private final String bootstrapServers;
    private final Path directory;

    private EmbeddedKafkaBroker(Process process, String bootstrapServers, Path directory) {
        this.process = process;
        this.bootstrapServers = bootstrapServers;
        this.directory = directory;
    }

    /** Starts the broker with its data under {@code directory} (created, or reused as it is). */
    public static EmbeddedKafkaBroker start(Path directory) throws IOException, InterruptedException {
        Files.createDirectories(directory);
        Path properties = directory.resolve(PROPERTIES);
        if (!Files.exists(properties)) {
            writeProperties(properties, directory.resolve("log").toAbsolutePath(), freePort(), freePort());
        }
        Properties server = load(properties);
        String bootstrap = "127.0.0.1:" + server.getProperty("explainstream.broker.port");
        requireFree(server, properties);
        Path logFile = directory.resolve("broker.log");
        if (!Files.exists(directory.resolve("log/meta.properties"))) {
            runToCompletion(List.of("kafka.tools.StorageTool", "format", "--standalone", "-t", Uuid.randomUuid().toString(), "-c",
                    properties.toString()), logFile);
        }
        Process process = java(List.of("-D" + BrokerMain.OWNER_PID + "=" + ProcessHandle.current().pid(), BrokerMain.class.getName(),
                properties.toString()), logFile).start();
        EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker(process, bootstrap, directory);
        try {
            broker.awaitReady(logFile);
        } catch (IOException | RuntimeException e) {
            broker.close();
            throw e;
        }
        LOG.info("embedded Kafka broker ready at {} (data in {}, log {})", bootstrap, directory, logFile);
        return broker;
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    public long pid() {
        return process.pid();
    }

    private void awaitReady(Path logFile) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        Map<String, Object> config = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000, AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("the embedded Kafka broker exited with code " + process.exitValue() + "; see " + logFile);
            }
            if (accepts(bootstrapServers)) {
                try (Admin admin = Admin.create(config)) {
                    admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
                    return;
                } catch (Exception e) {
                    // not ready yet
                }
            }
            Thread.sleep(200);
        }
        throw new IOException("the embedded Kafka broker did not become ready within " + START_TIMEOUT.toSeconds() + " s; see " + logFile);
    }

    /**
     * The broker keeps the ports it was first given (clients have its address), so a port another
     * process has taken since is said in one line naming it and the file, before the broker starts:
     * the broker process exited on it, and the run ended with a stack trace, the cause only in its
     * log (a hostile test).
     */
    private static void requireFree(Properties server, Path properties) {
        for (String address : server.getProperty("listeners").split(",")) {
            int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
            try (ServerSocket socket = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
                // bound and released: free (the JDK binds server sockets with SO_REUSEADDR, as the broker does)
            } catch (IOException e) {
                throw new IllegalArgumentException("the embedded Kafka broker's port " + port + " (" + address.substring(0, address.indexOf(':'))
                        + " listener, kept in " + properties + ") is in use by another process; stop that process, or give run another --data"
                        + " (a new broker, without this one's topics)");
            }
        }
    }

    /** Whether something accepts TCP connections at host:port. */
    public static boolean accepts(String hostPort) {
        String[] parts = hostPort.split(":");
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(parts[0], Integer.parseInt(parts[1])), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void writeProperties(Path file, Path logDir, int brokerPort, int controllerPort) throws IOException {
        Properties server = new Properties();
        server.setProperty("process.roles", "broker,controller");
        server.setProperty("node.id", "1");
        server.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        server.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        server.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        server.setProperty("controller.listener.names", "CONTROLLER");
        server.setProperty("inter.broker.listener.name", "PLAINTEXT");
        server.setProperty("controller.quorum.bootstrap.servers", "127.0.0.1:" + controllerPort);
        server.setProperty("log.dirs", logDir.toString());
        server.setProperty("num.partitions", "3");
        // A single broker: internal topics with one replica, or consumer groups and transactions hang.
        server.setProperty("offsets.topic.replication.factor", "1");
        server.setProperty("transaction.state.log.replication.factor", "1");
        server.setProperty("transaction.state.log.min.isr", "1");
        server.setProperty("share.coordinator.state.topic.replication.factor", "1");
        server.setProperty("share.coordinator.state.topic.min.isr", "1");
        server.setProperty("group.initial.rebalance.delay.ms", "0");
        server.setProperty("explainstream.broker.port", Integer.toString(brokerPort));
        try (OutputStream out = Files.newOutputStream(file)) {
            server.store(out, "written by ExplainStream for its embedded broker; ports chosen once and kept");
        }
    }

    private static Properties load(Path file) throws IOException {
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            properties.load(in);
        }
        return properties;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** A child JVM on this JVM's class path, its output appended to the broker log. */
    private static ProcessBuilder java(List<String> mainAndArgs, Path logFile) {
        List<String> command = new ArrayList<>();
        // Its own session: Ctrl-C in a terminal signals the whole foreground group, and the broker
        // must outlive the service's orderly close, which commits to it.
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            command.add("/usr/bin/setsid");
        }
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx768m");
        // The client compiler only: a broker for one local service does little work, and the server
        // compiler's compiles at its start cost more CPU than they save (EmbeddedPlatformTest, whose
        // service shares 2 cores with it: 53 CPU-seconds with both compilers, 34 with this).
        command.add("-XX:TieredStopAtLevel=1");
        command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        command.add("-Dlog4j2.statusLoggerLevel=OFF");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.addAll(mainAndArgs);
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
    }

    private static void runToCompletion(List<String> mainAndArgs, Path logFile) throws IOException, InterruptedException {
        Process process = java(mainAndArgs, logFile).start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException(mainAndArgs.get(0) + " did not finish within 60 s; see " + logFile);
        }
        if (process.exitValue() != 0) {
            throw new IOException(mainAndArgs.get(0) + " failed with exit code " + process.exitValue() + "; see " + logFile);
        }
    }

    /** Stops the broker (SIGTERM, then SIGKILL after 30 s) and waits for the process to end. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        LOG.info("embedded Kafka broker stopped (data folder {})", directory);
    }

}
