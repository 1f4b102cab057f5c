package io.explainstream.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.schema.Explanation;
import io.explainstream.testing.Chromium;
import io.explainstream.testing.SampleExplanations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's report page, from explanations the real engine computed. */
class HtmlReportTest {

    private static String html;

    @BeforeAll
    static void render() {
        List<HtmlReport.Entry> entries = new ArrayList<>();
        for (Explanation explanation : List.of(SampleExplanations.emoji("emoji-1"), SampleExplanations.chat("chat-1"))) {
            entries.add(new HtmlReport.Entry(explanation.getEventId(), ExplanationViews.toAttribution(explanation), ExplanationViews.source(explanation),
                    new HtmlReport.Details(explanation.getEventTime(), explanation.getProcessingTime(), explanation.getSourceModel(),
                            explanation.getMetadata(), explanation.getBatchSize(), explanation.getAttributionLatencyMs(), List.of("replay r-1"))));
        }
        HtmlReport.RunSummary summary = new HtmlReport.RunSummary(3, List.of(new HtmlReport.DeadLetter("demo-bad-json", "validation",
                "value is not valid JSON <here>")), 2.0, 120, 240, 35.0);
        html = HtmlReport.render("ExplainStream demo: 2 explanations", summary, entries);
    }

    @Test
    void eachSectionShowsWhatAppliesToItsMethodAndFlagsADeltaOverTheThreshold() {
        Explanation explanation = SampleExplanations.emoji("emoji-2");
        HtmlReport.Entry entry = new HtmlReport.Entry("e", ExplanationViews.toAttribution(explanation), ExplanationViews.source(explanation));
        String strict = HtmlReport.render("t", null, List.of(entry), Aggregate.TOKENS, 1e-9);
        assertTrue(strict.contains("class=\"delta-warning\"") && strict.contains("warning: relative delta over"), "flagged over a tiny threshold");
        assertTrue(strict.contains("steps") && strict.contains("baseline"), "integrated gradients shows its rule, steps and baseline");
        String lenient = HtmlReport.render("t", null, List.of(entry), Aggregate.TOKENS, 10);
        assertFalse(lenient.contains("delta-warning"), "not flagged under a generous one");
        assertTrue(lenient.contains("% of Σ|f(x)−f(b)|"), "the relative delta is shown beside the absolute one");
    }

    /** A right-to-left override in an id or a prompt reorders the rest of its line: spelled out, and each token cell laid out on its own. */
    @Test
    void bidirectionalControlsAreSpelledOutAndTokenCellsAreIsolated() {
        Explanation explanation = SampleExplanations.plain("bidi-\u202E-1", "\u202Eabc \u05E9\u05DC\u05D5\u05DD");
        HtmlReport.Entry entry = new HtmlReport.Entry(explanation.getEventId(), ExplanationViews.toAttribution(explanation), ExplanationViews.source(explanation));
        String page = HtmlReport.render("t", null, List.of(entry));
        assertFalse(page.chars().anyMatch(c -> TokenText.actsOnLayout((char) c)), "no character on the page that reorders it");
        assertTrue(page.contains("bidi-\\u202e-1"), "the id as one would type it");
        assertTrue(page.contains("\u05E9"), "right-to-left letters are shown as they are");
        assertTrue(page.contains(".tok{padding:2px 1px;border-radius:3px;white-space:pre;unicode-bidi:isolate}"), "each cell is laid out on its own");
    }

    @Test
    void theTrendsShowEachWindowsMeanSharePerSegmentKindLargestFirst() {
        Explanation explanation = SampleExplanations.emoji("emoji-3");
        HtmlReport.Entry entry = new HtmlReport.Entry("e", ExplanationViews.toAttribution(explanation), ExplanationViews.source(explanation));
        java.time.Instant start = java.time.Instant.parse("2026-11-29T10:00:00Z");
        HtmlReport.RunSummary run = new HtmlReport.RunSummary(4, List.of(), 1.0, 10, 20, 5.0);
        String page = HtmlReport.render("t", run, List.of(entry), Aggregate.TOKENS, 0.05, List.of(
                new HtmlReport.Trend("g", start, start.plusSeconds(60), 3, 0, 0.01, 0.02, 1, java.util.Map.of("system", 0.03, "user", 0.66, "span", 0.43)),
                new HtmlReport.Trend("g", start.plusSeconds(60), start.plusSeconds(120), 1, 0, Double.NaN, Double.NaN, 0, java.util.Map.of())));
        assertTrue(page.contains("<th>shares</th>"), page);
        assertTrue(page.contains("<td>user 66%, span 43%, system 3%</td>"), page);
        assertTrue(page.contains("<td>–</td>"), "a window without segments shows a dash");
    }

