package io.explainstream.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.embedded.EmbeddedKafkaBroker;
import io.explainstream.testing.Chromium;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.RunsBeside;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page says "live" only while its broker answers: the broker, a real process, is stopped under
 * an open page, which says so (with when it last reached it) within seconds, and says "live" again
 * once the broker is back. Before, a reader whose broker was gone polled nothing without an error,
 * and the page went on saying "live" over a feed that could not move.
 */
@RunsBeside
@Tag("slow")
class DashboardBrokerOutageTest {

    private static final String STATE = "document.getElementById('status').dataset.state";

    @Test
    void thePageSaysWhenItsBrokerIsUnreachableAndLiveOnceItIsBack(@TempDir Path dir) throws Exception {
        Path chromium = Chromium.required();
        Path brokerDir = dir.resolve("broker");
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(brokerDir);
        String bootstrap = broker.bootstrapServers();
        try (EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory();
                Dashboard dashboard = Dashboard.start(new Dashboard.Settings("explanations", "explanation-stats", "explanation-alerts", "127.0.0.1", 0, 100,
                        null, 0.05, null), Map.of("bootstrap.servers", bootstrap), RegistryConfig.of(registry.url().toString()));
                DevTools browser = DevTools.start(chromium, Files.createDirectories(dir.resolve("profile")), 1280, 900)) {
            browser.navigate(dashboard.url().toString());
            browser.await(STATE + " === 'live'", Duration.ofSeconds(30));
            assertEquals("reachable", info(browser).get("broker").asText());

            Instant stopped = Instant.now();
            broker.close();
            browser.await(STATE + " === 'broker-unreachable'", Duration.ofSeconds(40));
            JsonNode info = info(browser);
            assertEquals("unreachable", info.get("broker").asText());
            assertFalse(Instant.parse(info.get("broker_last_reached").asText()).isAfter(stopped), "last reached before it stopped: " + info);
            assertTrue(browser.eval("document.getElementById('status').textContent").asText().startsWith("broker unreachable (last reached "),
                    browser.eval("document.getElementById('status').textContent").asText());

            broker = EmbeddedKafkaBroker.start(brokerDir);
            assertEquals(bootstrap, broker.bootstrapServers(), "back on its own port");
            browser.await(STATE + " === 'live'", Duration.ofSeconds(40));
            assertEquals("reachable", info(browser).get("broker").asText());
            assertEquals(List.of(), browser.consoleErrors, "console errors");
        } finally {
            broker.close();
        }
    }

    private static JsonNode info(DevTools browser) throws Exception {
        return browser.eval("fetch('/api/info').then(r => r.json())");
    }
}
