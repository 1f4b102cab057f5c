package io.explainstream.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.schema.Explanation;
import io.explainstream.testing.Chromium;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.RunsBeside;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the page says of time and of its own server, in real headless Chromium (a hostile test):
 * feed times had no date, so an event stamped in 1970 (seconds sent as milliseconds) or yesterday
 * read as one of today; and with the dashboard's server gone the page said "feed disconnected;
 * retrying…" every few seconds over the documented "the dashboard server does not answer".
 */
@RunsBeside
@Tag("slow")
class DashboardPageStatesTest {

    @Test
    void feedTimesOfAnotherDayShowTheirDateAndAServerGoneIsSaidAsSuch(@TempDir Path dir) throws Exception {
        Path chromium = Chromium.required();
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            ConfluentAvroSerializer<Explanation> serializer = new ConfluentAvroSerializer<>(new SchemaRegistryClient(RegistryConfig.of(registry.url().toString())),
                    SubjectNameStrategy.TOPIC_NAME, true, false);
            Explanation old = DashboardApiTest.explanation("old-1", "m1", "shop", -0.1, 0.0, "▁ball"); // stamped 2025-11-24
            Explanation now = DashboardApiTest.explanation("now-1", "m1", "shop", -0.1, 0.0, "▁ball");
            now.setEventId("now-1");
            now.setEventTime(Instant.now());
            try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                for (Explanation explanation : List.of(old, now)) {
                    producer.send(new ProducerRecord<>("explanations", explanation.getEventId().getBytes(StandardCharsets.UTF_8),
                            serializer.serialize("explanations", explanation))).get();
                }
            }
            Dashboard dashboard = Dashboard.start(new Dashboard.Settings("explanations", null, null, "127.0.0.1", 0, 10, null, 0.05, null),
                    kafka.clientSettings(), RegistryConfig.of(registry.url().toString()));
            try (DevTools browser = DevTools.start(chromium, Files.createDirectories(dir.resolve("profile")), 1280, 900)) {
                try {
                    browser.navigate(dashboard.url().toString());
                    browser.await("document.querySelectorAll('#feed button').length === 2", Duration.ofSeconds(30));
                    String oldMeta = browser.eval("document.querySelector('#feed button[data-event-id=\"old-1\"] .feed-meta').textContent").asText();
                    String nowMeta = browser.eval("document.querySelector('#feed button[data-event-id=\"now-1\"] .feed-meta').textContent").asText();
                    String oldDate = browser.eval("new Date(" + old.getEventTime().toEpochMilli() + ").toLocaleDateString()").asText();
                    String today = browser.eval("new Date().toLocaleDateString()").asText();
                    assertTrue(oldMeta.startsWith(oldDate + " "), "another day's event shows its date: " + oldMeta);
                    assertFalse(nowMeta.contains(today), "today's shows the time alone: " + nowMeta);
                } finally {
                    dashboard.close();
                }
                browser.await("document.getElementById('status').dataset.state === 'dashboard-unreachable'", Duration.ofSeconds(30));
                List<String> said = new ArrayList<>();
                for (int i = 0; i < 32; i++) { // 8 s: the feed's retries come every few seconds
                    said.add(browser.eval("document.getElementById('status').textContent").asText());
                    Thread.sleep(250);
                }
                assertEquals(List.of("the dashboard server does not answer; retrying…"), said.stream().distinct().toList());
            }
        }
    }

    /**
     * A filter shows the server's matches however old (a hostile test): the page merged the
     * server's filtered answer into its buffer of the newest 1,000 arrivals and cut it to that
     * size, so 600 events of one application, followed by 1,100 of another, read "0 shown" under
     * a filter on the first; and the status line counted what the buffer held ("1000 events
     * received" after 1,600), and the feed grew past the entries the page holds.
     */
    @Test
    void aFilterShowsMatchesOlderThanTheNewestArrivalsAndTheStatusCountsEveryArrival(@TempDir Path dir) throws Exception {
        Path chromium = Chromium.required();
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            ConfluentAvroSerializer<Explanation> serializer = new ConfluentAvroSerializer<>(new SchemaRegistryClient(RegistryConfig.of(registry.url().toString())),
                    SubjectNameStrategy.TOPIC_NAME, true, false);
            produce(kafka, serializer, "early", 600);
            Dashboard dashboard = Dashboard.start(new Dashboard.Settings("explanations", null, null, "127.0.0.1", 0, Dashboard.Settings.DEFAULT_KEEP, null,
                    0.05, null), kafka.clientSettings(), RegistryConfig.of(registry.url().toString()));
            try (dashboard;
                    DevTools browser = DevTools.start(chromium, Files.createDirectories(dir.resolve("profile")), 1280, 900)) {
                awaitHeld(dashboard, 600); // read before the page opens: the page's first load takes the newest 500, the feed only what comes after
                browser.navigate(dashboard.url().toString());
                browser.await("document.getElementById('feed-count').textContent === '500 shown'", Duration.ofSeconds(30));
                produce(kafka, serializer, "late", 1100);
                browser.await("document.querySelector('#feed button') !== null"
                        + " && document.querySelector('#feed button').dataset.eventId === 'late-1099'", Duration.ofSeconds(60));
                assertEquals(1000, browser.eval("document.querySelectorAll('#feed button').length").asInt(), "the feed keeps the entries the page holds");
                assertTrue(browser.eval("document.getElementById('status').textContent").asText().contains(" 1600 events received "),
                        browser.eval("document.getElementById('status').textContent").asText());

                browser.eval("const f = document.getElementById('f-application'); f.value = 'early'; f.dispatchEvent(new Event('input', {bubbles: true}))");
                browser.await("document.getElementById('feed-count').textContent === '500 shown'", Duration.ofSeconds(30));
                assertEquals("early-599", browser.eval("document.querySelector('#feed button').dataset.eventId").asText(), "newest match first");
                assertEquals(0, browser.eval("[...document.querySelectorAll('#feed button')].filter(b => !b.dataset.eventId.startsWith('early-')).length")
                        .asInt(), "only matches");
                // A match arriving under the filter joins the list at the top.
                produce(kafka, serializer, "early", 600, 1);
                browser.await("document.querySelector('#feed button').dataset.eventId === 'early-600'", Duration.ofSeconds(30));
                assertEquals("501 shown", browser.eval("document.getElementById('feed-count').textContent").asText());
                // Explained again (by a replay, say) with another application: its newest explanation no
                // longer matches, and it leaves the list (it stayed, with its old explanation).
                try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                    Explanation moved = DashboardApiTest.explanation("early-599", "m1", "elsewhere", -0.1, 0.0, "▁ball");
                    moved.setEventTime(Instant.now());
                    producer.send(new ProducerRecord<>("explanations", "early-599".getBytes(StandardCharsets.UTF_8), serializer.serialize("explanations", moved)))
                            .get();
                }
                browser.await("document.getElementById('feed-count').textContent === '500 shown'", Duration.ofSeconds(30));
                assertEquals(0, browser.eval("document.querySelectorAll('#feed button[data-event-id=\"early-599\"]').length").asInt());
                // Answers out of order: the unfiltered answer of a filter cleared and set again comes back
                // last (held 1.5 s here) and must not replace the filter's (a hostile test read "0 shown").
                browser.eval("const fetched = window.fetch; window.fetch = (url, options) => /[?]limit=500$/.test(String(url))"
                        + " ? new Promise((done) => setTimeout(done, 1500)).then(() => fetched(url, options)) : fetched(url, options)");
                browser.eval("const g = document.getElementById('f-application'); g.value = ''; g.dispatchEvent(new Event('input', {bubbles: true}));"
                        + " g.value = 'early'; g.dispatchEvent(new Event('input', {bubbles: true}))");
                Thread.sleep(3000);
                assertEquals("500 shown", browser.eval("document.getElementById('feed-count').textContent").asText(), "the filter's answer stays");
            }
        }
    }

    /**
     * The page outlives its dashboard: started again on the same port, the dashboard reads the
     * topic afresh while the page's stream retries, and the events it read before the page
     * reconnected were not sent to it; the page now reads its feed again on reconnecting, and
     * starts it afresh where the dashboard is another run (whose entries are numbered from 0 again,
     * and would sort below the first run's).
     */
    @Test
    void aPageThatOutlivesItsDashboardShowsWhatTheRestartedOneReadBeforeThePageReconnected(@TempDir Path dir) throws Exception {
        Path chromium = Chromium.required();
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            ConfluentAvroSerializer<Explanation> serializer = new ConfluentAvroSerializer<>(new SchemaRegistryClient(RegistryConfig.of(registry.url().toString())),
                    SubjectNameStrategy.TOPIC_NAME, true, false);
            produce(kafka, serializer, "a", 1);
            Dashboard first = Dashboard.start(new Dashboard.Settings("explanations", null, null, "127.0.0.1", 0, Dashboard.Settings.DEFAULT_KEEP, null,
                    0.05, null), kafka.clientSettings(), RegistryConfig.of(registry.url().toString()));
            int port = first.url().getPort();
            try (DevTools browser = DevTools.start(chromium, Files.createDirectories(dir.resolve("profile")), 1280, 900)) {
                try (first) {
                    awaitHeld(first, 1);
                    browser.navigate(first.url().toString());
                    browser.await("document.getElementById('feed-count').textContent === '1 shown'", Duration.ofSeconds(30));
                }
                browser.await("document.getElementById('status').dataset.state === 'dashboard-unreachable'", Duration.ofSeconds(30));
                produce(kafka, serializer, "b", 3);
                try (Dashboard again = Dashboard.start(new Dashboard.Settings("explanations", null, null, "127.0.0.1", port, Dashboard.Settings.DEFAULT_KEEP,
                        null, 0.05, null), kafka.clientSettings(), RegistryConfig.of(registry.url().toString()))) {
                    awaitHeld(again, 4);
                    browser.await("document.getElementById('feed-count').textContent === '4 shown'", Duration.ofSeconds(30));
                    produce(kafka, serializer, "c", 1);
                    browser.await("document.querySelector('#feed button').dataset.eventId === 'c-0'", Duration.ofSeconds(30));
                    assertEquals(List.of("c-0", "b-2", "b-1", "b-0", "a-0"), ids(browser), "newest first, one entry each");
                }
            }
        }
    }

    private static List<String> ids(DevTools browser) throws Exception {
        List<String> ids = new ArrayList<>();
        browser.eval("[...document.querySelectorAll('#feed button')].map(b => b.dataset.eventId)").forEach(id -> ids.add(id.asText()));
        return ids;
    }

    private static void awaitHeld(Dashboard dashboard, int held) throws Exception {
        java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        int now = -1;
        while (System.nanoTime() < deadline) {
            String info = client.send(java.net.http.HttpRequest.newBuilder(dashboard.url().resolve("/api/info")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            now = new com.fasterxml.jackson.databind.ObjectMapper().readTree(info).get("held").asInt();
            if (now >= held) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the dashboard holds " + now + " explanations, not " + held);
    }

    private static void produce(InJvmKafka kafka, ConfluentAvroSerializer<Explanation> serializer, String application, int count) throws Exception {
        produce(kafka, serializer, application, 0, count);
    }

    /** Explanations {@code <application>-<first>} … of {@code application}, stamped now. */
    private static void produce(InJvmKafka kafka, ConfluentAvroSerializer<Explanation> serializer, String application, int first, int count)
            throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
            for (int i = first; i < first + count; i++) {
                Explanation explanation = DashboardApiTest.explanation(application + "-" + i, "m1", application, -0.1, 0.0, "▁ball");
                explanation.setEventTime(Instant.now());
                producer.send(new ProducerRecord<>("explanations", explanation.getEventId().getBytes(StandardCharsets.UTF_8),
                        serializer.serialize("explanations", explanation)));
            }
            producer.flush();
        }
    }
}