    @Test
    void theSummaryComesFirstWithDeadLetterReasonsThroughputLatencyAndTheWorstDeltas() {
        int summary = html.indexOf("<section class=\"summary\"");
        assertTrue(summary > 0 && summary < html.indexOf("<section class=\"explanation\""), "the summary is at the top");
        assertTrue(html.contains("<th>dead letters</th><td>1</td>"), html);
        assertTrue(html.contains("<td>demo-bad-json</td><td>validation</td><td>value is not valid JSON &lt;here&gt;</td>"), "the reason, escaped");
        assertTrue(html.contains("<th>throughput</th><td>1.0 events/s over 2.0 s</td>"));
        assertTrue(html.contains("<th>end-to-end latency</th><td>p50 120 ms, p99 240 ms</td>"));
        assertTrue(html.contains("Largest convergence deltas"));
    }

    @Test
    void theIndexLinksToEverySectionAndEachSectionShowsItsTimeAndMetadata() {
        Set<String> links = all("href=\"#([^\"]+)\"");
        Set<String> ids = all(" id=\"([^\"]+)\"");
        assertEquals(Set.of("event-1", "event-2"), links);
        assertTrue(ids.containsAll(links), "every link has its target: " + ids);
        assertTrue(html.contains("<th>event time</th><td>2025-11-30T00:00:00Z</td>"), html);
        assertTrue(html.contains("<th>metadata tenant</th><td>acme</td>") && html.contains("<th>metadata application</th><td>storybook</td>"));
        assertTrue(html.contains("<th>note</th><td>replay r-1</td>"));
    }

    @Test
    void promptsReadAsTextWithLineBreaksCharactersAndChatMarkupAsUnits() {
        // what a reader sees: the tooltips (which list each token's piece) left out
        String prompts = String.join("\n", all("(?s)<div class=\"prompt\">(.*?)</div>")).replaceAll("(?s) title=\"[^\"]*\"", "");
        assertFalse(prompts.contains("&lt;0x"), "no byte pieces in the prompts: " + prompts);
        assertTrue(prompts.contains(">🐶</span>"), "the emoji is one unit");
        assertTrue(prompts.contains("<br>"), "the newline breaks the line");
        for (String markup : List.of("[INST]", "&lt;&lt;SYS&gt;&gt;", "&lt;&lt;/SYS&gt;&gt;", "[/INST]")) {
            assertTrue(Pattern.compile("<span class=\"tok[^\"]* group\"[^>]*>\\s?" + Pattern.quote(markup) + "</span>").matcher(prompts).find(),
                    markup + " is one span:\n" + prompts);
        }
        assertFalse(prompts.contains(">I</span>"), "not spelled letter by letter");
    }

    @Test
    @Tag("slow") // starts Chromium, where it is installed
    void thePageRendersInHeadlessChromium(@TempDir Path dir) throws Exception {
        assertFalse(html.contains("<script"), "self-contained page without scripts");
        assertFalse(html.contains("http://") || html.contains("https://"), "nothing loads from the network");
        // CI installs Chromium (.ci/run); elsewhere the rendering check needs it installed first.
        Path chromium = Chromium.required();
        Path page = dir.resolve("report.html");
        Files.writeString(page, html);
        Path screenshot = dir.resolve("shot.png");
        Process process = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + dir.resolve("profile"),
                "--enable-logging=stderr", "--v=0", "--window-size=1200,1600", "--screenshot=" + screenshot, page.toUri().toString())
                .redirectErrorStream(true).start();
        String log = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "chromium did not finish");
        assertFalse(log.contains(":CONSOLE("), "page logged console messages:\n" + log);
        assertTrue(Files.size(screenshot) > 0, "no screenshot:\n" + log);
    }

    private static Set<String> all(String regex) {
        Set<String> found = new LinkedHashSet<>();
        Matcher matcher = Pattern.compile(regex).matcher(html);
        while (matcher.find()) {
            found.add(matcher.group(1));
        }
        return found;
    }
}
