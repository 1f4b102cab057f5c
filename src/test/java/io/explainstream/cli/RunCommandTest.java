package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.explainstream.stats.StatsTopology;
import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.ServiceConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code run} refuses before it waits for anything. */
class RunCommandTest {

    /** A bad statistics setting is one line naming it, with the broker and registry unreachable. */
    @Test
    void aBadStatisticsSettingIsOneLineNamingIt(@TempDir Path dir) throws Exception {
        Path config = Files.writeString(dir.resolve("c.properties"), "bootstrap.servers=127.0.0.1:1\nschema.registry.url=http://127.0.0.1:1\n"
                + "ops.port=-1\nstats.window=soon\n");
        CliRun run = CliRun.of("run", "--config", config.toString());
        assertEquals(2, run.exitCode(), run.err());
        assertEquals("error: stats.window = 'soon' is not a duration (for example 500ms, 30s, 1m, 2h, 1d or PT1M)", run.err().strip());
    }

    /**
     * A configured broker that does not answer: one line naming bootstrap.servers after the wait,
     * not a minute of reconnect warnings and an error that names no setting.
     */
    @Test
    void anUnreachableBrokerIsOneLineNamingBootstrapServers(@TempDir Path dir) throws Exception {
        Path config = Files.writeString(dir.resolve("c.properties"), "bootstrap.servers=127.0.0.1:1\nschema.registry.url=http://127.0.0.1:1\n"
                + "ops.port=-1\nstate.dir=" + dir.resolve("state") + "\n");
        CliRun run = CliRun.of("run", "--config", config.toString(), "--broker-wait", "3");
        assertEquals(2, run.exitCode(), run.err());
        List<String> lines = run.err().strip().lines().toList();
        assertEquals(List.of("waiting up to 3 s for the Kafka broker: the Kafka broker at bootstrap.servers = 127.0.0.1:1 could not be reached (no"
                + " connection within 3 s)", "error: the Kafka broker at bootstrap.servers = 127.0.0.1:1 could not be reached (no connection within"
                + " 3 s); waited 3 s (--broker-wait)"), lines);
    }

    /** The environment variable that set a refused statistics value is named, as it is for the other settings. */
    @Test
    void aStatisticsValueSetByAnEnvironmentVariableNamesIt() {
        ServiceConfig config = ServiceConfig.load(null, Map.of("EXPLAINSTREAM_STATS_DELTA_WARN", "Infinity"));
        ConfigException refused = assertThrows(ConfigException.class, () -> StatsTopology.check(config));
        assertEquals("stats.delta.warn = 'Infinity' is not a number (set by the environment variable EXPLAINSTREAM_STATS_DELTA_WARN)",
                refused.getMessage());
        ServiceConfig overridden = config.with(Map.of("stats.delta.warn", "-1"));
        assertEquals("stats.delta.warn = -1 must be a number >= 0", assertThrows(ConfigException.class, () -> StatsTopology.check(overridden))
                .getMessage(), "a value set later is not the variable's");
    }
}
