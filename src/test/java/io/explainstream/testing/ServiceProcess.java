package io.explainstream.testing;

import io.explainstream.TestData;
import io.explainstream.cli.Main;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One ExplainStream command line in a JVM of its own, as an operator starts it, with its output in
 * a file (a pipe nobody drains would fill up and block the child's logging). A watchdog ends the
 * child and its descendants if a test forgets it or hangs, so a failure cannot hang the build.
 */
public final class ServiceProcess implements AutoCloseable {

    private final Process process;
    private final Path log;

    private ServiceProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * Starts {@code Main} with {@code args}.
     *
     * @param jvmOptions extra JVM options, such as log levels
     * @param environment extra environment variables (EXPLAINSTREAM_* settings)
     * @param log where the child's stdout and stderr go
     * @param watchdog how long the child may live at most
     */
    public static ServiceProcess start(List<String> args, List<String> jvmOptions, Map<String, String> environment, Path log, Duration watchdog)
            throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx1g");
        // The client compiler only: a child lives for seconds to a minute, and its math runs in
        // libtorch; the server compiler's compiles cost more CPU than they save on 2 shared cores.
        command.add("-XX:TieredStopAtLevel=1");
        command.add("-Dai.djl.offline=true");
        command.add("-Dexplainstream.home=" + TestData.repo());
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Main.class.getName());
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(environment);
        Process process = builder.start();
        ServiceProcess child = new ServiceProcess(process, log);
        endAfter(process, watchdog);
        return child;
    }

    /** Writes a service configuration file ({@code run --config}) with these settings. */
    /**
     * What every instance of one application on the in-JVM broker sets: where Kafka and the
     * registry are, the application id, its topics ({@code APP-in}, {@code APP-out},
     * {@code APP-dlq}) and the instance's own state folder. A mutable map: the test adds its own.
     */
    public static Map<String, String> instanceSettings(Map<String, String> kafka, String registryUrl, String app, Path stateDir) {
        Map<String, String> settings = new java.util.TreeMap<>(kafka);
        settings.put("schema.registry.url", registryUrl);
        settings.put("application.id", app);
        settings.put("state.dir", stateDir.toString());
        settings.put("input.topic", app + "-in");
        settings.put("output.topic", app + "-out");
        settings.put("dlq.topic", app + "-dlq");
        return settings;
    }

    public static Path configFile(Path file, Map<String, String> settings, String comment) throws IOException {
        java.util.Properties properties = new java.util.Properties();
        properties.putAll(settings);
        try (java.io.OutputStream out = Files.newOutputStream(file)) {
            properties.store(out, comment);
        }
        return file;
    }

    public Process process() {
        return process;
    }

    /** Everything the child has written so far. */
    public String output() throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.ISO_8859_1) : "";
    }

    /** Waits until the output contains {@code text}; false if the child died or time ran out first. */
    public boolean awaitOutput(String text, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (output().contains(text)) {
                return true;
            }
            if (!process.isAlive()) {
                return output().contains(text);
            }
            Thread.sleep(10);
        }
        return false;
    }

    /** SIGKILL: no shutdown hook, no close, no commit; the way a crash or the OOM killer ends a process. */
    public void kill() throws InterruptedException {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** Ends {@code process} and its descendants if it still runs after {@code limit}: a hung child must not hang the build. */
    public static void endAfter(Process process, Duration limit) {
        Thread watchdog = new Thread(() -> {
            try {
                if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "test-watchdog-" + process.pid());
        watchdog.setDaemon(true);
        watchdog.start();
    }

    /** Ends the child if it still runs (SIGKILL): tests that check an orderly stop do so before. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
