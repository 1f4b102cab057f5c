package io.explainstream.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.explainstream.schema.Explanation;
import io.explainstream.testing.Chromium;
import io.explainstream.testing.RunsBeside;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page's trends and feed in headless Chromium, served from windows and explanations put
 * straight into the dashboard's stores (no broker: {@link DashboardInBrowserTest} runs the live
 * service): a latency axis of five-digit labels fits them, a line breaks where a window is missing,
 * and an event explained again is one entry in the feed, also when the new explanation comes live.
 */
@RunsBeside
@Tag("slow")
class DashboardTrendsInBrowserTest {

    private static final long T0 = 1_764_000_000_000L;
    private static final long MINUTE = 60_000;

    /** Records each chart as the page builds it, by the id of the element it is drawn in: uPlot draws on a canvas, so its state is what can be read. */
    private static final String KEEP_CHARTS = "(() => { const U = window.uPlot; window.charts = {};"
            + " window.uPlot = function (opts, data, target) { const u = new U(opts, data, target); window.charts[target.id] = u; return u; };"
            + " Object.assign(window.uPlot, U); return true; })()";

    @Test
    void latencyLabelsFitAndLinesBreakAtMissingWindowsAndAReExplainedEventIsOneEntry(@TempDir Path dir) throws Exception {
        Path chromium = Chromium.required();
        TopicTrends topic = new TopicTrends("explanation-stats", "explanation-alerts");
        // Minutes 0, 1, 2, 5 and 6: the windows of minutes 3 and 4 had no traffic, so the service published none.
        // p50 6 s: the latency axis reaches 18,000 ms.
        List<Long> minutes = List.of(0L, 1L, 2L, 5L, 6L);
        for (long minute : minutes) {
            topic.add(TopicTrendsTest.stats("source_model=m1", T0 + minute * MINUTE, true, 3, 0.10, 6000));
        }
        // An event stamped 23 hours ahead (valid: up to a day) has its window: left out of the charts, which it stretched over a day (helper-78).
        long ahead = (System.currentTimeMillis() + java.util.concurrent.TimeUnit.HOURS.toMillis(23)) / MINUTE * MINUTE;
        topic.add(TopicTrendsTest.stats("source_model=m1", ahead, false, 1, 0.10, 6000));
        // An alert whose examples hold an empty event id: said as "(empty id)", as tail says it, not a link with no text (helper-78).
        topic.add(TopicTrendsTest.alert("dead_letters", "source_model=m1", T0 + 6 * MINUTE, List.of("", "e-1")));
        EventStore store = new EventStore(100);
        store.add(DashboardApiTest.explanation("twice", "m1", "shop", -0.1, 0.0, "▁ball"));
        store.add(DashboardApiTest.explanation("other", "m1", "shop", -0.1, 0.0, "▁rain"));
        store.add(Explanation.newBuilder(DashboardApiTest.explanation("twice", "m1", "shop", -0.1, 0.0, "▁ball")).setReplayId("replay-1").build());
        DashboardApi api = new DashboardApi(store, new FallbackTrends(topic, new InMemoryTrends(store, 0.05)), 0.05, Map.of("topic", "explanations", "delta_warn_above", 0.05),
                () -> Dashboard.sources(List.of()));
        try (DashboardServer server = new DashboardServer("127.0.0.1", 0, api, store, 0.05, null);
                DevTools browser = DevTools.start(chromium, Files.createDirectories(dir.resolve("profile")), 1280, 1400)) {
            browser.navigate("http://127.0.0.1:" + server.port() + "/");
            browser.await("document.getElementById('status').textContent.startsWith('live') && document.querySelectorAll('#chart-latency canvas').length === 1",
                    Duration.ofSeconds(20));
            browser.eval(KEEP_CHARTS);
            browser.eval("document.getElementById('theme').click()"); // draws the charts again, now kept
            browser.await("window.charts['chart-latency'] && window.charts['chart-events']", Duration.ofSeconds(10));

            JsonNode scale = browser.eval("(() => { const u = window.charts['chart-events']; return {max: u.scales.x.max, note: document.getElementById('trends-note').textContent}; })()");
            assertEquals(T0 / 1000 + 6 * MINUTE / 1000, scale.get("max").asLong(), "the time axis ends at the last window of the past: " + scale);
            assertTrue(scale.get("note").asText().contains("1 window starts ahead of this machine's clock"), scale.toString());
            browser.await("document.querySelectorAll('#alerts li a').length === 2", Duration.ofSeconds(10));
            assertEquals("[\"(empty id)\",\"e-1\"]", browser.eval("[...document.querySelectorAll('#alerts li a')].map((a) => a.textContent)").toString());
            latencyLabelsFitTheCanvas(browser);
            linesBreakWhereAWindowIsMissing(browser, minutes);
            // From the topic, the events chart has the skipped events beside the explained ones (0 where a window skipped none).
            JsonNode events = browser.eval("(() => { const u = window.charts['chart-events']; return {labels: u.series.map((s) => s.label || ''), skipped: u.data[2]}; })()");
            assertEquals("[\"Time\",\"events\",\"skipped\"]", events.get("labels").toString(), events.toString());
            assertEquals(0, events.get("skipped").get(0).asInt(), events.toString());
            aReExplainedEventIsOneEntry(browser, store);
            browser.screenshot(Path.of("target/dashboard-trends-gaps.png"));
            assertEquals(List.of(), browser.consoleErrors, "console errors");
        }
    }

