package io.explainstream.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.TestData;
import io.explainstream.testing.BuiltInRegistry;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.cli.Main;
import io.explainstream.schema.DiffRecordKind;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.ExplanationDiff;
import io.explainstream.schema.MeasureDistribution;
import io.explainstream.schema.PromptSegment;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.replay.Replay;
import io.explainstream.stream.service.ExplainService;
import io.explainstream.stream.service.ReplayRunner;
import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.RunsBeside;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The live service explains N events on a real broker; a replay re-explains them with other
 * settings (input x gradient); {@code diff} joins all N, none one-sided, and its measures match a
 * recomputation, written here from scratch, from the two topics read independently. The same
 * broker then serves the bad inputs: an unknown replay id, a missing topic, topics of other
 * records, and an event explained on one side only; then a stricter replay whose dead letters
 * tell the events it refused from events it missed.
 */
@Tag("slow")
@RunsBeside
class DiffOnBrokerTest {

    private static final int K = 5;
    private static final List<String> PROMPTS = List.of("Once upon a time, there was a little girl named Lily.", "Tom had a red ball. He liked to",
            "The sun was hot and the dog was", "Sue and her mom went to the park. They saw a big", "One day, a cat found a box. The cat",
            "Ben wanted to play with his friend. He said");
    private static final List<String> RESPONSES = List.of(" She loved to play outside.", " play with it every day.", " tired.",
            " tree with many birds.", " looked inside and smiled.", " hello to Tim.");
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aReplayWithOtherSettingsDiffsAgainstTheLiveExplanations(@TempDir Path dir) throws Exception {
        int n = PROMPTS.size();
        try (InJvmKafka kafka = InJvmKafka.start();
                EmbeddedSchemaRegistry registry = BuiltInRegistry.startInMemory()) {
            SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
            Map<String, String> settings = new TreeMap<>(kafka.clientSettings());
            settings.putAll(Map.of("schema.registry.url", registry.url().toString(), "application.id", "diff", "state.dir", dir.toString(),
                    "input.topic", "diff-in", "output.topic", "diff-out", "dlq.topic", "diff-dlq", "attribution.steps", "16",
                    "batch.max.wait.ms", "200", "topics.partitions", "2", "ops.port", "-1"));
            ServiceConfig live = ServiceConfig.of(settings);
            long from = System.currentTimeMillis() - 60_000;
            try (ExplainService service = ExplainService.start(live, TestData.repo(), Clock.systemUTC())) {
                assertTrue(service.awaitRunning(Duration.ofSeconds(60)), "started");
                List<String[]> events = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    events.add(new String[] {"e" + i, "{\"event_id\":\"e" + i + "\",\"timestamp\":" + System.currentTimeMillis()
                            + ",\"model\":\"stories260K\",\"prompt\":" + JSON.writeValueAsString(PROMPTS.get(i)) + ",\"response\":"
                            + JSON.writeValueAsString(RESPONSES.get(i)) + ",\"metadata\":{\"tenant\":\"t" + (i % 2) + "\"}}"});
                }
                // One event no run can explain (an empty response): a dead letter on every side.
                events.add(new String[] {"bad-both", "{\"event_id\":\"bad-both\",\"timestamp\":" + System.currentTimeMillis()
                        + ",\"model\":\"stories260K\",\"prompt\":\"Tom ran.\",\"response\":\"\"}"});
                kafka.produce("diff-in", events);
                assertEquals(n, kafka.readCommitted("diff-out", r -> r.size() >= n, Duration.ofSeconds(120)).size());
                assertEquals(1, kafka.readCommitted("diff-dlq", r -> r.size() >= 1, Duration.ofSeconds(30)).size());
            }
            Replay replay = new Replay("ixg", from, System.currentTimeMillis() + 60_000);
            ServiceConfig replayConfig = ReplayRunner.configure(live.with(Map.of("attribution.method", "input_x_gradient", "attribution.steps", "8")),
                    replay, null, null);
            ReplayRunner.Outcome outcome = ReplayRunner.run(replayConfig, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false,
                    Clock.systemUTC());
            assertTrue(outcome.finished());
            assertEquals(n, outcome.explained());

            String[] connection = {"--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", registry.url().toString()};
            Run diff = run(connection, "diff", "--replay-id", "ixg", "--against", "diff-out", "--format", "json", "--publish", "--group-by", "tenant");
            assertEquals(0, diff.code, diff.err);
            JsonNode report = JSON.readTree(diff.out);
            assertEquals(n, report.get("joined").asInt());
            assertEquals(0, report.get("replay_only").asInt());
            assertEquals(0, report.get("against_only").asInt());
            assertEquals(0, report.get("words_basis").asInt(), "one tokenizer: compared token by token");
            // What the report covers, in the report (helper-76: the range and the grouping were on standard error only). No
            // range is recorded under the default application.id: every record time, open at both ends.
            assertTrue(report.get("from").isNull() && report.get("to").isNull(), report.toString());
            assertEquals("[\"tenant\"]", report.get("group_by").toString());
            assertFalse(diff.err.contains("--group-by key"), diff.err);
            assertEquals(0, report.get("unfinished_replays").size(), "the replay finished: " + diff.err);
            assertFalse(diff.err.contains("has not finished"), diff.err);
            // A --group-by key in no event's metadata (a typo) read as a run without --group-by.
            Run typoGroup = run(connection, "diff", "--replay-id", "ixg", "--against", "diff-out", "--format", "json", "--group-by", "tennant");
            assertEquals(0, typoGroup.code, typoGroup.err);
            assertTrue(typoGroup.err.contains("diff: --group-by key 'tennant' is in the metadata of none of the " + n + " joined events: they are all"
                    + " in group '-' for it"), typoGroup.err);

            // The recomputation: both topics read on their own, the measures written out again.
            var deserializer = ConfluentAvroDeserializer.specific(client, Explanation.class);
            Map<String, Explanation> liveRecords = read(kafka, "diff-out", n, deserializer);
            Map<String, Explanation> replayRecords = read(kafka, "explanations-replay", n, deserializer);
            assertEquals(liveRecords.keySet(), replayRecords.keySet());
            Map<String, ExplanationDiff> published = new HashMap<>();
            ExplanationDiff summary = null;
            var diffDeserializer = ConfluentAvroDeserializer.specific(client, ExplanationDiff.class);
            for (ConsumerRecord<byte[], byte[]> record : kafka.readCommitted("explanation-diffs", r -> r.size() >= n + 1, Duration.ofSeconds(30))) {
                ExplanationDiff value = diffDeserializer.deserialize(record.topic(), record.value());
                if (value.getKind() == DiffRecordKind.SUMMARY) {
                    summary = value;
                } else {
                    published.put(value.getEventId(), value);
                }
            }
            assertEquals(liveRecords.keySet(), published.keySet(), "one ExplanationDiff per event");
            List<Double> jaccards = new ArrayList<>();
            for (String id : liveRecords.keySet()) {
                Explanation old = liveRecords.get(id);
                Explanation now = replayRecords.get(id);
                assertEquals("INTEGRATED_GRADIENTS", old.getMethod().name());
                assertEquals("INPUT_X_GRADIENT", now.getMethod().name());
                ExplanationDiff got = published.get(id);
                double jaccard = jaccard(topK(now), topK(old));
                jaccards.add(jaccard);
                assertEquals(jaccard, got.getTopKJaccard(), 1e-12, id);
                assertEquals(spearman(now.getSeqAttr(), old.getSeqAttr(), now), got.getSpearman(), 1e-9, id);
                // input x gradient has no completeness gap: no change of it to report.
                assertFalse(got.getSequenceDeltaCompared(), id);
                assertEquals(0, got.getSequenceDeltaChange(), 0, id);
                assertEquals(sum(now.getResponseLogprobs()) - sum(old.getResponseLogprobs()), got.getResponseLogprobChange(), 1e-9, id);
                assertEquals(0, got.getResponseLogprobChange(), 1e-4, id + ": the same model finds the response as likely");
                double maxShare = 0;
                for (PromptSegment segment : now.getSegments()) {
                    double before = old.getSegments().stream().filter(s -> s.getName().equals(segment.getName())).mapToDouble(PromptSegment::getShare)
                            .sum();
                    maxShare = Math.max(maxShare, Math.abs(segment.getShare() - before));
                }
                assertEquals(maxShare, got.getMaxShareChange(), 1e-12, id);
                assertEquals(!now.getTopSegment().equals(old.getTopSegment()), got.getTopSegmentChanged(), id);
                assertEquals("t" + id.substring(1).chars().map(c -> (c - '0') % 2).sum(), got.getGroup(), id);
                System.out.printf("%s: jaccard %.3f spearman %.3f Δdelta %+.4f%n", id, got.getTopKJaccard(), got.getSpearman(), got.getSequenceDeltaChange());
            }
            // The largest changes are the events, ordered by change; the median within the sketch's 1%.
            List<String> byChange = published.values().stream().sorted(Comparator.comparingDouble((ExplanationDiff d) -> -d.getChange())
                    .thenComparing(d -> d.getEventId().toString())).map(d -> d.getEventId().toString()).toList();
            List<String> listed = new ArrayList<>();
            report.get("largest_changes").forEach(e -> listed.add(e.get("event_id").asText()));
            assertEquals(byChange, listed);
            double median = jaccards.stream().sorted().toList().get((int) Math.ceil(0.5 * n) - 1);
            assertEquals(median, report.at("/distributions/*/top_k_jaccard/p50").asDouble(), 0.01 * Math.abs(median) + 1e-9);
            assertTrue(report.at("/distributions/*/sequence_delta_change").isMissingNode(), "no completeness gap on one side: no distribution of its change");
            assertTrue(summary != null, "a summary record after the events");
            assertEquals(n, summary.getSummary().getJoined());
            assertEquals(byChange, summary.getSummary().getLargestChanges().stream().map(Object::toString).toList());
            assertTrue(summary.getSummary().getDistributions().stream().map(MeasureDistribution::getGroup).map(Object::toString).toList()
                    .containsAll(List.of("*", "t0", "t1")), "per group");

            // Text and HTML of the same diff.
            Run text = run(connection, "diff", "--replay-id", "ixg", "--against", "diff-out");
            assertEquals(0, text.code, text.err);
            assertTrue(text.out.contains("events: " + n + " joined · 0 replay only · 0 live only"), text.out);
            assertEquals("range […, …) · groups by metadata application", text.out.lines().skip(1).findFirst().orElseThrow(),
                    "stats.group.by's metadata keys by default: " + text.out);
            assertTrue(text.out.contains("most-changed events"), text.out);
            assertTrue(text.out.contains(" · Δdelta — · "), text.out);
            System.out.println(text.out);
            Path html = dir.resolve("diff.html");
            Run page = run(connection, "diff", "--replay-id", "ixg", "--against", "diff-out", "--format", "html", "--out", html.toString());
            assertEquals(0, page.code, page.err);
            String htmlText = java.nio.file.Files.readString(html);
            assertEquals(2 * n, htmlText.split("<section class=\"explanation\"", -1).length - 1, "both heatmaps of each listed event");
            assertTrue(htmlText.contains("<section class=\"distributions\" id=\"distributions\">\n<h2>Distributions</h2>\n<table class=\"summary\">"
                    + "<tr><th>all events</th>"), "the group tables as HTML tables, not in the summary's text");
            assertFalse(htmlText.substring(htmlText.indexOf("<pre"), htmlText.indexOf("</pre>")).contains("top_k_jaccard"), "nor twice");

            // Against another replay that wrote into another topic: diff reads it where that replay
            // recorded it wrote (it looked on the first replay's topic and found none of its records).
            Replay elsewhere = new Replay("ixg-elsewhere", replay.fromMs(), replay.toMs());
            assertTrue(ReplayRunner.run(ReplayRunner.configure(live.with(Map.of("attribution.method", "input_x_gradient", "attribution.steps", "8")),
                    elsewhere, null, "diff-elsewhere"), TestData.repo(), elsewhere, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()).finished());
            Path withAppId = java.nio.file.Files.writeString(dir.resolve("diff.properties"), "application.id=diff\n");
            Run twoReplays = run(connection, "diff", "--replay-id", "ixg", "--against-replay", "ixg-elsewhere", "--config", withAppId.toString(),
                    "--format", "json");
            assertEquals(0, twoReplays.code, twoReplays.err);
            assertTrue(twoReplays.err.contains("diff: replay ixg-elsewhere wrote into diff-elsewhere"), twoReplays.err);
            JsonNode replays = JSON.readTree(twoReplays.out);
            assertEquals(n, replays.get("joined").asInt(), twoReplays.out);
            assertEquals(0, replays.get("replay_only").asInt() + replays.get("against_only").asInt());
            assertEquals(1, replays.get("dead_lettered_on_both").asInt(), "each replay's dead letters on its own -dlq");
            // A replay stopped before its end: its diff says so, on stderr and in the report, and
            // counts the events it has not reached as live only (a hostile test read "41 joined ·
            // 59 live only" of a replay still running as a complete diff, exit 0). Resumed to its
            // end, it says nothing of it.
            Replay half = new Replay("ixg-half", replay.fromMs(), replay.toMs());
            ServiceConfig halfConfig = ReplayRunner.configure(live.with(Map.of("attribution.method", "input_x_gradient", "attribution.steps", "8")), half,
                    null, "diff-half"); // a topic of its own: the checks below count the other replays' topic
            assertFalse(ReplayRunner.run(halfConfig, TestData.repo(), half, false, (d, t, b, s) -> { }, () -> true, Clock.systemUTC()).finished());
            Run stopped = run(connection, "diff", "--replay-id", "ixg-half", "--against", "diff-out", "--config", withAppId.toString(), "--format", "json");
            assertEquals(0, stopped.code, stopped.err);
            String warning = "replay ixg-half has not finished (it is running, or was stopped before the end of its range; run it again to resume): the"
                    + " events it has not reached yet count as one-sided, and the measures cover only those it explained";
            assertTrue(stopped.err.contains("diff: " + warning), stopped.err);
            JsonNode stoppedReport = JSON.readTree(stopped.out);
            assertEquals("ixg-half", stoppedReport.get("unfinished_replays").get(0).asText(), stopped.out);
            assertEquals(n, stoppedReport.get("against_only").asInt(), "the events it has not reached: " + stopped.out);
            Run stoppedText = run(connection, "diff", "--replay-id", "ixg-half", "--against", "diff-out", "--config", withAppId.toString());
            // The warning comes after the title and the range.
            assertTrue(stoppedText.out.lines().skip(2).findFirst().orElse("").equals("warning: " + warning), stoppedText.out);
            assertTrue(ReplayRunner.run(halfConfig, TestData.repo(), half, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC()).finished());
            Run resumed = run(connection, "diff", "--replay-id", "ixg-half", "--against", "diff-out", "--config", withAppId.toString(), "--format", "json");
            assertEquals(0, resumed.code, resumed.err);
            assertFalse(resumed.err.contains("has not finished"), resumed.err);
            assertEquals(0, JSON.readTree(resumed.out).get("unfinished_replays").size());
            assertEquals(n, JSON.readTree(resumed.out).get("joined").asInt(), resumed.out);

            // A time range outside the replay's holds none of its explanations, and is said to be.
            java.time.Instant before = java.time.Instant.ofEpochMilli(from).minus(Duration.ofHours(2));
            Run outside = run(connection, "diff", "--replay-id", "ixg", "--config", withAppId.toString(), "--from", before.toString(), "--to",
                    before.plus(Duration.ofHours(1)).toString());
            assertEquals(2, outside.code, outside.err);
            assertEquals("error: --from/--to: [" + before + ", " + before.plus(Duration.ofHours(1)) + ") is outside replay ixg's range ["
                    + java.time.Instant.ofEpochMilli(from) + ", " + java.time.Instant.ofEpochMilli(replay.toMs()) + "), so it holds none of its explanations",
                    lastLine(outside.err));

            // A mistyped --against-replay (nothing of it in range, where the replay has its explanations) is refused:
            // it reported every event "replay only", exit 0 (a hostile test: "0 joined · 2313 replay only").
            Run typo = run(connection, "diff", "--replay-id", "ixg", "--against-replay", "IXG", "--config", withAppId.toString());
            assertEquals(2, typo.code, typo.err);
            assertTrue(lastLine(typo.err).startsWith("error: --against-replay: no records of replay IXG on topic explanations-replay in the time range,"
                    + " where replay ixg on topic explanations-replay has " + n + " explanations and 1 dead letters ("), typo.err);
            assertTrue(lastLine(typo.err).contains("replay ids there: ixg"), typo.err);

            // Bad input: each a one-line error, exit status 2.
            Run unknown = run(connection, "diff", "--replay-id", "nope", "--against", "diff-out");
            assertEquals(2, unknown.code);
            assertEquals("error: --replay-id: no records of replay nope on topic explanations-replay (" + n + " records of other replays or the live"
                    + " service; replay ids there: ixg)", lastLine(unknown.err));
            Run missing = run(connection, "diff", "--replay-id", "ixg", "--against", "no-such-topic");
            assertEquals(2, missing.code);
            assertEquals("error: --against: topic 'no-such-topic' does not exist", lastLine(missing.err));
            // The topic came from --against, not from --against-replay (whose error named the wrong option).
            Run missingForReplay = run(connection, "diff", "--replay-id", "ixg", "--against-replay", "other", "--against", "no-such-topic");
            assertEquals(2, missingForReplay.code);
            assertEquals("error: --against: topic 'no-such-topic' does not exist", lastLine(missingForReplay.err));
            Run inputs = run(connection, "diff", "--replay-id", "ixg", "--against", "diff-in");
            assertEquals(2, inputs.code);
            assertTrue(lastLine(inputs.err).startsWith("error: --against: live explanations on topic diff-in: " + (n + 1) + " records, none an Explanation"
                    + " (first: diff-in partition "), inputs.err);
            assertTrue(inputs.err.contains("not in Confluent's wire format (first byte 123, not 0)"), inputs.err);
            Run diffs = run(connection, "diff", "--replay-id", "ixg", "--against", "explanation-diffs");
            assertEquals(2, diffs.code);
            assertTrue(diffs.err.contains("is io.explainstream.schema.ExplanationDiff, not an Explanation"), diffs.err);

            // One-sided: an event explained live only.
            Explanation extra = Explanation.newBuilder(liveRecords.get("e0")).setEventId("only-live").build();
            try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                producer.send(new ProducerRecord<>("diff-out", "only-live".getBytes(StandardCharsets.UTF_8),
                        new ConfluentAvroSerializer<Explanation>(client, SubjectNameStrategy.TOPIC_NAME, true, false).serialize("diff-out", extra))).get();
            }
            Run oneSided = run(connection, "diff", "--replay-id", "ixg", "--against", "diff-out", "--format", "json");
            assertEquals(0, oneSided.code, oneSided.err);
            JsonNode sided = JSON.readTree(oneSided.out);
            assertEquals(n, sided.get("joined").asInt());
            assertEquals(1, sided.get("against_only").asInt());
            assertEquals("only-live", sided.get("against_only_ids").get(0).asText());
            assertNotEquals(0, sided.get("largest_changes").size());

