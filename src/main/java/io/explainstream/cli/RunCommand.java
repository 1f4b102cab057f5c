package io.explainstream.cli;

import io.explainstream.embedded.DataFolderLock;
import io.explainstream.embedded.EmbeddedPlatform;
import io.explainstream.stats.StatsTopology;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.stream.topology.Scope;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.streams.StreamsConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The service: consume logged interactions, explain them, publish explanations, until stopped. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run the streaming service until SIGTERM or Ctrl-C.",
            "Without bootstrap.servers in the configuration, it starts an embedded Kafka broker and schema registry on 127.0.0.1 and says so."})
final class RunCommand implements Callable<Integer> {

    @Option(names = "--config", paramLabel = "FILE", description = "Properties file (the README lists the keys); EXPLAINSTREAM_* environment variables override it.")
    private Path configFile;

    @Option(names = "--broker-wait", paramLabel = "S", defaultValue = "60",
            description = "Seconds to wait for a configured Kafka broker that does not answer yet before failing. Default: ${DEFAULT-VALUE}.")
    private int brokerWaitSeconds;

    @Option(names = "--data", paramLabel = "DIR", defaultValue = "data/embedded",
            description = "Data folder of the embedded broker, when one is used. Default: ${DEFAULT-VALUE}.")
    private Path dataDir;

    @Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    /**
     * Waits up to --broker-wait seconds for the configured broker to answer (one starting beside
     * it), saying so once, then fails with one line naming bootstrap.servers: the admin client
     * would otherwise log a warning per reconnect for a minute and end with an error that names no
     * setting.
     */
    private void awaitBroker(ServiceConfig config) throws InterruptedException {
        if (brokerWaitSeconds < 0) {
            throw new IllegalArgumentException("--broker-wait = " + brokerWaitSeconds + " must be 0 or more seconds");
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(brokerWaitSeconds).toNanos();
        boolean said = false;
        while (true) {
            try {
                ClusterCheck.broker(config.clientSettings(), brokerWaitSeconds > 0 && brokerWaitSeconds < ClusterCheck.TIMEOUT.toSeconds()
                        ? Duration.ofSeconds(brokerWaitSeconds) : ClusterCheck.TIMEOUT);
                return;
            } catch (UnreachableException e) {
                if (System.nanoTime() >= deadline) {
                    throw new UnreachableException(e.getMessage() + (brokerWaitSeconds > 0 ? "; waited " + brokerWaitSeconds + " s (--broker-wait)" : ""));
                }
                if (!said) {
                    spec.commandLine().getErr().println("waiting up to " + brokerWaitSeconds + " s for the Kafka broker: " + e.getMessage());
                    spec.commandLine().getErr().flush();
                    said = true;
                }
                Thread.sleep(2_000);
            }
        }
    }

    @Override
    public Integer call() throws Exception {
        ServiceConfig config = ServiceConfig.load(configFile, System.getenv());
        // Checked before any broker or registry is waited for, as the other settings are when loaded.
        StatsTopology.check(config);
        EmbeddedPlatform platform = null;
        DataFolderLock lock = null;
        if (!config.hasBootstrapServers()) {
            // Before the broker starts: the stream state goes under --data unless state.dir is set.
            ExplainService.requireStateDirRocksDbCanOpen(config.isSet(StreamsConfig.STATE_DIR_CONFIG)
                    ? config.streamsProperties().getProperty(StreamsConfig.STATE_DIR_CONFIG) : dataDir.resolve("streams-state").toString());
            try {
                lock = DataFolderLock.acquire("--data", dataDir);
            } catch (IOException e) {
                throw new IllegalArgumentException("--data = " + dataDir + " cannot be used: " + OutputFile.reason(e), e);
            }
            try {
                platform = EmbeddedPlatform.start(dataDir, 0);
            } catch (IOException | RuntimeException e) {
                lock.close();
                throw e;
            }
            Map<String, String> embedded = new HashMap<>(platform.clientSettings());
            if (config.get(Setting.TOPICS_INPUT_RETENTION_MS).isBlank()) {
                // Kafka's 7-day default would delete the history a replay re-explains. Empty (as the shipped
                // deploy/explainstream.properties has it) means the broker's default elsewhere; here, forever.
                embedded.put(Setting.TOPICS_INPUT_RETENTION_MS.key(), "-1");
            }
            if (!config.isSet(StreamsConfig.STATE_DIR_CONFIG)) {
                // The stream state belongs to the embedded broker's topics: keep them together.
                embedded.put(StreamsConfig.STATE_DIR_CONFIG, dataDir.resolve("streams-state").toString());
            }
            config = config.with(embedded);
            String retention = config.get(Setting.TOPICS_INPUT_RETENTION_MS).trim();
            spec.commandLine().getErr().printf("no bootstrap.servers configured: using the embedded Kafka broker at %s and schema registry at %s"
                    + " (data in %s; the input, explanation and dead-letter topics it creates keep their records %s; topics.input.retention.ms"
                    + " changes that, and the output topics follow the input)%n", platform.bootstrapServers(), platform.registryUrl(),
                    dataDir.toAbsolutePath(), retention.equals("-1") ? "forever" : "for retention.ms = " + retention);
            spec.commandLine().getErr().flush();
        }
        if (platform == null) {
            awaitBroker(config);
        }
        ExplainService service;
        try {
            service = ExplainService.start(config, home(), Scope.live(), List.of(StatsTopology.extension()), Clock.systemUTC());
        } catch (Exception e) {
            if (platform != null) {
                platform.close();
                lock.close();
            }
            throw e;
        }
        String operations = service.operationsPort() < 0 ? "no metrics or health endpoint (ops.port = -1)"
                : "metrics and health on port " + service.operationsPort();
        spec.commandLine().getErr().printf("ExplainStream running: %s → %s (dead letters: %s); %s; Ctrl-C stops%n",
                config.get(Setting.INPUT_TOPIC), config.get(Setting.OUTPUT_TOPIC), config.get(Setting.DLQ_TOPIC), operations);
        spec.commandLine().getErr().flush();
        CountDownLatch stopped = new CountDownLatch(1);
        EmbeddedPlatform embedded = platform;
        DataFolderLock embeddedLock = lock;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            service.close();
            if (embedded != null) {
                embedded.close();
                embeddedLock.close();
            }
            stopped.countDown();
        }, "explainstream-shutdown"));
        stopped.await();
        return 0;
    }

    static Path home() {
        return Path.of(System.getProperty("explainstream.home", "."));
    }
}