    /** The widest tick label of the latency axis, right-aligned against the tick, starts inside the canvas. */
    private static void latencyLabelsFitTheCanvas(DevTools browser) throws Exception {
        JsonNode axis = browser.eval("(() => { const u = window.charts['chart-latency'], a = u.axes[1], ctx = document.createElement('canvas').getContext('2d');"
                + " ctx.font = a.font[0]; const widest = Math.max(...a._values.map((v) => ctx.measureText(v).width)) / devicePixelRatio;"
                + " return {labels: a._values, widest: widest, left: u.bbox.left / devicePixelRatio - a.ticks.size - a.gap - widest}; })()");
        List<String> labels = new ArrayList<>();
        axis.get("labels").forEach(label -> labels.add(label.asText()));
        assertTrue(labels.stream().anyMatch(label -> label.replaceAll("[^0-9]", "").length() >= 5), "five-digit labels: " + axis);
        assertTrue(axis.get("left").asDouble() >= 0, "the widest label's box starts inside the canvas: " + axis);
    }

    /** A null at the first missing window's start, and nowhere else: uPlot ends the line there and starts a new one after. */
    private static void linesBreakWhereAWindowIsMissing(DevTools browser, List<Long> minutes) throws Exception {
        for (String chart : List.of("chart-events", "chart-delta", "chart-latency")) {
            JsonNode data = browser.eval("(() => { const u = window.charts['" + chart + "']; return {x: u.data[0], y: u.data[1], spanGaps: !!u.series[1].spanGaps}; })()");
            List<Long> x = new ArrayList<>();
            List<Integer> nulls = new ArrayList<>();
            for (int i = 0; i < data.get("x").size(); i++) {
                x.add(data.get("x").get(i).asLong());
                if (data.get("y").get(i).isNull()) {
                    nulls.add(i);
                }
            }
            List<Long> expected = new ArrayList<>();
            minutes.forEach(m -> expected.add((T0 + m * MINUTE) / 1000));
            expected.add(3, (T0 + 3 * MINUTE) / 1000);
            assertEquals(expected, x, chart + ": the windows and, between minutes 2 and 5, the first missing one: " + data);
            assertEquals(List.of(3), nulls, chart + ": no value at the missing window, a value at every other: " + data);
            assertTrue(!data.get("spanGaps").asBoolean(), chart + ": a null breaks the line");
        }
    }

    /** Two explanations of "twice" are one entry; a third, arriving live, takes its place at the top, still one entry. */
    private static void aReExplainedEventIsOneEntry(DevTools browser, EventStore store) throws Exception {
        String ids = "[...document.querySelectorAll('#feed button')].map((b) => b.dataset.eventId).join(',')";
        browser.await(ids + " === 'twice,other'", Duration.ofSeconds(10));
        store.add(DashboardApiTest.explanation("other", "m1", "shop", -0.1, 0.0, "▁rain"));
        browser.await(ids + " === 'other,twice'", Duration.ofSeconds(10));
        browser.eval("document.querySelector('#feed button[data-event-id=\"twice\"]').click()");
        browser.await("document.getElementById('d-id').textContent === 'twice'", Duration.ofSeconds(10));
        String facts = browser.eval("document.getElementById('d-facts').textContent").asText();
        assertTrue(facts.contains("replay replay-1") && facts.contains("explained 2 times"), "the detail says it was explained again: " + facts);
    }
}
