package io.explainstream.testing;

import io.explainstream.TestData;
import io.explainstream.embedded.EmbeddedKafkaBroker;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;

/**
 * A single-node KRaft broker of an older Kafka release than the one the project builds with, run
 * as a child JVM from that release's own jars, so that the service's clients are tested against
 * the brokers users run. The release's class path is resolved once from Maven Central by Maven
 * itself (a pom written under {@code target/older-brokers}) and kept there.
 */
public final class OlderKafkaBroker implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private final Process process;
    private final String bootstrapServers;
    private final Path log;

    private OlderKafkaBroker(Process process, String bootstrapServers, Path log) {
        this.process = process;
        this.bootstrapServers = bootstrapServers;
        this.log = log;
    }

    /**
     * Formats a data folder under {@code dir} and starts the broker of Kafka {@code version} (3.3
     * or later: KRaft with a static controller quorum) on 127.0.0.1.
     *
     * @param brokerSettings server.properties entries added to the single-broker ones
     */
    public static OlderKafkaBroker start(String version, Path dir, Map<String, String> brokerSettings) throws IOException, InterruptedException {
        String classPath = classPath(version);
        Files.createDirectories(dir);
        int brokerPort = FreePort.onLoopback();
        int controllerPort = FreePort.onLoopback();
        Properties server = new Properties();
        server.setProperty("process.roles", "broker,controller");
        server.setProperty("node.id", "1");
        server.setProperty("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        server.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        server.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        server.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        server.setProperty("controller.listener.names", "CONTROLLER");
        server.setProperty("inter.broker.listener.name", "PLAINTEXT");
        server.setProperty("log.dirs", dir.resolve("data").toAbsolutePath().toString());
        // A single broker: internal topics with one replica, or consumer groups and transactions hang.
        server.setProperty("offsets.topic.replication.factor", "1");
        server.setProperty("offsets.topic.num.partitions", "1");
        server.setProperty("transaction.state.log.replication.factor", "1");
        server.setProperty("transaction.state.log.min.isr", "1");
        server.setProperty("transaction.state.log.num.partitions", "1");
        server.setProperty("group.initial.rebalance.delay.ms", "0");
        brokerSettings.forEach(server::setProperty);
        Path properties = dir.resolve("server.properties");
        try (OutputStream out = Files.newOutputStream(properties)) {
            server.store(out, "Kafka " + version + " for a test");
        }
        Path log = dir.resolve("broker.log");
        run(java(classPath, List.of("kafka.tools.StorageTool", "format", "-t", Uuid.randomUuid().toString(), "-c", properties.toString()), log),
                "formatting the data folder of Kafka " + version, log);
        Process process = java(classPath, List.of("kafka.Kafka", properties.toString()), log).start();
        ServiceProcess.endAfter(process, Duration.ofMinutes(15));
        OlderKafkaBroker broker = new OlderKafkaBroker(process, "127.0.0.1:" + brokerPort, log);
        try {
            broker.awaitReady(version);
            return broker;
        } catch (IOException | RuntimeException e) {
            broker.close();
            throw e;
        }
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** bootstrap.servers, what a user puts in the service's configuration. */
    public Map<String, String> clientSettings() {
        return Map.of("bootstrap.servers", bootstrapServers);
    }

    /** Creates a topic with these topic configs, as an operator would before the service starts. */
    public void createTopic(String name, int partitions, Map<String, String> configs) throws Exception {
        try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", bootstrapServers))) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs))).all().get(60, TimeUnit.SECONDS);
        }
    }

    /** What the broker wrote, for a failing test's message. */
    public String log() throws IOException {
        return Files.readString(log, StandardCharsets.UTF_8);
    }

    private void awaitReady(String version) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("Kafka " + version + " exited with code " + process.exitValue() + ":\n" + log());
            }
            if (EmbeddedKafkaBroker.accepts(bootstrapServers)) {
                try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", bootstrapServers))) {
                    admin.describeCluster().nodes().get(10, TimeUnit.SECONDS);
                    return;
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    // not serving metadata yet
                }
            }
            Thread.sleep(200);
        }
        throw new IOException("Kafka " + version + " did not become ready within " + START_TIMEOUT.toSeconds() + " s:\n" + log());
    }

    /**
     * The class path of {@code kafka_2.13:version} and its dependencies, with a logging binding for
     * its slf4j 1.7: resolved by Maven into {@code target/older-brokers/kafka-VERSION.classpath}
     * the first time, read from there after.
     */
    static String classPath(String version) throws IOException, InterruptedException {
        Path folder = TestData.repo().resolve("target/older-brokers/kafka-" + version);
        Path classPathFile = folder.resolve("classpath.txt");
        if (!Files.isRegularFile(classPathFile)) {
            Files.createDirectories(folder);
            Files.writeString(folder.resolve("pom.xml"), """
                    <project xmlns="http://maven.apache.org/POM/4.0.0">
                      <modelVersion>4.0.0</modelVersion>
                      <groupId>io.explainstream.test</groupId>
                      <artifactId>kafka-broker-%1$s</artifactId>
                      <version>1</version>
                      <dependencies>
                        <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>%1$s</version></dependency>
                        <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
                      </dependencies>
                    </project>
                    """.formatted(version), StandardCharsets.UTF_8);
            Path mavenLog = folder.resolve("maven.log");
            Path resolved = folder.resolve("classpath.tmp");
            ProcessBuilder maven = new ProcessBuilder("mvn", "-B", "-q", "-f", folder.resolve("pom.xml").toString(),
                    "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath", "-Dmdep.outputFile=" + resolved)
                    .redirectErrorStream(true).redirectOutput(mavenLog.toFile());
            run(maven, "resolving the jars of Kafka " + version + " with Maven (mvn on the PATH, Maven Central or the local repository)", mavenLog);
            Files.move(resolved, classPathFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        return Files.readString(classPathFile, StandardCharsets.UTF_8).strip();
    }

    private static ProcessBuilder java(String classPath, List<String> mainAndArgs, Path log) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx512m");
        command.add("-Dlog4j.configuration=" + log4jConfiguration(log));
        command.add("-cp");
        command.add(classPath);
        command.addAll(mainAndArgs);
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    }

    /** reload4j's configuration: warnings and errors to standard output (the broker log), as a file: URL. */
    private static String log4jConfiguration(Path log) {
        Path file = log.resolveSibling("log4j.properties");
        try {
            if (!Files.exists(file)) {
                Files.writeString(file, """
                        log4j.rootLogger=WARN, stdout
                        log4j.appender.stdout=org.apache.log4j.ConsoleAppender
                        log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
                        log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
                        """, StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return file.toUri().toString();
    }

    private static void run(ProcessBuilder builder, String what, Path log) throws IOException, InterruptedException {
        Process process = builder.start();
        if (!process.waitFor(5, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new IOException(what + " did not finish within 5 minutes:\n" + Files.readString(log, StandardCharsets.UTF_8));
        }
        if (process.exitValue() != 0) {
            throw new IOException(what + " failed with exit code " + process.exitValue() + ":\n" + Files.readString(log, StandardCharsets.UTF_8));
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }
}
