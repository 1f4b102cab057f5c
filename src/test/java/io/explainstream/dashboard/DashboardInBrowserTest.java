package io.explainstream.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.explainstream.TestData;
import io.explainstream.testing.Chromium;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.stats.StatsTopology;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.stream.topology.Scope;
import io.explainstream.testing.InJvmKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard against the live service (with its statistics) on an in-JVM broker, in real
 * headless Chromium driven through the DevTools protocol: events produced after the page opened
 * appear in the feed; one selected shows a heatmap with one cell per prompt token (the tokens of
 * one character, such as 🐶's byte pieces or 👩‍💻's three code points, as one cell), a T × P matrix, words and segments views, the segment bar; a filter
 * narrows the feed; the keyboard opens an event; trends from the statistics topic have points; an
 * alert from the alerts topic appears and opens its example; at a phone's width nothing overflows;
 * a redacted service's records show no text; no console errors. Screenshots go to target/
 * (docs/images/ holds copies for the README).
 */
@Tag("slow")
class DashboardInBrowserTest {

    @Test
    void theLivePageShowsFiltersAndExplainsEvents(@TempDir Path dir) throws Exception {
        Path chromium = Chromium.required();
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            Map<String, String> settings = serviceSettings(kafka, registry, dir, false);
            try (ExplainService service = start(settings);
                    Dashboard dashboard = Dashboard.start(new Dashboard.Settings("explanations", "explanation-stats", "explanation-alerts", "127.0.0.1", 0, 100, null,
                            0.05, null), kafka.clientSettings(), RegistryConfig.of(registry.url().toString()));
                    DevTools browser = DevTools.start(chromium, Files.createDirectories(dir.resolve("profile")), 1280, 1400)) {
                assertTrue(service.awaitRunning(Duration.ofSeconds(60)), "started");
                assertEquals("127.0.0.1", dashboard.url().getHost());
                browser.navigate(dashboard.url().toString());
                browser.await("document.getElementById('status').textContent.startsWith('live')", Duration.ofSeconds(20));

                try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                    send(producer, "chat-1", "\"messages\":[{\"role\":\"system\",\"content\":\"You tell short stories.\"},"
                            + "{\"role\":\"user\",\"content\":\"Tell me about Lily and her red ball.\"}],\"response\":\"Lily played with her red ball.\","
                            + "\"metadata\":{\"application\":\"stories\",\"tenant\":\"acme\"}");
                    send(producer, "plain-2", "\"prompt\":\"Once upon a time there was a dog.\",\"response\":\"The dog liked to run.\","
                            + "\"metadata\":{\"application\":\"support\",\"tenant\":\"globex\"}");
                    send(producer, "emoji-3", "\"prompt\":\"My dog 🐶 and 👩\u200D💻 like the sun.\",\"response\":\"The dog 🐶 ran.\","
                            + "\"metadata\":{\"application\":\"stories\",\"tenant\":\"acme\"}");
                    // A right-to-left override (U+202E) in the id, the prompt, a segment's name and a metadata value, and Hebrew.
                    send(producer, BIDI_ID, "\"prompt\":\"\u202Eabc \u05E9\u05DC\u05D5\u05DD and the sun.\",\"response\":\"Lily\","
                            + "\"segments\":[{\"name\":\"doc:\u202E<i>x</i>\",\"start\":0,\"end\":9}],"
                            + "\"metadata\":{\"application\":\"stories\",\"tenant\":\"\u202Eacme\"}");
                }
                browser.await("document.querySelectorAll('#feed button').length === 4", Duration.ofSeconds(120));

                browser.eval("document.querySelector('#feed button[data-event-id=\"chat-1\"]').click()");
                browser.await("document.getElementById('d-id').textContent === 'chat-1' && document.querySelectorAll('#heatmap .cell').length > 0", Duration.ofSeconds(10));
                int promptTokens = browser.eval("fetch('/api/events/chat-1').then(r => r.json()).then(d => d.prompt_tokens.length)").asInt();
                int responseTokens = browser.eval("fetch('/api/events/chat-1').then(r => r.json()).then(d => d.response_tokens.length)").asInt();
                assertEquals(promptTokens, browser.eval("document.querySelectorAll('#heatmap .cell').length").asInt(), "one cell per prompt token");
                assertEquals(responseTokens * promptTokens, browser.eval("document.querySelectorAll('#matrix td.m').length").asInt(), "T × P matrix");
                assertTrue(browser.eval("document.querySelectorAll('#segment-bar div').length").asInt() >= 3, "system, user, template");
                assertTrue(browser.eval("document.querySelector('#heatmap .cell').dataset.tip").asText().contains("raw "), "hover shows raw and normalized");
                assertTrue(browser.eval("document.getElementById('d-redacted').hidden").asBoolean(), "not redacted");
                // Trends from either source, so that the screenshot shows the page as a person sees it a moment later.
                browser.await("document.querySelectorAll('#chart-events canvas').length === 1", Duration.ofSeconds(20));
                browser.screenshot(Path.of("target/dashboard.png"));

                browser.eval("document.querySelector('#views input[value=words]').click()");
                int words = browser.eval("fetch('/api/events/chat-1').then(r => r.json()).then(d => d.words.length)").asInt();
                assertEquals(words, browser.eval("document.querySelectorAll('#heatmap .cell').length").asInt(), "one cell per word");
                browser.eval("document.querySelector('#views input[value=segments]').click()");
                int segments = browser.eval("fetch('/api/events/chat-1').then(r => r.json()).then(d => d.segments.length)").asInt();
                assertEquals(segments, browser.eval("document.querySelectorAll('#heatmap .cell').length").asInt(), "one cell per segment");
                browser.eval("document.querySelector('#views input[value=tokens]').click()");

                emojiIsOneCell(browser);
                bidirectionalControlsAreShownNotObeyed(browser);
                keyboardOpensAnEvent(browser);

                browser.eval("const f = document.getElementById('f-application'); f.value = 'support'; f.dispatchEvent(new Event('input', {bubbles: true}))");
                browser.await("document.querySelectorAll('#feed button').length === 1 && document.querySelector('#feed button').dataset.eventId === 'plain-2'",
                        Duration.ofSeconds(10));
                browser.eval("const g = document.getElementById('f-application'); g.value = ''; g.dispatchEvent(new Event('input', {bubbles: true}))");

                trendsAndAlertsComeFromTheTopics(browser);
                browser.screenshot(Path.of("target/dashboard-trends.png"));
                anEventNotHeldIsSaidInTheDetail(browser);
                phoneWidth(browser, dashboard);
                assertEquals(List.of(), browser.consoleErrors, "console errors");
            }
        }
    }

    /** "🐶" is four byte pieces: one cell, scored by their sum, and no raw byte piece on the page. */
    private static void emojiIsOneCell(DevTools browser) throws Exception {
        browser.eval("document.querySelector('#feed button[data-event-id=\"emoji-3\"]').click()");
        browser.await("document.getElementById('d-id').textContent === 'emoji-3'", Duration.ofSeconds(10));
        JsonNode detail = browser.eval("fetch('/api/events/emoji-3').then(r => r.json())");
        int first = -1;
        double raw = 0;
        for (int i = 0; i < detail.get("prompt_tokens").size(); i++) {
            JsonNode token = detail.get("prompt_tokens").get(i);
            if (token.get("text").asText().equals("<0xF0>") && first < 0) {
                first = i; // 🐶's first byte; 👩‍💻's come later
            }
        }
        assertTrue(first >= 0, "the tokenizer spells the emoji in byte pieces: " + detail.get("prompt_tokens"));
        for (int i = first; i < first + 4; i++) {
            raw += detail.get("seq_attr").get(i).asDouble();
        }
        JsonNode dog = browser.eval("(() => { const c = [...document.querySelectorAll('#heatmap .cell')].find(c => c.textContent === '🐶');"
                + " return c ? {first: +c.dataset.first, last: +c.dataset.last, tip: c.dataset.tip} : null; })()");
        assertFalse(dog.isNull(), "a cell reading 🐶");
        assertEquals(first, dog.get("first").asInt());
        assertEquals(first + 3, dog.get("last").asInt());
        assertTrue(dog.get("tip").asText().contains(String.format(java.util.Locale.ROOT, "raw %.4f", raw)), "the sum of its tokens' raw scores: " + dog);
        int covered = browser.eval("[...document.querySelectorAll('#heatmap .cell')].reduce((n, c) => n + (+c.dataset.last) - (+c.dataset.first) + 1, 0)").asInt();
        assertEquals(detail.get("prompt_tokens").size(), covered, "every prompt token in one cell");
        assertFalse(browser.eval("document.getElementById('heatmap').textContent").asText().contains("<0x"), "no raw byte piece in the heatmap");
        // 👩‍💻 is three code points (woman, zero-width joiner, laptop), each spelled in byte pieces: one character, one cell.
        assertTrue(browser.eval("[...document.querySelectorAll('#heatmap .cell')].some((c) => c.textContent === '👩\u200D💻')").asBoolean(),
                "a cell reading 👩‍💻, not three");
        assertTrue(browser.eval("document.getElementById('response').textContent").asText().contains("🐶"), "the response table reads the emoji too");
    }

    private static final String BIDI_ID = "bidi-\u202E-4";
    /** The characters that reorder text around them (as the CLI's TokenText), as a JavaScript regular expression. */
    private static final String LAYOUT = "/[\\u202A-\\u202E\\u2066-\\u2069\\u200E\\u200F\\u061C\\u2028\\u2029]/";

    /**
     * A U+202E in an id, a prompt or a segment's name reordered the rest of its line: the heatmap's
     * cells read right to left and a segment's "23%" read "%32". Now it is spelled out (as the
     * CLI does), nothing on the page obeys one, and the cells stay in prompt order, Hebrew included.
     */
    private static void bidirectionalControlsAreShownNotObeyed(DevTools browser) throws Exception {
        browser.eval("document.querySelector('#feed button[data-event-id=\"" + BIDI_ID + "\"]').click()");
        browser.await("document.getElementById('d-id').textContent === 'bidi-\\\\u202e-4' && document.querySelectorAll('#heatmap .cell').length > 0",
                Duration.ofSeconds(10));
        assertFalse(browser.eval(LAYOUT + ".test(document.body.innerText)").asBoolean(), "no reordering character in the page's text");
        assertFalse(browser.eval("[...document.querySelectorAll('[title],[aria-label],[data-tip]')].some((e) => " + LAYOUT + ".test((e.title || '')"
                + " + (e.getAttribute('aria-label') || '') + (e.dataset.tip || '')))").asBoolean(), "nor in a tooltip or label");
        JsonNode backwards = browser.eval("(() => { const cs = [...document.querySelectorAll('#heatmap .cell')]; for (let i = 1; i < cs.length; i++) {"
                + " const a = cs[i - 1].getBoundingClientRect(), b = cs[i].getBoundingClientRect();"
                + " if (Math.abs(a.top - b.top) < 2 && b.left < a.left) return [i, cs[i - 1].textContent, cs[i].textContent]; } return null; })()");
        assertTrue(backwards.isNull(), "each cell right of the one before it on its line: " + backwards);
        String label = browser.eval("[...document.querySelectorAll('#segment-bar span')].map((s) => s.textContent).find((t) => t.startsWith('doc:'))").asText();
        assertTrue(label.matches("doc:\\\\u202e<i>x</i> \\d+%"), "the segment's name spelled out, then its share: " + label);
        assertTrue(browser.eval("document.getElementById('metadata').textContent").asText().contains("\\u202eacme"), "the metadata value too");
    }

    /**
     * A dead-letter alert links to events the dashboard holds no explanation of: the detail says so
     * and shows nothing of the event before; the status line still says live (it showed the 404).
     */
    private static void anEventNotHeldIsSaidInTheDetail(DevTools browser) throws Exception {
        browser.eval("location.hash = '#event=gone-1'");
        browser.await("document.getElementById('d-id').textContent === 'gone-1'", Duration.ofSeconds(10));
        assertTrue(browser.eval("document.getElementById('d-facts').textContent").asText().startsWith("No explanation of this event is held here"));
        assertEquals(0, browser.eval("document.querySelectorAll('#heatmap .cell, #segment-bar div, #response tbody tr').length").asInt(),
                "nothing of the event shown before");
        assertEquals("live", browser.eval("document.getElementById('status').dataset.state").asText());
        assertTrue(browser.eval("document.getElementById('status').textContent").asText().startsWith("live"));
    }

    /** Tab to the feed, arrow down, Enter: the focused event opens. */
    private static void keyboardOpensAnEvent(DevTools browser) throws Exception {
        browser.eval("document.querySelector('#feed button').focus()");
        String second = browser.eval("document.querySelectorAll('#feed button')[1].dataset.eventId").asText();
        browser.press("ArrowDown", 40);
        assertEquals(second, browser.eval("document.activeElement.dataset.eventId").asText(), "arrow keys move along the feed");
        browser.press("Enter", 13);
        // The title shows the id as the feed does (a U+202E spelled out).
        browser.await("document.getElementById('d-id').textContent === document.querySelectorAll('#feed button')[1].querySelector('.feed-id').textContent",
                Duration.ofSeconds(10));
    }

    /** The trends are the statistics topic's windows (labelled so) and the alert the alerts topic's, linking to its example events. */
    private static void trendsAndAlertsComeFromTheTopics(DevTools browser) throws Exception {
        browser.await("document.getElementById('trends').dataset.source === 'topic' && document.querySelectorAll('#chart-events canvas').length === 1",
                Duration.ofSeconds(60));
        assertTrue(browser.eval("document.getElementById('trends-source').textContent").asText().contains("statistics topic explanation-stats"));
        // A window is published again as it fills: wait for the version that holds all four.
        String counted = "fetch('/api/stats').then(r => r.json()).then(s => s.totals.reduce((n, w) => n + w.events, 0))";
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (browser.eval(counted).asInt() != 4 && System.nanoTime() < deadline) {
            Thread.sleep(300);
        }
        assertEquals(4, browser.eval(counted).asInt(), "the windows count every explanation");
        browser.await("document.getElementById('alerts-panel').dataset.source === 'topic' && document.querySelectorAll('#alerts li').length > 0",
                Duration.ofSeconds(60));
        String href = browser.eval("document.querySelector('#alerts a').getAttribute('href')").asText();
        assertTrue(href.startsWith("#event="), "an alert links to its events: " + href);
        browser.eval("document.querySelector('#alerts a').click()");
        browser.await("document.getElementById('d-id').textContent === decodeURIComponent('" + href.substring("#event=".length()) + "')", Duration.ofSeconds(10));
    }

    /** At 390 px: the body does not scroll sideways, the feed and the selected event are on the page and as wide as the screen at most. */
    private static void phoneWidth(DevTools browser, Dashboard dashboard) throws Exception {
        browser.viewport(390, 844, true);
        browser.navigate("about:blank"); // a fresh load at this width, as a phone would get, not a jump within the page
        browser.await("location.href === 'about:blank'", Duration.ofSeconds(10));
        browser.navigate(dashboard.url() + "#event=plain-2");
        browser.await("document.getElementById('d-id').textContent === 'plain-2' && document.querySelectorAll('#feed button').length === 4"
                + " && document.querySelectorAll('#chart-events canvas').length === 1", Duration.ofSeconds(20));
        assertEquals(390, browser.eval("window.innerWidth").asInt());
        assertTrue(browser.eval("document.documentElement.scrollWidth <= window.innerWidth && document.body.scrollWidth <= window.innerWidth").asBoolean(),
                "no horizontal overflow: " + browser.eval("[document.documentElement.scrollWidth, document.body.scrollWidth]"));
        for (String id : List.of("feed", "detail", "heatmap", "trends")) {
            JsonNode box = browser.eval("(() => { const r = document.getElementById('" + id + "').getBoundingClientRect(); return {left: r.left, right: r.right, width: r.width}; })()");
            assertTrue(box.get("left").asDouble() >= 0 && box.get("right").asDouble() <= 390 && box.get("width").asDouble() > 200, id + " on the screen: " + box);
        }
        // A tap in the feed brings the detail, which is below the whole feed at this width, into view.
        browser.eval("window.scrollTo(0, 0)");
        assertTrue(browser.eval("document.getElementById('detail').getBoundingClientRect().top > window.innerHeight / 2").asBoolean(), "below the feed");
        browser.eval("document.querySelector('#feed button[data-event-id=\"chat-1\"]').click()");
        browser.await("document.getElementById('d-id').textContent === 'chat-1'", Duration.ofSeconds(10));
        browser.await("(() => { const r = document.getElementById('detail').getBoundingClientRect(); return r.top > -1 && r.top < window.innerHeight / 2; })()" /* -1: subpixel layout */,
                Duration.ofSeconds(5));
        // No segment label cut off ("emplate 18"): each shown one fits its part, and every part is named in its title.
        JsonNode labels = browser.eval("[...document.querySelectorAll('#segment-bar div')].map(p => ({title: p.title, shown: !p.firstElementChild.hidden,"
                + " fits: p.firstElementChild.offsetWidth <= p.clientWidth}))");
        assertTrue(labels.size() >= 3, labels.toString());
        labels.forEach(label -> assertTrue(!label.get("shown").asBoolean() || label.get("fits").asBoolean(), "a label cut off: " + labels));
        labels.forEach(label -> assertFalse(label.get("title").asText().isEmpty(), labels.toString()));
        browser.screenshot(Path.of("target/dashboard-phone.png"));
    }

    @Test
    void aRedactedServicesRecordsShowNoText(@TempDir Path dir) throws Exception {
        Path chromium = Chromium.required();
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            try (ExplainService service = start(serviceSettings(kafka, registry, dir, true));
                    Dashboard dashboard = Dashboard.start(new Dashboard.Settings("explanations", "explanation-stats", "explanation-alerts", "127.0.0.1", 0, 100, null,
                            0.05, null), kafka.clientSettings(), RegistryConfig.of(registry.url().toString()));
                    DevTools browser = DevTools.start(chromium, Files.createDirectories(dir.resolve("profile")), 1280, 1400)) {
                assertTrue(service.awaitRunning(Duration.ofSeconds(60)), "started");
                browser.navigate(dashboard.url().toString());
                browser.await("document.getElementById('status').textContent.startsWith('live')", Duration.ofSeconds(20));
                try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                    send(producer, "secret-1", "\"prompt\":\"Lily told Ben her secret.\",\"response\":\"Ben kept the secret.\",\"metadata\":{\"application\":\"support\"}");
                }
                browser.await("document.querySelectorAll('#feed button').length === 1", Duration.ofSeconds(120));
                JsonNode record = browser.eval("fetch('/api/events/secret-1').then(r => r.json())");
                assertTrue(record.get("flags").get("redacted").asBoolean());
                assertTrue(record.get("prompt_text").isNull() && record.get("response_text").isNull(), "the API has no text to give: " + record);
                String carried = record.toString().replace("secret-1", "");
                for (String word : List.of("Lily", "Ben", "secret")) {
                    assertFalse(carried.contains(word), "'" + word + "' is nowhere in the record: " + carried);
                }

                browser.eval("document.querySelector('#feed button').click()");
                browser.await("document.getElementById('d-id').textContent === 'secret-1' && document.querySelectorAll('#heatmap .cell').length > 0", Duration.ofSeconds(10));
                assertFalse(browser.eval("document.getElementById('d-redacted').hidden").asBoolean(), "the page says the records carry no text");
                assertEquals(record.get("prompt_tokens").size(), browser.eval("document.querySelectorAll('#heatmap .cell').length").asInt(), "a cell per token position");
                assertTrue(browser.eval("[...document.querySelectorAll('#heatmap .cell')].every(c => c.textContent === '▒')").asBoolean(), "placeholders only");
                browser.eval("document.querySelector('#views input[value=words]').click()");
                assertEquals(record.get("words").size(), browser.eval("document.querySelectorAll('#heatmap .cell').length").asInt());
                browser.eval("document.querySelector('#views input[value=segments]').click()");
                assertEquals(record.get("segments").size(), browser.eval("document.querySelectorAll('#heatmap .cell').length").asInt());
                String page = browser.eval("document.body.innerText").asText();
                for (String word : List.of("Lily", "Ben", "kept")) {
                    assertFalse(page.contains(word), "'" + word + "' is nowhere on the page");
                }
                assertTrue(page.contains("redacted: no text published"), "the feed says why it shows no text");
                browser.screenshot(Path.of("target/dashboard-redacted.png"));
                assertEquals(List.of(), browser.consoleErrors, "console errors");
            }
        }
    }

    private static Map<String, String> serviceSettings(InJvmKafka kafka, EmbeddedSchemaRegistry registry, Path dir, boolean redact) {
        Map<String, String> settings = new TreeMap<>(kafka.clientSettings());
        // 2 steps: a coarse integral, so the completeness gap is large and the delta alert fires.
        settings.putAll(Map.of("schema.registry.url", registry.url().toString(), "application.id", "dashboard", "state.dir", dir.resolve("state").toString(),
                "input.topic", "in", "output.topic", "explanations", "dlq.topic", "dlq", "attribution.steps", "2",
                "attribution.token.matrix", "true", "ops.port", "-1", "batch.max.wait.ms", "100"));
        // Statistics windows that are published every second and close 2 s after the traffic stops, with a rule that fires on the gap.
        settings.putAll(Map.of("stats.window", "10s", "stats.grace", "2s", "stats.emit.interval", "1s", "alert.unfaithful.when", "delta.rel.max > 0.05",
                "redact", Boolean.toString(redact)));
        return settings;
    }

    private static ExplainService start(Map<String, String> settings) throws Exception {
        return ExplainService.start(ServiceConfig.of(settings), TestData.repo(), Scope.live(), List.of(StatsTopology.extension()), Clock.systemUTC());
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, String id, String fields) {
        producer.send(new ProducerRecord<>("in", bytes(id), bytes("{\"event_id\":\"" + id + "\",\"timestamp\":" + System.currentTimeMillis()
                + ",\"model\":\"stories260K\"," + fields + "}")));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
