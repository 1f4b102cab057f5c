package io.explainstream.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.schema.AttributionMethod;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.ExplanationFlags;
import io.explainstream.schema.IntegrationRule;
import io.explainstream.schema.Normalization;
import io.explainstream.schema.PromptSegment;
import io.explainstream.schema.PromptToken;
import io.explainstream.schema.ResponseToken;
import io.explainstream.schema.SegmentKind;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The JSON API and the HTTP server without a broker or a browser: filters, 404 and 400 with reasons, trends, alerts, SSE, basic auth. */
class DashboardApiTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final long T0 = 1_764_000_000_000L;

    private final EventStore store = new EventStore(3);
    private final DashboardApi api = new DashboardApi(store, new InMemoryTrends(store, 0.05), 0.05, Map.of("topic", "explanations"), () -> Dashboard.sources(List.of()));

    @Test
    void eventsAreNewestFirstAndFilterByModelMetadataMethodSegmentAndText() throws Exception {
        store.add(explanation("a", "m1", "shop", -0.1, 0.0, "▁ball"));
        store.add(explanation("b", "m2", "bank", -0.1, 0.0, "▁rain"));
        store.add(explanation("c", "m1", "bank", -0.1, 0.0, "▁ball"));

        assertEquals(List.of("c", "b", "a"), ids(api.get("/api/events", null)));
        assertEquals(List.of("c", "a"), ids(api.get("/api/events", "model=m1")));
        assertEquals(List.of("c", "b"), ids(api.get("/api/events", "application=bank")));
        assertEquals(List.of("c"), ids(api.get("/api/events", "application=bank&model=m1&method=INTEGRATED_GRADIENTS&segment=user%5B0%5D")));
        assertEquals(List.of("b"), ids(api.get("/api/events", "q=RAIN")), "text search ignores case, over prompt and response");
        assertEquals(List.of("c"), ids(api.get("/api/events", "limit=1")));

        store.add(explanation("d", "m1", "shop", -0.1, 0.0, "▁sun"));
        assertEquals(List.of("d", "c", "b"), ids(api.get("/api/events", null)), "keeps the last 3");
        assertEquals(404, api.get("/api/events/a", null).status(), "dropped from memory");
    }

    /** é spelt as one character or as e + U+0301 is one word to a reader: the search compares NFC forms (a hostile test found neither from the other). */
    @Test
    void theTextSearchFindsAWordWhicheverWayItsAccentsAreSpelt() throws Exception {
        store.add(explanation("nfd", "m1", "shop", -0.1, 0.0, "▁cafe\u0301"));
        store.add(explanation("nfc", "m1", "shop", -0.1, 0.0, "▁caf\u00e9"));
        store.add(explanation("plain", "m1", "shop", -0.1, 0.0, "▁cafe"));
        assertEquals(List.of("nfc", "nfd"), ids(api.get("/api/events", "q=CAF%C3%89")));
        assertEquals(List.of("nfc", "nfd"), ids(api.get("/api/events", "q=cafe%CC%81")));
        assertEquals(List.of("plain", "nfc", "nfd"), ids(api.get("/api/events", "q=caf")));
    }

    @Test
    void aReExplainedEventIsOneFeedEntryTheNewestAndItsDetailSaysSo() throws Exception {
        store.add(explanation("twice", "m1", "shop", -0.1, 0.0, "▁ball"));
        store.add(explanation("other", "m1", "shop", -0.1, 0.0, "▁ball"));
        store.add(Explanation.newBuilder(explanation("twice", "m1", "shop", -0.1, 0.0, "▁ball")).setReplayId("replay-7").build());

        JsonNode feed = MAPPER.readTree(api.get("/api/events", null).json()).get("events");
        assertEquals(List.of("twice", "other"), ids(api.get("/api/events", null)), "one entry per event id: " + feed);
        assertEquals(3, feed.get(0).get("seq").asInt(), "the newest explanation of it");
        assertEquals(2, feed.get(0).get("explanations_held").asInt());
        assertEquals(1, feed.get(1).get("explanations_held").asInt());
        assertEquals(List.of("twice"), ids(api.get("/api/events", "limit=1")), "the limit counts events, not explanations");
        JsonNode detail = MAPPER.readTree(api.get("/api/events/twice", null).json());
        assertEquals("replay-7", detail.get("replay_id").asText());
        assertEquals(2, detail.get("explanations_held").asInt(), "the detail says it was explained again");
    }

    @Test
    void oneEventCarriesTheRecordAndItsRelativeDelta() throws Exception {
        // moved |−0.1 − (−1.6)| = 1.5; missing |0.3|: relative delta 0.2, over 0.05
        store.add(explanation("x", "m1", "shop", -0.1, 0.3, "▁ball"));
        DashboardApi.Answer answer = api.get("/api/events/x", null);
        assertEquals(200, answer.status());
        JsonNode event = MAPPER.readTree(answer.json());
        assertEquals("x", event.get("event_id").asText());
        assertEquals(0.2, event.get("relative_delta").asDouble(), 1e-12);
        assertTrue(event.get("delta_warning").asBoolean());
        assertEquals(2, event.get("prompt_tokens").size());
        assertEquals("Once ball", event.get("prompt_text").asText());
        assertEquals("user[0]", event.get("segments").get(0).get("name").asText());
    }

    @Test
    void theBytePiecesOfOneCharacterAreOneCellScoredByTheirSum() throws Exception {
        // "I love 🐶": the emoji is four byte-fallback pieces; the response is the emoji alone.
        List<PromptToken> prompt = List.of(new PromptToken(1L, "<s>", 0, 0, false, 0), new PromptToken(306L, "▁I", 0, 1, true, 0),
                new PromptToken(5360L, "▁love", 1, 6, true, 0), new PromptToken(29871L, "▁", 6, 7, true, 0), new PromptToken(243L, "<0xF0>", 7, 9, true, 0),
                new PromptToken(162L, "<0x9F>", 7, 9, true, 0), new PromptToken(147L, "<0x90>", 7, 9, true, 0), new PromptToken(185L, "<0xB6>", 7, 9, true, 0));
        store.add(Explanation.newBuilder(explanation("dog", "m1", "shop", -0.1, 0.0, "▁ball"))
                .setPromptTokens(prompt)
                .setSeqAttr(List.of(9.0, 0.1, 0.2, 0.0, 0.1, 0.2, 0.3, 0.4)).setSeqAttrNormalized(List.of(9.0, 0.05, 0.1, 0.0, 0.05, 0.1, 0.15, 0.2))
                .setResponseTokens(List.of(new ResponseToken(243L, "<0xF0>", 0, 2), new ResponseToken(162L, "<0x9F>", 0, 2),
                        new ResponseToken(147L, "<0x90>", 0, 2), new ResponseToken(185L, "<0xB6>", 0, 2)))
                .setResponseLogprobs(List.of(-0.1, -0.1, -0.1, -0.1)).setBaselineLogprobs(List.of(-1.6, -1.6, -1.6, -1.6))
                .setSegments(List.of(new PromptSegment("user[0]", SegmentKind.USER, 0, 9, 8, 1.3, 1.0, null)))
                .build());
        JsonNode event = MAPPER.readTree(api.get("/api/events/dog", null).json());
        assertEquals("I love 🐶", event.get("prompt_text").asText());
        JsonNode groups = event.get("prompt_groups");
        assertEquals(5, groups.size(), "<s>, I, love, the space, 🐶: " + groups);
        JsonNode dog = groups.get(4);
        assertEquals("🐶", dog.get("text").asText());
        assertEquals("CHARACTER", dog.get("kind").asText());
        assertEquals(4, dog.get("first").asInt());
        assertEquals(7, dog.get("last").asInt());
        assertEquals(1.0, dog.get("score").asDouble(), 1e-12, "the sum of its tokens' raw scores");
        assertEquals(0.5, dog.get("score_normalized").asDouble(), 1e-12);
        assertEquals(0.0, groups.get(0).get("score").asDouble(), "BOS is not attributed: its score does not count");
        assertTrue(!groups.get(0).get("attributed").asBoolean());
        JsonNode response = event.get("response_groups");
        assertEquals(1, response.size());
        assertEquals("🐶", response.get(0).get("text").asText());
    }

    @Test
    void theTokensOfOneGraphemeAreOneCellScoredByTheirSum() throws Exception {
        // "cafe\u0301 🇫🇷" as the bundled tokenizer spells it: the accent (U+0301) and each regional
        // indicator are byte runs of their own; "e" + accent and the two indicators are one character each.
        List<PromptToken> prompt = List.of(new PromptToken(1L, "<s>", 0, 0, false, 0), new PromptToken(700L, "▁cafe", 0, 4, true, 0),
                new PromptToken(207L, "<0xCC>", 4, 5, true, 0), new PromptToken(132L, "<0x81>", 4, 5, true, 0), new PromptToken(29871L, "▁", 5, 6, true, 0),
                new PromptToken(243L, "<0xF0>", 6, 8, true, 0), new PromptToken(162L, "<0x9F>", 6, 8, true, 0), new PromptToken(138L, "<0x87>", 6, 8, true, 0),
                new PromptToken(174L, "<0xAB>", 6, 8, true, 0), new PromptToken(243L, "<0xF0>", 8, 10, true, 0), new PromptToken(162L, "<0x9F>", 8, 10, true, 0),
                new PromptToken(138L, "<0x87>", 8, 10, true, 0), new PromptToken(186L, "<0xB7>", 8, 10, true, 0));
        List<Double> raw = List.of(9.0, 0.5, 0.25, 0.25, 0.0, 0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2);
        store.add(Explanation.newBuilder(explanation("flag", "m1", "shop", -0.1, 0.0, "▁ball"))
                .setPromptTokens(prompt).setSeqAttr(raw).setSeqAttrNormalized(raw.stream().map(x -> x / 2).toList())
                .setSegments(List.of(new PromptSegment("user[0]", SegmentKind.USER, 0, 10, 13, 2.4, 1.0, null)))
                .build());
        JsonNode event = MAPPER.readTree(api.get("/api/events/flag", null).json());
        assertEquals("cafe\u0301 🇫🇷", event.get("prompt_text").asText());
        JsonNode groups = event.get("prompt_groups");
        assertEquals(4, groups.size(), "<s>, cafe + accent, the space, the flag: " + groups);
        assertCell(groups.get(1), "cafe\u0301", 1, 3, 1.0);
        assertCell(groups.get(3), "🇫🇷", 5, 12, 1.2);
        assertEquals(0.6, groups.get(3).get("score_normalized").asDouble(), 1e-12);
        int covered = 0;
        for (JsonNode group : groups) {
            assertEquals(covered, group.get("first").asInt(), "the cells cover every token once, in order: " + groups);
            covered = group.get("last").asInt() + 1;
        }
        assertEquals(prompt.size(), covered);
    }

    private static void assertCell(JsonNode cell, String text, int first, int last, double score) {
        assertEquals(text, cell.get("text").asText(), cell.toString());
        assertEquals("CHARACTER", cell.get("kind").asText(), cell.toString());
        assertEquals(first, cell.get("first").asInt(), cell.toString());
        assertEquals(last, cell.get("last").asInt(), cell.toString());
        assertEquals(score, cell.get("score").asDouble(), 1e-12, "the sum of its tokens' raw scores: " + cell);
    }

    @Test
    void aRedactedRecordShowsNoTextAndMatchesNoSearch() throws Exception {
        Explanation plain = explanation("secret", "m1", "shop", -0.1, 0.0, "▁ball");
        store.add(Explanation.newBuilder(plain)
                .setPromptTokens(plain.getPromptTokens().stream().map(t -> new PromptToken(t.getId(), null, t.getStart(), t.getEnd(), t.getAttributed(), t.getSegment())).toList())
                .setResponseTokens(plain.getResponseTokens().stream().map(t -> new ResponseToken(t.getId(), null, t.getStart(), t.getEnd())).toList())
                .setFlags(new ExplanationFlags(false, 0, false, 0, true))
                .build());
        JsonNode event = MAPPER.readTree(api.get("/api/events/secret", null).json());
        assertTrue(event.get("prompt_text").isNull(), "a redacted record carries no text: " + event.get("prompt_text"));
        assertTrue(event.get("response_text").isNull());
        event.get("prompt_groups").forEach(g -> assertTrue(g.get("text").isNull(), g.toString()));
        event.get("prompt_tokens").forEach(t -> assertTrue(t.get("text").isNull(), t.toString()));
        assertEquals(2, event.get("prompt_groups").size(), "one cell per token position");
        assertEquals(0.5, event.get("prompt_groups").get(0).get("score").asDouble(), "the scores are published");
        JsonNode line = MAPPER.readTree(api.get("/api/events", null).json()).get("events").get(0);
        assertTrue(line.get("response_text").isNull());
        assertTrue(line.get("flags").get("redacted").asBoolean());
        assertEquals(List.of(), ids(api.get("/api/events", "q=%E2%96%92")), "no placeholder text to search in");
        assertEquals(List.of(), ids(api.get("/api/events", "q=ball")));
    }

    @Test
    void unknownIdsAnswer404AndBadParameters400WithAReason() throws Exception {
        assertError(api.get("/api/events/nope", null), 404, "no explanation with event_id 'nope'");
        assertError(api.get("/api/events", "limit=abc"), 400, "limit must be a whole number from 1 to 10000, not 'abc'");
        assertError(api.get("/api/events", "limit=0"), 400, "limit must be from 1 to 10000, not 0");
        // Integer.parseInt reads any Unicode digit: a fullwidth 1 is not a number a user typed as one.
        assertError(api.get("/api/events", "limit=%EF%BC%91"), 400, "limit must be a whole number from 1 to 10000, not '\uff11'");
        assertError(api.get("/api/stats", "window=%EF%BC%96%EF%BC%90"), 400, "window is in whole seconds (1 to 86400), not '\uff16\uff10'");
        assertError(api.get("/api/events", "colour=red"), 400, "unknown parameter 'colour'");
        assertError(api.get("/api/events", "method=LIME"), 400, "method must be integrated_gradients, gradient or input_x_gradient (any case), not 'LIME'");
        assertError(api.get("/api/events", "model=a&model=b"), 400, "parameter 'model' is given twice");
        // Bytes that are not UTF-8 once percent-decoded were U+FFFD, and the filter answered an empty list as if nothing matched.
        assertError(api.get("/api/events", "q=%F0%9F%90"), 400, "malformed query string: '%F0%9F%90' is not UTF-8 once percent-decoded");
        assertError(api.get("/api/events", "model=%ED%A0%BD"), 400, "malformed query string: '%ED%A0%BD' is not UTF-8 once percent-decoded");
        assertError(api.get("/api/events", "model=%E"), 400, "malformed query string: '%E' is not a percent escape (a % and two hexadecimal digits)");
        assertEquals(200, api.get("/api/events", "q=%F0%9F%90%B6+dog").status(), "a whole emoji and a space");
        assertError(api.get("/api/stats", "window=0"), 400, "window must be from 1 to 86400 seconds, not 0");
        assertError(api.get("/api/stats", "window=soon"), 400, "window is in whole seconds (1 to 86400), not 'soon'");
        assertError(api.get("/api/stats", "limit=0"), 400, "limit must be from 1 to 10000, not 0");
        assertError(api.get("/api/nothing", null), 404, "no such API path: /api/nothing");
        // An empty value is a parameter not given, for every parameter alike (a form's untouched field).
        assertEquals(200, api.get("/api/events", "limit=&method=&model=").status());
        assertEquals(200, api.get("/api/stats", "window=&limit=").status());
    }

    @Test
    void eachEndpointKnowsOnlyItsOwnParameters() throws Exception {
        assertError(api.get("/api/info", "foo=1"), 400, "unknown parameter 'foo'; this takes none");
        assertError(api.get("/api/alerts", "window=20"), 400, "unknown parameter 'window'; known: model, limit");
        assertError(api.get("/api/stats", "foo=1"), 400, "unknown parameter 'foo'; known: window, model, limit");
        assertEquals(200, api.get("/api/alerts", "model=m1&limit=5").status());
        assertEquals(200, api.get("/api/info", null).status());
        assertError(DashboardApi.refuseStream("foo=1").orElseThrow(), 400, "unknown parameter 'foo'; this takes none");
        assertTrue(DashboardApi.refuseStream(null).isEmpty());
    }

    @Test
    void theMethodFilterTakesTheConfigurationsLowerCase() throws Exception {
        store.add(explanation("ig", "m1", "shop", -0.1, 0.0, "▁ball"));
        assertEquals(List.of(), ids(api.get("/api/events", "method=gradient")));
        assertEquals(List.of("ig"), ids(api.get("/api/events", "method=integrated_gradients")));
        assertEquals(List.of("ig"), ids(api.get("/api/events", "method=Integrated_Gradients")));
        assertError(api.get("/api/events", "method=lime"), 400, "method must be integrated_gradients, gradient or input_x_gradient (any case), not 'lime'");
    }

    @Test
    void infoSaysTheStartTheReadersUse() {
        Instant hourAgo = Instant.parse("2026-12-02T02:00:00Z");
        assertEquals("2026-12-02T02:00:00Z", Dashboard.info(settings(hourAgo, null)).get("from"), "-1h as resolved at the start");
        assertEquals("beginning", Dashboard.info(settings(null, null)).get("from"));
    }

    @Test
    void aPageOpenToTheNetworkWithoutCredentialsIsWarnedOf() throws Exception {
        java.net.InetSocketAddress any = new java.net.InetSocketAddress(java.net.InetAddress.getByName("0.0.0.0"), 8088);
        String warning = Dashboard.exposureWarning(any, null).orElseThrow();
        assertTrue(warning.contains("open to the network without credentials") && warning.contains("dashboard.auth"), warning);
        assertTrue(Dashboard.exposureWarning(any, "auditor:s3cret").isEmpty());
        assertTrue(Dashboard.exposureWarning(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 8088), null).isEmpty());
    }

    /**
     * broker_last_reached is the oldest of the readers' latest answers, also while every reader is
     * answered (a hostile test read null beside "reachable" as "never reached").
     */
    @Test
    void theBrokersLastAnswerIsGivenWhetherItAnswersNowOrNot() {
        java.time.Instant early = java.time.Instant.parse("2026-12-04T10:00:00Z");
        java.time.Instant late = java.time.Instant.parse("2026-12-04T10:00:05Z");
        Map<String, Object> reachable = Dashboard.sources(List.of(new TopicReader.Contact(true, late, null), new TopicReader.Contact(true, early, null)));
        assertEquals("reachable", reachable.get("broker"));
        assertEquals(early.toString(), reachable.get("broker_last_reached"));
        Map<String, Object> down = Dashboard.sources(List.of(new TopicReader.Contact(true, late, null), new TopicReader.Contact(false, early, null)));
        assertEquals("unreachable", down.get("broker"));
        assertEquals(early.toString(), down.get("broker_last_reached"));
        Map<String, Object> never = Dashboard.sources(List.of(new TopicReader.Contact(false, null, null)));
        assertEquals("not reached yet", never.get("broker"));
        assertEquals(null, never.get("broker_last_reached"));
    }

    @Test
    void aPortInUseAndAnUnknownHostAreOneLineNamingTheOption() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            IllegalArgumentException inUse = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> DashboardServer.create("127.0.0.1", taken.getLocalPort()));
            assertTrue(inUse.getMessage().startsWith("--port " + taken.getLocalPort() + ": the port is in use on 127.0.0.1"), inUse.getMessage());
        }
        IllegalArgumentException unknown = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> DashboardServer.create("nosuchhost.invalid", 0));
        assertEquals("--host nosuchhost.invalid: no such host (it does not resolve to an address)", unknown.getMessage());
    }

    @Test
    void theMemorysMeanShareOfAKindIsOverTheEventsThatHaveIt() throws Exception {
        // As on the statistics topic (docs/auditing.md): a prompt without a system message does not count as a 0 for "system".
        store.add(withSegments(explanation("plain", "m1", "shop", -0.1, 0.0, "▁ball"), segment("user[0]", SegmentKind.USER, 1.0)));
        store.add(withSegments(explanation("chat", "m1", "shop", -0.1, 0.0, "▁ball"), segment("system", SegmentKind.SYSTEM, 0.2),
                segment("user[0]", SegmentKind.USER, 0.5), segment("user[1]", SegmentKind.USER, 0.3)));
        JsonNode shares = MAPPER.readTree(api.get("/api/stats", null).json()).get("windows").get(0).get("segment_share_mean");
        assertEquals(0.2, shares.get("system").asDouble(), 1e-12, "over the one event with a system message, not (0.2 + 0) / 2");
        assertEquals((1.0 + (0.5 + 0.3)) / 2, shares.get("user").asDouble(), 1e-12, "user[0] and user[1] of one event together");
    }

    @Test
    void statsAndAlertsAreComputedFromTheEventsInMemoryAndSaySo() throws Exception {
        store.add(explanation("ok", "m1", "shop", -0.1, 0.0, "▁ball"));
        store.add(explanation("bad", "m1", "shop", -0.1, 0.3, "▁ball"));
        JsonNode stats = MAPPER.readTree(api.get("/api/stats", "window=60").json());
        assertEquals("memory", stats.get("source").asText());
        assertTrue(stats.get("note").asText().startsWith("computed from the 2 explanations in this dashboard's memory"), stats.get("note").asText());
        JsonNode window = stats.get("windows").get(0);
        assertEquals(2, window.get("events").asInt());
        assertEquals(0.1, window.get("relative_delta_mean").asDouble(), 1e-12);
        assertEquals(1.0, window.get("segment_share_mean").get("user").asDouble(), 1e-12);
        assertEquals(12.5, window.get("latency_ms_p50").asDouble());

        JsonNode alerts = MAPPER.readTree(api.get("/api/alerts", null).json()).get("alerts");
        assertEquals(1, alerts.size());
        assertEquals("delta_over_threshold", alerts.get(0).get("rule").asText());
        assertEquals("bad", alerts.get(0).get("example_event_ids").get(0).asText());
        assertEquals(0, MAPPER.readTree(api.get("/api/alerts", "model=m2").json()).get("alerts").size());
    }

    @Test
    void theServerStreamsNewEventsAndAsksForCredentialsWhenSet() throws Exception {
        try (DashboardServer server = new DashboardServer("127.0.0.1", 0, api, store, 0.05, "auditor:s3cret")) {
            HttpClient client = HttpClient.newHttpClient();
            URI base = URI.create("http://127.0.0.1:" + server.port());
            assertEquals(401, client.send(HttpRequest.newBuilder(base.resolve("/api/events")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            String auth = "Basic " + Base64.getEncoder().encodeToString("auditor:s3cret".getBytes(StandardCharsets.UTF_8));
            HttpResponse<String> page = client.send(HttpRequest.newBuilder(base.resolve("/")).header("Authorization", auth).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, page.statusCode());
            assertTrue(page.body().contains("/webjars/uplot/1.6.30/dist/uPlot.iife.min.js"));
            assertEquals(200, client.send(HttpRequest.newBuilder(base.resolve("/webjars/uplot/1.6.30/dist/uPlot.iife.min.js")).header("Authorization", auth).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode(), "the chart library ships in the jar");
            // Folders of the jar were answered 200 with no content.
            for (String folder : List.of("/static/", "/static", "/webjars/", "/webjars/uplot/1.6.30/", "/webjars/uplot/1.6.30/dist", "/static/.css",
                    "/webjars/uplot/1.6.30/package.json")) {
                HttpResponse<String> answer = client.send(HttpRequest.newBuilder(base.resolve(folder)).header("Authorization", auth).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(404, answer.statusCode(), folder);
                assertEquals("not found: " + folder, answer.body(), folder);
            }
            // Half an emoji in an event id was decoded as U+FFFD and answered 404 for an id '\uFFFD' (a hostile test).
            HttpResponse<String> halfEmoji = client.send(HttpRequest.newBuilder(base.resolve("/api/events/%F0%9F%90")).header("Authorization", auth).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(400, halfEmoji.statusCode(), halfEmoji.body());
            assertEquals("malformed path: '/api/events/%F0%9F%90' is not UTF-8 once percent-decoded", MAPPER.readTree(halfEmoji.body()).get("error").asText());
            HttpResponse<String> plus = client.send(HttpRequest.newBuilder(base.resolve("/api/events/a+b%F0%9F%90%B6")).header("Authorization", auth)
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertTrue(plus.body().contains("'a+b\uD83D\uDC36'"), "in a path '+' is itself, and a whole emoji is read: " + plus.body());
            assertEquals("text/css; charset=utf-8", client.send(HttpRequest.newBuilder(base.resolve("/static/dashboard.css")).header("Authorization", auth)
                    .build(), HttpResponse.BodyHandlers.discarding()).headers().firstValue("Content-Type").orElseThrow());
            // The page's icon comes from the server itself: a data: URL broke the page's Content-Security-Policy (default-src 'self').
            assertEquals("image/svg+xml", client.send(HttpRequest.newBuilder(base.resolve("/static/favicon.svg")).header("Authorization", auth)
                    .build(), HttpResponse.BodyHandlers.discarding()).headers().firstValue("Content-Type").orElseThrow());
            String index = client.send(HttpRequest.newBuilder(base.resolve("/")).header("Authorization", auth).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(index.contains("<link rel=\"icon\" href=\"/static/favicon.svg\"") && !index.contains("data:"), "the icon is served, not inlined");

            // HEAD, as monitors and curl -I send it: GET's status and headers, no body, and no warning from the JDK's server.
            List<java.util.logging.LogRecord> serverLog = new java.util.concurrent.CopyOnWriteArrayList<>();
            java.util.logging.Logger jdkServer = java.util.logging.Logger.getLogger("com.sun.net.httpserver");
            java.util.logging.Handler capture = new java.util.logging.Handler() {
                @Override
                public void publish(java.util.logging.LogRecord record) {
                    serverLog.add(record);
                }

                @Override
                public void flush() {}

                @Override
                public void close() {}
            };
            jdkServer.addHandler(capture);
            try {
                for (String path : List.of("/", "/api/events", "/api/stream", "/nowhere")) {
                    HttpResponse<String> head = client.send(HttpRequest.newBuilder(base.resolve(path)).header("Authorization", auth)
                            .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                    assertEquals(path.equals("/nowhere") ? 404 : 200, head.statusCode(), path);
                    assertEquals("", head.body(), path);
                }
            } finally {
                jdkServer.removeHandler(capture);
            }
            assertTrue(serverLog.stream().noneMatch(r -> r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue()),
                    serverLog.stream().map(java.util.logging.LogRecord::getMessage).toList().toString());

            HttpResponse<java.io.InputStream> stream = client.send(HttpRequest.newBuilder(base.resolve("/api/stream")).header("Authorization", auth).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertEquals("text/event-stream; charset=utf-8", stream.headers().firstValue("Content-Type").orElseThrow());
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
                store.add(explanation("live", "m1", "shop", -0.1, 0.0, "▁ball"));
                String line;
                while ((line = lines.readLine()) != null && !line.startsWith("data: ")) {
                    // the greeting and the event's name and id come first
                }
                assertTrue(line != null && MAPPER.readTree(line.substring(6)).get("event_id").asText().equals("live"), line);
            }
        }
    }

    private static Dashboard.Settings settings(Instant from, String credentials) {
        return new Dashboard.Settings("explanations", null, null, "127.0.0.1", 0, 10, from, 0.05, credentials);
    }

    private static void assertError(DashboardApi.Answer answer, int status, String reasonStart) throws Exception {
        assertEquals(status, answer.status(), answer.json());
        String reason = MAPPER.readTree(answer.json()).get("error").asText();
        assertTrue(reason.startsWith(reasonStart), reason);
    }

    private static List<String> ids(DashboardApi.Answer answer) throws Exception {
        assertEquals(200, answer.status(), answer.json());
        List<String> ids = new java.util.ArrayList<>();
        MAPPER.readTree(answer.json()).get("events").forEach(e -> ids.add(e.get("event_id").asText()));
        return ids;
    }

    private static Explanation withSegments(Explanation explanation, PromptSegment... segments) {
        return Explanation.newBuilder(explanation).setSegments(List.of(segments)).build();
    }

    private static PromptSegment segment(String name, SegmentKind kind, double share) {
        return new PromptSegment(name, kind, 0, 4, 1, share, share, null);
    }

    static Explanation explanation(String id, String model, String application, double logProb, double sequenceDelta, String word) {
        return Explanation.newBuilder()
                .setEventId(id).setEventTime(Instant.ofEpochMilli(T0)).setProcessingTime(Instant.ofEpochMilli(T0 + 1000))
                .setSourceModel(model).setModelId(model).setModelFingerprint("sha256:00")
                .setMethod(AttributionMethod.INTEGRATED_GRADIENTS).setIntegration(IntegrationRule.GAUSSLEGENDRE).setSteps(50).setBaseline("unk")
                .setIncludeBos(false).setNormalization(Normalization.L1)
                .setPromptTokens(List.of(new PromptToken(403L, "▁Once", 0, 4, true, 0), new PromptToken(500L, word, 4, 4 + word.length(), true, 0)))
                .setResponseTokens(List.of(new ResponseToken(407L, "▁upon", 0, 5)))
                .setSeqAttr(List.of(0.5, 1.0)).setSeqAttrNormalized(List.of(0.33, 0.67))
                .setResponseLogprobs(List.of(logProb)).setBaselineLogprobs(List.of(-1.6)).setConvergenceDelta(List.of())
                .setSequenceDelta(sequenceDelta).setMaxAbsDelta(Math.abs(sequenceDelta))
                .setFlags(new ExplanationFlags(false, 0, false, 0, false)).setBatchSize(1).setAttributionLatencyMs(12.5)
                .setMetadata(Map.of("application", application, "tenant", "t1"))
                .setSegments(List.of(new PromptSegment("user[0]", SegmentKind.USER, 0, 4 + word.length(), 2, 1.5, 1.0, null)))
                .setTopSegment("user[0]").setAttributionEntropy(0.9)
                .build();
    }
}