            // A live explanation from before the replay's range: replay --diff compares the range only,
            // where it was counted "live only" with the whole live topic.
            Explanation older = Explanation.newBuilder(liveRecords.get("e0")).setEventId("before-range").build();
            try (KafkaProducer<byte[], byte[]> producer = kafka.producer(Map.of())) {
                producer.send(new ProducerRecord<>("diff-out", null, from - 60_000, "before-range".getBytes(StandardCharsets.UTF_8),
                        new ConfluentAvroSerializer<Explanation>(client, SubjectNameStrategy.TOPIC_NAME, true, false).serialize("diff-out", older))).get();
            }

            // A time range reaching outside the replay's is cut to it: the live events there are not "live only".
            Run wider = run(connection, "diff", "--replay-id", "ixg", "--against", "diff-out", "--config", withAppId.toString(), "--from",
                    java.time.Instant.ofEpochMilli(from).minus(Duration.ofHours(2)).toString(), "--format", "json");
            assertEquals(0, wider.code, wider.err);
            assertTrue(wider.err.contains("reaches outside replay ixg's range; comparing [" + java.time.Instant.ofEpochMilli(from) + ", "
                    + java.time.Instant.ofEpochMilli(replay.toMs()) + ")"), wider.err);
            assertEquals(1, JSON.readTree(wider.out).get("against_only").asInt(), "only-live, not before-range: " + wider.out);
            // replay --diff: the command line's replay, then its diff against the live topic.
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            List<String> replayArgs = new ArrayList<>(List.of("replay", "--from", java.time.Instant.ofEpochMilli(from).toString(), "--to", "now",
                    "--replay-id", "ig8", "--set", "attribution.steps=8", "--diff", "--diff-format", "json"));
            settings.forEach((key, value) -> replayArgs.addAll(List.of("--set", key + "=" + value)));
            int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), replayArgs.toArray(String[]::new));
            assertEquals(0, code, err.toString());
            String[] lines = out.toString().split("\\R", 2);
            assertTrue(lines[0].startsWith("replay ig8 finished: " + (n + 1) + " events in range: " + n + " explained, 1 dead-lettered"), lines[0]);
            JsonNode replayDiff = JSON.readTree(lines[1]);
            assertEquals("ig8", replayDiff.get("replay_id").asText());
            assertEquals("diff-out", replayDiff.get("against_topic").asText());
            assertEquals(n, replayDiff.get("joined").asInt());
            assertEquals(1, replayDiff.get("against_only").asInt(), "only-live, not before-range: " + replayDiff.get("against_only_ids"));
            assertTrue(replayDiff.at("/distributions/*/spearman/p50").asDouble() > 0.5, "8 and 16 steps of the same method agree: " + replayDiff);

            // diff on its own compares the range the replay recorded with its id (under the replay's
            // application.id), where the live explanation from before it was "live only" too.
            Path clusterConfig = java.nio.file.Files.writeString(dir.resolve("cluster.properties"), "application.id=diff\n");
            Run ranged = run(connection, "diff", "--replay-id", "ig8", "--against", "diff-out", "--format", "json", "--config", clusterConfig.toString());
            assertEquals(0, ranged.code, ranged.err);
            JsonNode rangedReport = JSON.readTree(ranged.out);
            assertEquals(n, rangedReport.get("joined").asInt());
            assertEquals(1, rangedReport.get("against_only").asInt(), "only-live, not before-range: " + rangedReport.get("against_only_ids"));
            assertTrue(ranged.err.contains("diff: replay ig8 explained [" + java.time.Instant.ofEpochMilli(from) + ", "), ranged.err);
            assertTrue(ranged.err.contains(") of diff-in into explanations-replay; comparing [" + java.time.Instant.ofEpochMilli(from) + ", "), ranged.err);
            // Under another application.id nothing is recorded: every record time, and said so.
            Run whole = run(connection, "diff", "--replay-id", "ig8", "--against", "diff-out", "--format", "json");
            assertEquals(0, whole.code, whole.err);
            assertEquals(2, JSON.readTree(whole.out).get("against_only").asInt(), whole.out);
            assertTrue(whole.err.contains("diff: replay ig8 has no recorded range under application.id = explainstream; comparing every record time"
                    + " (--from and --to narrow it; a replay run under another application.id: give it with --config or EXPLAINSTREAM_APPLICATION_ID)"),
                    whole.err);
            // --from given before the replay's range: cut to it (before-range was counted "live only", though the replay never covered it).
            Run fromGiven = run(connection, "diff", "--replay-id", "ig8", "--against", "diff-out", "--format", "json", "--config", clusterConfig.toString(),
                    "--from", java.time.Instant.ofEpochMilli(from - 120_000).toString());
            assertEquals(0, fromGiven.code, fromGiven.err);
            assertEquals(1, JSON.readTree(fromGiven.out).get("against_only").asInt(), fromGiven.out);
            assertTrue(fromGiven.err.contains("reaches outside replay ig8's range; comparing [" + java.time.Instant.ofEpochMilli(from) + ", "), fromGiven.err);
            // --from alone after the range's end: outside it (it said "--from must be before --to", quoting the recorded --to as if given).
            Run pastEnd = run(connection, "diff", "--replay-id", "ig8", "--against", "diff-out", "--config", clusterConfig.toString(), "--from", "now");
            assertEquals(2, pastEnd.code, pastEnd.err);
            assertTrue(pastEnd.err.matches("(?s)error: --from/--to: \\[[-0-9T:.]+Z, …\\) is outside replay ig8's range \\[.*"), pastEnd.err);
            // A relative bound is said as the instant it stands for (it was echoed as "-1h").
            Run relative = run(connection, "diff", "--replay-id", "ig8", "--against", "diff-out", "--format", "json", "--config", clusterConfig.toString(),
                    "--to", "-1s");
            assertEquals(0, relative.code, relative.err);
            assertTrue(relative.err.matches("(?s).*; comparing \\[[-0-9T:.]+Z, [-0-9T:.]+Z\\) of explanations-replay.*"), relative.err);
            // A window inside the range with no events (they are stamped a minute after its start): compared as
            // empty, where it exited 2 with "no records of replay ig8", as for a mistyped id.
            Run quiet = run(connection, "diff", "--replay-id", "ig8", "--against", "diff-out", "--format", "json", "--config", clusterConfig.toString(),
                    "--from", java.time.Instant.ofEpochMilli(from).toString(), "--to", java.time.Instant.ofEpochMilli(from + 30_000).toString());
            assertEquals(0, quiet.code, quiet.err);
            JsonNode quietReport = JSON.readTree(quiet.out);
            assertEquals(0, quietReport.get("joined").asInt(), quiet.out);
            assertEquals(0, quietReport.get("replay_only").asInt(), quiet.out);
            assertEquals(0, quietReport.get("against_only").asInt(), quiet.out);
            for (String format : List.of("text", "html")) {
                Run quietFormat = run(connection, "diff", "--replay-id", "ig8", "--against", "diff-out", "--format", format, "--config",
                        clusterConfig.toString(), "--from", java.time.Instant.ofEpochMilli(from).toString(), "--to",
                        java.time.Instant.ofEpochMilli(from + 30_000).toString());
                assertEquals(0, quietFormat.code, format + ": " + quietFormat.err);
                assertFalse(quietFormat.out.contains("NaN"), quietFormat.out);
            }

            stricterReplayDeadLettersAreToldApartFromMissedEvents(kafka, live, settings, connection, dir, from, n);
        }
    }

    /**
     * A replay with a lower prompt limit (reject) dead-letters the longer prompts: they are "live
     * only", but not missed, and the diff says why the replay refused each one (a hostile test: 20
     * events a replay refused read as 20 it missed, and the events dead-lettered on both sides were
     * not mentioned at all).
     */
    private static void stricterReplayDeadLettersAreToldApartFromMissedEvents(InJvmKafka kafka, ServiceConfig live, Map<String, String> settings,
            String[] connection, Path dir, long from, int n) throws Exception {
        Replay replay = new Replay("strict", from, System.currentTimeMillis() + 60_000);
        ServiceConfig strict = ReplayRunner.configure(live.with(Map.of("limits.prompt.tokens", "12", "limits.prompt.policy", "reject")), replay, null,
                null);
        ReplayRunner.Outcome outcome = ReplayRunner.run(strict, TestData.repo(), replay, false, (d, t, b, s) -> { }, () -> false, Clock.systemUTC());
        assertTrue(outcome.finished());
        long refused = outcome.deadLettered() - 1; // bad-both aside
        assertTrue(refused > 0 && refused < n, "some prompts over 12 tokens, some not: " + outcome.explained() + " explained, " + refused + " refused");

        // The configuration the live service ran with: its output.topic and dlq.topic.
        Path liveConfig = java.nio.file.Files.writeString(dir.resolve("live.properties"), "application.id=diff\noutput.topic=diff-out\ndlq.topic=diff-dlq\n");
        Run json = run(connection, "diff", "--replay-id", "strict", "--format", "json", "--config", liveConfig.toString());
        assertEquals(0, json.code, json.err);
        JsonNode report = JSON.readTree(json.out);
        assertEquals(outcome.explained(), report.get("joined").asLong());
        assertEquals(Instant.ofEpochMilli(replay.fromMs()).toString(), report.get("from").asText(), "the replay's recorded range: " + json.err);
        assertEquals(Instant.ofEpochMilli(replay.toMs()).toString(), report.get("to").asText());
        assertEquals(refused + 1, report.get("against_only").asLong(), "the refused, and only-live: " + report);
        assertEquals(refused, report.get("against_only_dead_lettered_in_replay").asLong());
        assertEquals(1, report.get("dead_lettered_on_both").asLong(), "bad-both");
        assertEquals(outcome.deadLettered(), report.at("/replay_dead_letters/total").asLong());
        assertEquals("explanations-replay-dlq", report.at("/replay_dead_letters/topic").asText());
        assertEquals(1, report.at("/against_dead_letters/total").asLong());
        assertEquals("diff-dlq", report.at("/against_dead_letters/topic").asText());
        assertEquals(refused, report.get("one_sided_dead_letters").size());
        report.get("one_sided_dead_letters").forEach(reason -> assertTrue(reason.asText().startsWith("validation: ")
                && reason.asText().contains("limits.prompt.tokens"), reason.asText()));
        JsonNode neither = report.get("explained_on_neither_side").get(0);
        assertEquals("bad-both", neither.get("event_id").asText());
        assertTrue(neither.get("replay_dead_letter").asText().contains("response"), neither.toString());
        assertTrue(neither.get("against_dead_letter").asText().contains("response"), neither.toString());

        Run text = run(connection, "diff", "--replay-id", "strict", "--config", liveConfig.toString());
        assertEquals(0, text.code, text.err);
        assertTrue(text.out.lines().skip(1).findFirst().orElseThrow().startsWith("range [" + Instant.ofEpochMilli(replay.fromMs()) + ", "
                + Instant.ofEpochMilli(replay.toMs()) + ") · groups by "), text.out);
        assertTrue(text.out.contains("dead letters in range: replay " + outcome.deadLettered() + " (explanations-replay-dlq) · live 1 (diff-dlq) · 1 on"
                + " both sides · of the 0 replay only, 0 dead-lettered live · of the " + (refused + 1) + " live only, " + refused
                + " dead-lettered by the replay"), text.out);
        assertTrue(text.out.matches("(?s).*\\nlive only: .*\\be\\d \\[dead-lettered by the replay: validation: [^]]*limits\\.prompt\\.tokens.*"), text.out);
        assertTrue(text.out.matches("(?s).*\\nlive only: .*\\bonly-live(, |\\n).*"), "missed, so no reason: " + text.out);
        assertTrue(text.out.contains("explained on neither side (1):\n  bad-both [both: validation: field 'response' is empty]\n"), text.out);
        System.out.println(text.out);

        // Without the live service's configuration its dead letters are not read: the counts that need them are unknown, not 0
        // (a hostile test read "0 dead-lettered live" beside "live not read" for an event the live service had refused).
        Run unread = run(connection, "diff", "--replay-id", "strict", "--against", "diff-out", "--format", "json", "--from",
                java.time.Instant.ofEpochMilli(from).toString());
        assertEquals(0, unread.code, unread.err);
        JsonNode unreadReport = JSON.readTree(unread.out);
        assertTrue(unreadReport.get("replay_only_dead_lettered_against").isNull(), unread.out);
        assertTrue(unreadReport.get("dead_lettered_on_both").isNull(), unread.out);
        assertEquals(refused, unreadReport.get("against_only_dead_lettered_in_replay").asLong(), "the replay's dead letters are read");
        assertTrue(unreadReport.at("/against_dead_letters/unread").asText().contains("dlq.topic goes with its output.topic, explanations, not this"
                + " topic"), unread.out);
        Run unreadText = run(connection, "diff", "--replay-id", "strict", "--against", "diff-out", "--from", java.time.Instant.ofEpochMilli(from).toString());
        assertTrue(unreadText.out.contains(" · — on both sides · of the 0 replay only, — dead-lettered live · "), unreadText.out);

        // The summary record carries the same counts.
        Run published = run(connection, "diff", "--replay-id", "strict", "--format", "json", "--config", liveConfig.toString(), "--publish");
        assertEquals(0, published.code, published.err);
        SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(connection[3]));
        var diffDeserializer = ConfluentAvroDeserializer.specific(client, ExplanationDiff.class);
        io.explainstream.schema.DiffSummary summary = null;
        for (ConsumerRecord<byte[], byte[]> record : kafka.readCommitted("explanation-diffs", r -> r.stream().anyMatch(x -> new String(x.key(),
                StandardCharsets.UTF_8).startsWith("summary:strict")), Duration.ofSeconds(30))) {
            if (new String(record.key(), StandardCharsets.UTF_8).startsWith("summary:strict")) {
                summary = diffDeserializer.deserialize(record.topic(), record.value()).getSummary();
            }
        }
        assertTrue(summary != null, "a summary of the strict diff");
        assertEquals(refused, summary.getAgainstOnlyDeadLetteredInReplay());
        assertEquals(1L, summary.getDeadLetteredOnBoth());
        assertEquals(outcome.deadLettered(), summary.getReplayDeadLetters());
        assertEquals(1L, summary.getAgainstDeadLetters());

        // A replay that refuses every event (another model.accept) is diffed all the same: every live event is refused, none
        // missed (a hostile test: "no explanation in range, so nothing to diff", and diff itself found no such replay).
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> replayArgs = new ArrayList<>(List.of("replay", "--from", java.time.Instant.ofEpochMilli(from).toString(), "--to", "now",
                "--replay-id", "refuse-all", "--set", "model.accept=another-model", "--set", "model.other=dlq", "--diff", "--diff-format", "json"));
        settings.forEach((key, value) -> replayArgs.addAll(List.of("--set", key + "=" + value)));
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), replayArgs.toArray(String[]::new));
        assertEquals(0, code, err.toString());
        String[] lines = out.toString().split("\\R", 2);
        assertTrue(lines[0].startsWith("replay refuse-all finished: " + (n + 1) + " events in range: 0 explained, " + (n + 1) + " dead-lettered"), lines[0]);
        JsonNode refusedAll = JSON.readTree(lines[1]);
        assertEquals(0, refusedAll.get("joined").asInt());
        assertEquals(n + 1, refusedAll.get("against_only").asInt(), "every live event, and only-live");
        assertEquals(n, refusedAll.get("against_only_dead_lettered_in_replay").asInt());
        assertEquals(1, refusedAll.get("dead_lettered_on_both").asInt());
    }

    private record Run(int code, String out, String err) {}

    private static Run run(String[] connection, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(Arrays.asList(args));
        all.addAll(Arrays.asList(connection));
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), all.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    /** The error line (progress lines come before it). */
    private static String lastLine(String text) {
        String[] lines = text.strip().split("\\R");
        return lines[lines.length - 1];
    }

    private static Map<String, Explanation> read(InJvmKafka kafka, String topic, int n, ConfluentAvroDeserializer<Explanation> deserializer) {
        Map<String, Explanation> records = new TreeMap<>();
        for (ConsumerRecord<byte[], byte[]> record : kafka.readCommitted(topic, r -> r.size() >= n, Duration.ofSeconds(30))) {
            records.put(new String(record.key(), StandardCharsets.UTF_8), deserializer.deserialize(topic, record.value()));
        }
        return records;
    }

    /** The K attributed positions of largest |score|, by a plain sort (ties to the earlier position). */
    private static Set<Integer> topK(Explanation e) {
        List<Integer> positions = IntStream.range(0, e.getSeqAttr().size()).filter(i -> e.getPromptTokens().get(i).getAttributed()).boxed()
                .sorted((a, b) -> {
                    int byScore = Double.compare(Math.abs(e.getSeqAttr().get(b)), Math.abs(e.getSeqAttr().get(a)));
                    return byScore != 0 ? byScore : Integer.compare(a, b);
                }).toList();
        return new HashSet<>(positions.subList(0, Math.min(K, positions.size())));
    }

    private static double jaccard(Set<Integer> a, Set<Integer> b) {
        Set<Integer> union = new HashSet<>(a);
        union.addAll(b);
        return a.stream().filter(b::contains).count() / (double) union.size();
    }

    /** Spearman over the attributed tokens: ranks with ties averaged, then Pearson. */
    private static double spearman(List<Double> x, List<Double> y, Explanation e) {
        List<Integer> kept = IntStream.range(0, x.size()).filter(i -> e.getPromptTokens().get(i).getAttributed()).boxed().toList();
        double[] rx = ranks(kept.stream().mapToDouble(x::get).toArray());
        double[] ry = ranks(kept.stream().mapToDouble(y::get).toArray());
        double mx = Arrays.stream(rx).average().orElseThrow();
        double my = Arrays.stream(ry).average().orElseThrow();
        double sxy = 0;
        double sxx = 0;
        double syy = 0;
        for (int i = 0; i < rx.length; i++) {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }
        return sxy / Math.sqrt(sxx * syy);
    }

    private static double[] ranks(double[] values) {
        double[] ranks = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            int below = 0;
            int equal = 0;
            for (double v : values) {
                below += v < values[i] ? 1 : 0;
                equal += v == values[i] ? 1 : 0;
            }
            ranks[i] = below + (equal + 1) / 2.0;
        }
        return ranks;
    }

    private static double sum(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).sum();
    }
}
