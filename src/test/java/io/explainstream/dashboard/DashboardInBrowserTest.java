package io.explainstream.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.InMemorySchemaStore;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.stream.ExplainService;
import io.explainstream.stream.ServiceConfig;
import io.explainstream.testing.InJvmKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard against the live service on an in-JVM broker, in real headless Chromium driven
 * through the DevTools protocol: events produced after the page opened appear in the feed; one
 * selected shows a heatmap with one cell per prompt token, a T × P matrix, words and segments
 * views, the segment bar; a filter narrows the feed; trends have points; an alert appears; no
 * console errors. Screenshots go to target/ (docs/images/ holds copies for the README).
 */
@Tag("slow")
class DashboardInBrowserTest {

    @Test
    void theLivePageShowsFiltersAndExplainsEvents(@TempDir Path dir) throws Exception {
        Path chromium = Path.of("/usr/bin/chromium");
        Assumptions.assumeTrue(Files.isExecutable(chromium) || "true".equals(System.getenv("CI")), "Debian's chromium is not installed");
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.start(new InMemorySchemaStore(), EmbeddedSchemaRegistry.Settings.loopback(0))) {
            Map<String, String> settings = new TreeMap<>(kafka.clientSettings());
            // 2 steps: a coarse integral, so the completeness gap is large and the delta alert fires.
            settings.putAll(Map.of("schema.registry.url", registry.url().toString(), "application.id", "dashboard", "state.dir", dir.resolve("state").toString(),
                    "input.topic", "in", "output.topic", "explanations", "dlq.topic", "dlq", "attribution.steps", "2",
                    "attribution.token.matrix", "true", "ops.port", "-1", "batch.max.wait.ms", "100"));
            try (ExplainService service = ExplainService.start(ServiceConfig.of(settings), TestData.repo(), Clock.systemUTC());
                    Dashboard dashboard = Dashboard.start(new Dashboard.Settings("explanations", "explanation-stats", "explanation-alerts", "127.0.0.1", 0, 100, null, 0.05, null), kafka.clientSettings(),
                            RegistryConfig.of(registry.url().toString()));
                    DevTools browser = DevTools.start(chromium, Files.createDirectories(dir.resolve("profile")), 1280, 1400)) {
                assertTrue(service.awaitRunning(Duration.ofSeconds(60)), "started");
                assertEquals("127.0.0.1", dashboard.url().getHost());
                browser.navigate(dashboard.url().toString());
                browser.await("document.getElementById('status').textContent.startsWith('live')", Duration.ofSeconds(20));

                try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                    producer.send(new ProducerRecord<>("in", bytes("chat-1"), bytes("{\"event_id\":\"chat-1\",\"timestamp\":" + System.currentTimeMillis() + ",\"model\":\"stories260K\",\"messages\":["
                            + "{\"role\":\"system\",\"content\":\"You tell short stories.\"},{\"role\":\"user\",\"content\":\"Tell me about Lily and her red ball.\"}],"
                            + "\"response\":\"Lily played with her red ball.\",\"metadata\":{\"application\":\"stories\",\"tenant\":\"acme\"}}")));
                    producer.send(new ProducerRecord<>("in", bytes("plain-2"), bytes("{\"event_id\":\"plain-2\",\"timestamp\":" + System.currentTimeMillis() + ",\"model\":\"stories260K\","
                            + "\"prompt\":\"Once upon a time there was a dog.\",\"response\":\"The dog liked to run.\",\"metadata\":{\"application\":\"support\",\"tenant\":\"globex\"}}")));
                }
                browser.await("document.querySelectorAll('#feed button').length === 2", Duration.ofSeconds(120));

                browser.eval("document.querySelector('#feed button[data-event-id=\"chat-1\"]').click()");
                browser.await("document.getElementById('d-id').textContent === 'chat-1' && document.querySelectorAll('#heatmap .cell').length > 0", Duration.ofSeconds(10));
                int promptTokens = browser.eval("fetch('/api/events/chat-1').then(r => r.json()).then(d => d.prompt_tokens.length)").asInt();
                int responseTokens = browser.eval("fetch('/api/events/chat-1').then(r => r.json()).then(d => d.response_tokens.length)").asInt();
                assertEquals(promptTokens, browser.eval("document.querySelectorAll('#heatmap .cell').length").asInt(), "one cell per prompt token");
                assertEquals(responseTokens * promptTokens, browser.eval("document.querySelectorAll('#matrix td.m').length").asInt(), "T × P matrix");
                assertTrue(browser.eval("document.querySelectorAll('#segment-bar div').length").asInt() >= 3, "system, user, template");
                assertTrue(browser.eval("document.querySelector('#heatmap .cell').dataset.tip").asText().contains("raw "), "hover shows raw and normalized");
                browser.screenshot(Path.of("target/dashboard.png"));

                browser.eval("document.querySelector('#views input[value=words]').click()");
                int words = browser.eval("fetch('/api/events/chat-1').then(r => r.json()).then(d => d.words.length)").asInt();
                assertEquals(words, browser.eval("document.querySelectorAll('#heatmap .cell').length").asInt(), "one cell per word");
                browser.eval("document.querySelector('#views input[value=segments]').click()");
                int segments = browser.eval("fetch('/api/events/chat-1').then(r => r.json()).then(d => d.segments.length)").asInt();
                assertEquals(segments, browser.eval("document.querySelectorAll('#heatmap .cell').length").asInt(), "one cell per segment");

                browser.eval("const f = document.getElementById('f-application'); f.value = 'support'; f.dispatchEvent(new Event('input', {bubbles: true}))");
                browser.await("document.querySelectorAll('#feed button').length === 1 && document.querySelector('#feed button').dataset.eventId === 'plain-2'",
                        Duration.ofSeconds(10));

                browser.await("!document.getElementById('trends').hidden && document.querySelectorAll('#chart-events canvas').length === 1", Duration.ofSeconds(15));
                assertTrue(browser.eval("fetch('/api/stats').then(r => r.json()).then(s => s.windows[0].events)").asInt() == 2, "trends have points");
                browser.await("document.querySelectorAll('#alerts li').length > 0", Duration.ofSeconds(15));
                assertTrue(browser.eval("document.querySelector('#alerts a').getAttribute('href')").asText().startsWith("#event="), "an alert links to its events");
                browser.screenshot(Path.of("target/dashboard-trends.png"));
                assertEquals(java.util.List.of(), browser.consoleErrors, "console errors");
            }
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
