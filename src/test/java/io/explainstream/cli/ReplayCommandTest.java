package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.testing.InJvmKafka;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("slow")
class ReplayCommandTest {

    /** Kafka's timestamps start in 1970: an earlier --from names itself, instead of a default replay id the user never gave. */
    @Test
    void aRangeBeforeKafkasTimestampsStartIsRefusedNamingTheOption() {
        CliRun run = CliRun.of("replay", "--from", "-99999999d", "--to", "now", "--set", "bootstrap.servers=127.0.0.1:1");
        assertEquals(2, run.exitCode(), run.err());
        assertEquals("error: --from = '-99999999d' is before 1970-01-01T00:00:00Z, where Kafka's record timestamps start", run.err().strip());
    }

    /** Options that would be ignored without a word are refused before anything is read, or said. */
    @Test
    void optionsAReplayWouldIgnoreAreRefused() {
        CliRun diffOut = CliRun.of("replay", "--from", "-1h", "--to", "now", "--diff-out", "/tmp/x.html", "--set", "bootstrap.servers=127.0.0.1:1");
        assertEquals(2, diffOut.exitCode(), diffOut.err());
        assertEquals("error: --diff-out shapes the report of --diff, which is not given; add --diff, or run diff --replay-id later",
                diffOut.err().strip());
        CliRun diffFormat = CliRun.of("replay", "--from", "-1h", "--to", "now", "--diff-format", "json", "--set", "bootstrap.servers=127.0.0.1:1");
        assertEquals(2, diffFormat.exitCode(), diffFormat.err());
        assertTrue(diffFormat.err().startsWith("error: --diff-format shapes the report of --diff"), diffFormat.err());
        CliRun output = CliRun.of("replay", "--from", "-1h", "--to", "now", "--set", "output.topic=mine");
        assertTrue(output.err().startsWith("replay: --set output.topic is the live service's (--diff compares with its output.topic); the replay"
                + " writes to --output-topic (default explanations-replay)"), output.err());
    }

    /**
     * A replay's output went anywhere (a hostile test): into its own input topic, whose range then
     * held the explanations as events for good, and into __consumer_offsets, where its thread
     * failed for ever. Refused before the cluster is asked anything, naming why.
     */
    @Test
    void anOutputTopicThatHoldsOtherRecordsIsRefused() {
        String[][] cases = {
            {"llm-interactions", "error: --output-topic = llm-interactions is the input topic of this replay: every later replay of the range"},
            {"logged", "error: --output-topic = logged is the input topic of the live service: every later replay"},
            {"llm-interactions-dlq", "error: --output-topic = llm-interactions-dlq is a topic of the live service that holds other records"},
            {"__consumer_offsets", "error: --output-topic = __consumer_offsets is an internal topic of Kafka or of the schema registry"},
            {"_schemas", "error: --output-topic = _schemas is an internal topic of Kafka or of the schema registry"},
            {"explainstream-replays", "error: --output-topic = explainstream-replays is where the replays' records are kept"},
            {"explainstream-batch-store-changelog", "error: --output-topic = explainstream-batch-store-changelog is an internal topic of Kafka Streams"},
            {"llm-interactions-x", null},
        };
        for (String[] c : cases) {
            CliRun run = CliRun.of("replay", "--from", "-1h", "--to", "now", "--input-topic", "llm-interactions", "--output-topic", c[0], "--dry-run",
                    "--set", "input.topic=logged", "--set", "bootstrap.servers=127.0.0.1:1");
            assertEquals(2, run.exitCode(), run.err());
            if (c[1] != null) {
                assertTrue(run.err().startsWith(c[1]), c[0] + ": " + run.err());
            } else {
                assertTrue(run.err().contains("could not be reached"), "an explanations topic passes, and the broker is asked: " + run.err());
            }
        }
        // The replay id's limit is what its application.id leaves: said of --replay-id, not of the application.id the user never set.
        CliRun longId = CliRun.of("replay", "--from", "-1h", "--to", "now", "--replay-id", "a".repeat(80), "--dry-run", "--set",
                "bootstrap.servers=127.0.0.1:1");
        assertEquals("error: --replay-id = '" + "a".repeat(80) + "' is 80 characters; with application.id = explainstream at most 79 fit: the replay's"
                + " application.id, explainstream-replay-<id>, names its consumer group and internal topics and holds at most 100", longId.err().strip());
        CliRun longestId = CliRun.of("replay", "--from", "-1h", "--to", "now", "--replay-id", "a".repeat(79), "--dry-run", "--set",
                "bootstrap.servers=127.0.0.1:1");
        assertTrue(longestId.err().contains("could not be reached"), longestId.err());
        CliRun deadLetters = CliRun.of("replay", "--from", "-1h", "--to", "now", "--output-topic", "mine", "--input-topic", "mine-dlq", "--dry-run",
                "--set", "input.topic=logged", "--set", "bootstrap.servers=127.0.0.1:1");
        assertTrue(deadLetters.err().startsWith("error: --output-topic = mine (its dead letters go to mine-dlq) is the input topic of this replay"),
                deadLetters.err());
    }

    /**
     * The resume line repeats the settings given (a resume with other ones would mix two kinds of
     * explanation in one replay) and names the range by the instants it resolved to: "-1h" and
     * "now" would name another range later.
     */
    @Test
    void theResumeCommandKeepsTheSettingsAndFixesTheRange() {
        List<String> given = List.of("replay", "--from", "-1h", "--to=now", "--set", "attribution.steps=3000", "--model", "/models/my model",
                "--config", "it's.properties");
        assertEquals(List.of("replay", "--set", "attribution.steps=3000", "--model", "'/models/my model'", "--config", "'it'\\''s.properties'",
                "--replay-id", "replay-1", "--from", "2026-12-02T09:00:00Z", "--to", "2026-12-02T10:00:00Z"),
                ReplayCommand.resumeCommand(given, "replay-1", Instant.parse("2026-12-02T09:00:00Z"), Instant.parse("2026-12-02T10:00:00Z")));
        // Secrets are not printed (the line goes to a terminal or a log, where the configuration shows them as [hidden]): named instead.
        List<String> secrets = List.of("replay", "--set", "schema.registry.basic.auth.user.info=alice:s3cr3t", "--set=ssl.key.password=hunter2", "--set",
                "attribution.steps=3000");
        assertEquals(List.of("replay", "--set", "attribution.steps=3000", "--replay-id", "replay-1", "--from", "2026-12-02T09:00:00Z", "--to",
                "2026-12-02T10:00:00Z"), ReplayCommand.resumeCommand(secrets, "replay-1", Instant.parse("2026-12-02T09:00:00Z"),
                        Instant.parse("2026-12-02T10:00:00Z")));
        assertEquals(" (and the secret settings left out here: --set schema.registry.basic.auth.user.info, ssl.key.password, or in --config or the"
                + " environment)", ReplayCommand.secretsLeftOut(List.of("schema.registry.basic.auth.user.info=alice:s3cr3t", "ssl.key.password=hunter2",
                        "attribution.steps=3000")));
    }

    /** Ranges that differ by less than a second got one default id, and the second was refused as the first one's with other terms. */
    @Test
    void theDefaultIdKeepsTheMillisecondsOfARangeThatHasThem() {
        assertEquals("replay-20261201T000000Z-20261201T000200Z", ReplayCommand.defaultId(Instant.parse("2026-12-01T00:00:00Z"),
                Instant.parse("2026-12-01T00:02:00Z")));
        assertEquals("replay-20261201T000000.500Z-20261201T000200Z", ReplayCommand.defaultId(Instant.parse("2026-12-01T00:00:00.5Z"),
                Instant.parse("2026-12-01T00:02:00Z")));
    }

    @Test
    void dryRunPrintsTheEventsInRangePerPartitionAndChangesNothing() throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start()) {
            try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
                // The replay's default output topic, kept for a week: the range is older.
                admin.createTopics(List.of(new NewTopic("logged", 2, (short) 1).configs(Map.of("retention.ms", "-1")),
                        new NewTopic("explanations-replay", 1, (short) 1).configs(Map.of("retention.ms", "604800000")))).all().get(30, TimeUnit.SECONDS);
            }
            Properties props = new Properties();
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            long inRange = Instant.parse("2026-11-20T10:00:00Z").toEpochMilli();
            long before = Instant.parse("2026-11-19T10:00:00Z").toEpochMilli();
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
                for (int i = 0; i < 5; i++) {
                    producer.send(new ProducerRecord<>("logged", 0, before + i, "b" + i, "{}")).get();
                    producer.send(new ProducerRecord<>("logged", i % 2, inRange + i, "r" + i, "{}")).get();
                }
            }
            CliRun run = CliRun.of("replay", "--from", "2026-11-20", "--to", "2026-11-21", "--input-topic", "logged", "--dry-run",
                    "--set", "bootstrap.servers=" + kafka.bootstrapServers(), "--set", "schema.registry.url=http://127.0.0.1:1");
            assertEquals(2, run.exitCode(), "the run would not start, and exits 2: " + run.err());
            assertTrue(run.out().contains("replay replay-20261120T000000Z-20261121T000000Z of logged"), run.out());
            assertTrue(run.out().contains("5 events in range"), run.out());
            assertTrue(run.out().contains("partition 0: 3 events"), run.out());
            assertTrue(run.out().contains("partition 1: 2 events"), run.out());
            assertTrue(run.out().contains("  would not start: --output-topic = explanations-replay keeps records for retention.ms = 604800000 (7d)"
                    + " after their timestamp; the replay's first event, of 2026-11-20T10:00:00Z, would be deleted"), run.out());
            try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
                assertTrue(admin.listConsumerGroups().all().get(30, TimeUnit.SECONDS).stream()
                        .noneMatch(group -> group.groupId().contains("replay-2026")), "a dry run commits nothing");
            }
        }
    }

    @Test
    void aReplayEndsWithCountsThatAddUpToTheEventsInRangeAndRefusesARangeRetentionCut(@org.junit.jupiter.api.io.TempDir java.nio.file.Path state)
            throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start();
                io.explainstream.avro.EmbeddedSchemaRegistry registry = io.explainstream.testing.BuiltInRegistry.startInMemory()) {
            try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
                // Kept for ever: the events are of a fixed past day, which the broker's default retention (7 days) would delete.
                admin.createTopics(List.of(new NewTopic("history", 1, (short) 1).configs(Map.of("retention.ms", "-1")),
                        new NewTopic("other-history", 1, (short) 1).configs(Map.of("retention.ms", "-1")))).all().get(30, TimeUnit.SECONDS);
            }
            Properties props = new Properties();
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            long inRange = Instant.parse("2026-11-20T10:00:00Z").toEpochMilli();
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
                for (int i = 0; i < 5; i++) {
                    String model = i == 4 ? "gpt-x" : "stories260K";
                    String value = i == 3 ? "{}" : "{\"event_id\":\"h" + i + "\",\"timestamp\":" + inRange + ",\"model\":\"" + model
                            + "\",\"prompt\":\"One day,\",\"response\":\"a little girl\"}";
                    producer.send(new ProducerRecord<>("history", 0, inRange + i, "h" + i, value)).get();
                }
            }
            List<String> common = List.of("--from", "2026-11-20", "--to", "2026-11-21", "--input-topic", "history",
                    "--set", "bootstrap.servers=" + kafka.bootstrapServers(), "--set", "schema.registry.url=" + registry.url(),
                    "--set", "state.dir=" + state, "--set", "ops.port=-1", "--set", "attribution.steps=4", "--set", "batch.max.wait.ms=200",
                    "--set", "model.accept=stories260K");
            List<String> args = new java.util.ArrayList<>(List.of("replay", "--replay-id", "counted"));
            args.addAll(common);
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(0, run.exitCode(), run.err());
            assertTrue(run.out().matches("(?s)replay counted finished: 5 events in range: 3 explained, 1 dead-lettered, 1 skipped; .*"), run.out());
            assertFalse(run.err().contains("to resume"), "a finished replay has nothing to resume: " + run.err());
            assertTrue(run.err().contains("[" + "#".repeat(30) + "] 5/5 records"), "the bar ends full: " + run.err());
            // A finished replay leaves no local state in state.dir (helper-76: it stayed in data/streams-state after the demo had gone).
            try (var left = java.nio.file.Files.list(state)) {
                assertEquals(List.of(), left.map(path -> path.getFileName().toString()).filter(name -> name.contains("replay-counted")).toList());
            }
            // Run again as it was: resumed, nothing explained twice, the same counts.
            CliRun same = CliRun.of(args.toArray(String[]::new));
            assertEquals(0, same.exitCode(), same.err());
            assertTrue(same.out().contains("finished: 5 events in range: 3 explained, 1 dead-lettered, 1 skipped") && same.out().contains("(resumed)"),
                    same.out());
            // The same id over a narrower range would resume with the first range's offsets and counts
            // ("5 events in range" of a range of 3 records): refused, naming both ranges.
            List<String> narrower = new java.util.ArrayList<>(args);
            narrower.set(narrower.indexOf("2026-11-20"), "2026-11-20T10:00:00.002Z");
            CliRun again = CliRun.of(narrower.toArray(String[]::new));
            assertEquals(2, again.exitCode(), again.out() + again.err());
            assertEquals("error: --replay-id = counted was run with other terms: range [2026-11-20T00:00:00Z, 2026-11-21T00:00:00Z); "
                    + "this run: [2026-11-20T10:00:00.002Z, 2026-11-21T00:00:00Z) (times relative to now, such as -1h and now, name another range"
                    + " at each run: resume with --from 2026-11-20T00:00:00Z --to 2026-11-21T00:00:00Z). Resume it with its own range and settings,"
                    + " or give another --replay-id",
                    again.err().strip().lines().reduce((first, last) -> last).orElseThrow());
            // ... and so are other steps: two kinds of explanation under one id.
            List<String> moreSteps = new java.util.ArrayList<>(args);
            moreSteps.set(moreSteps.indexOf("attribution.steps=4"), "attribution.steps=8");
            CliRun steps = CliRun.of(moreSteps.toArray(String[]::new));
            assertEquals(2, steps.exitCode(), steps.out() + steps.err());
            assertTrue(steps.err().contains("other terms: attribution.steps = '4'; this run: '8'."), steps.err());
            // --dry-run says so too (it counted the events as if the run would start).
            moreSteps.add("--dry-run");
            CliRun stepsDry = CliRun.of(moreSteps.toArray(String[]::new));
            assertEquals(2, stepsDry.exitCode(), "as the run does: " + stepsDry.out() + stepsDry.err());
            assertTrue(stepsDry.out().contains("  would not start: --replay-id = counted was run with other terms: attribution.steps = '4'; this run: '8'."),
                    stepsDry.out());
            // ... and another input topic, where the replay group has no offsets yet.
            List<String> otherTopic = new java.util.ArrayList<>(args);
            otherTopic.set(otherTopic.indexOf("history"), "other-history");
            CliRun topic = CliRun.of(otherTopic.toArray(String[]::new));
            assertEquals(2, topic.exitCode(), topic.out() + topic.err());
            assertTrue(topic.err().contains("other terms: --input-topic history; this run: other-history."), topic.err());

            // A model directory that cannot load: one error, and no word of resuming what never started.
            args = new java.util.ArrayList<>(List.of("replay", "--replay-id", "no-model", "--set", "model.dir=" + state.resolve("no-model")));
            args.addAll(common);
            CliRun noModel = CliRun.of(args.toArray(String[]::new));
            assertEquals(2, noModel.exitCode(), noModel.out() + noModel.err());
            assertFalse(noModel.err().contains("to resume"), noModel.err());
            assertTrue(noModel.err().strip().endsWith("error: model directory " + state.resolve("no-model") + " does not exist"), noModel.err());
            // It explained nothing, so the same id takes the mended model directory and starts afresh.
            args = new java.util.ArrayList<>(List.of("replay", "--replay-id", "no-model"));
            args.addAll(common);
            CliRun mended = CliRun.of(args.toArray(String[]::new));
            assertEquals(0, mended.exitCode(), mended.err());
            assertTrue(mended.out().contains("replay no-model finished: 5 events in range: 3 explained") && !mended.out().contains("(resumed)"),
                    mended.out());

            try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
                admin.deleteRecords(Map.of(new org.apache.kafka.common.TopicPartition("history", 0),
                        org.apache.kafka.clients.admin.RecordsToDelete.beforeOffset(2))).all().get(30, TimeUnit.SECONDS);
            }
            // Replay "counted" had read those two records: they are neither missing nor countable. Its dry
            // run counts what is left and says what it read before retention deleted it; run again, it
            // resumes with the total of its range (the bar read "5/3 records", and "29/0" where all were deleted).
            List<String> countedDry = new java.util.ArrayList<>(List.of("replay", "--replay-id", "counted", "--dry-run"));
            countedDry.addAll(common);
            CliRun readBefore = CliRun.of(countedDry.toArray(String[]::new));
            assertEquals(0, readBefore.exitCode(), "nothing is missing: " + readBefore.out() + readBefore.err());
            assertTrue(readBefore.out().contains("): 3 events in range, not counting 2 records retention deleted after this replay passed them\n"
                    + "  partition 0: 3 events (offsets [0, 5) read; 2 of them deleted by retention after this replay passed them)\n"), readBefore.out());
            CliRun resumed = CliRun.of(countedDry.stream().filter(a -> !a.equals("--dry-run")).toArray(String[]::new));
            assertEquals(0, resumed.exitCode(), resumed.out() + resumed.err());
            assertTrue(resumed.out().contains("finished: 5 events in range: 3 explained, 1 dead-lettered, 1 skipped") && resumed.out().contains("(resumed)"),
                    resumed.out());
            assertTrue(resumed.err().contains("] 5/5 records") && !resumed.err().contains("/3 records"), resumed.err());

            args = new java.util.ArrayList<>(List.of("replay", "--replay-id", "after-retention"));
            args.addAll(common);
            List<String> dryRun = new java.util.ArrayList<>(args);
            dryRun.add("--dry-run");
            CliRun wouldNot = CliRun.of(dryRun.toArray(String[]::new));
            assertEquals(4, wouldNot.exitCode(), "the dry run exits as the run would: " + wouldNot.out() + wouldNot.err());
            assertTrue(wouldNot.out().contains("  would not start: part of the range is gone; --allow-gaps replays what is left"), wouldNot.out());
            CliRun refused = CliRun.of(args.toArray(String[]::new));
            assertEquals(4, refused.exitCode(), refused.out() + refused.err());
            assertTrue(refused.err().contains("partition 0: up to 2 records of the range (offsets 0..1) deleted by retention"), refused.err());
            assertTrue(refused.err().contains("--allow-gaps replays what is left"), refused.err());
            args.add("--allow-gaps");
            CliRun allowed = CliRun.of(args.toArray(String[]::new));
            assertEquals(4, allowed.exitCode(), "still says something is missing");
            assertTrue(allowed.out().contains("finished: 3 events in range: 1 explained, 1 dead-lettered, 1 skipped"), allowed.out());
            // Its dry run lists what it skipped as gone, and exits as a run would: 4, something is missing.
            CliRun allowedDry = CliRun.of(dryRun.toArray(String[]::new));
            assertEquals(4, allowedDry.exitCode(), allowedDry.out() + allowedDry.err());
            assertTrue(allowedDry.out().contains("  gone: partition 0: up to 2 records of the range (offsets 0..1) deleted by retention, skipped by an"
                    + " earlier run\n") && !allowedDry.out().contains("would not start"), allowedDry.out());

            // As if it had stopped after reading offsets 0..2, and retention then deleted offset 3, which
            // it had not read: resumed with --allow-gaps, it skips offset 3, and its record keeps that, so
            // that its dry run tells the records it read (0..2) from the one it skipped, which is missing.
            try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
                org.apache.kafka.common.TopicPartition history = new org.apache.kafka.common.TopicPartition("history", 0);
                admin.alterConsumerGroupOffsets("explainstream-replay-counted", Map.of(history, new org.apache.kafka.clients.consumer.OffsetAndMetadata(3)))
                        .all().get(30, TimeUnit.SECONDS);
                admin.deleteRecords(Map.of(history, org.apache.kafka.clients.admin.RecordsToDelete.beforeOffset(4))).all().get(30, TimeUnit.SECONDS);
            }
            List<String> countedGaps = new java.util.ArrayList<>(countedDry.stream().filter(a -> !a.equals("--dry-run")).toList());
            countedGaps.add("--allow-gaps");
            CliRun skipping = CliRun.of(countedGaps.toArray(String[]::new));
            assertEquals(4, skipping.exitCode(), skipping.out() + skipping.err());
            assertTrue(skipping.err().contains("replay counted: partition 0: 1 record of the range (offsets 3..3) deleted by retention\n"), skipping.err());
            CliRun skippedDry = CliRun.of(countedDry.toArray(String[]::new));
            assertEquals(4, skippedDry.exitCode(), "the replay misses offset 3, as its run says: " + skippedDry.out() + skippedDry.err());
            assertTrue(skippedDry.out().contains("): 1 event in range, not counting 3 records retention deleted after this replay passed them\n"
                    + "  partition 0: 1 event (offsets [0, 5) read; 3 of them deleted by retention after this replay passed them)\n"
                    + "  gone: partition 0: 1 record of the range (offsets 3..3) deleted by retention, skipped by an earlier run\n"),
                    skippedDry.out());
            assertFalse(skippedDry.out().contains("would not start"), "the skipped record was accepted as gone: " + skippedDry.out());
            // Resumed without --allow-gaps, it starts (nothing new is gone) and says again what it misses.
            CliRun missing = CliRun.of(countedDry.stream().filter(a -> !a.equals("--dry-run")).toArray(String[]::new));
            assertEquals(4, missing.exitCode(), missing.out() + missing.err());
            assertTrue(missing.err().contains("replay counted: partition 0: 1 record of the range (offsets 3..3) deleted by retention, skipped by an earlier"
                    + " run\n"), missing.err());
            assertTrue(missing.out().contains("(resumed); records deleted by retention are missing"), missing.out());

            // An output topic whose retention would delete the range's explanations: one line, exit 2.
            try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
                admin.createTopics(List.of(new NewTopic("kept-a-week", 1, (short) 1).configs(Map.of("retention.ms", "604800000"))))
                        .all().get(30, TimeUnit.SECONDS);
            }
            args = new java.util.ArrayList<>(List.of("replay", "--replay-id", "into-a-week", "--output-topic", "kept-a-week"));
            args.addAll(common);
            CliRun week = CliRun.of(args.toArray(String[]::new));
            assertEquals(2, week.exitCode(), week.out() + week.err());
            assertTrue(week.err().strip().lines().reduce((first, last) -> last).orElseThrow().startsWith("error: --output-topic = kept-a-week"
                    + " keeps records for retention.ms = 604800000 (7d) after their timestamp; the replay's first event, of 2026-11-20T10:00:00.004Z,"
                    + " would be deleted as soon as it is written"), week.err());
            assertFalse(week.err().contains("to resume"), "nothing to resume: " + week.err());
        }
    }

    /**
     * The model is part of a replay id's terms by its fingerprint: the same folder with other
     * weights is refused, the bundled model by its full path is the same model, and 050 steps are
     * 50. A replay that finished with no event in its range (a wrong date) frees its id.
     */
    @Test
    void aReplayIdKeepsItsModelByFingerprintAndARangeWithNoEventsFreesIt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path folder = dir.resolve("model");
        java.nio.file.Path other = dir.resolve("other");
        assertEquals(0, CliRun.of("make-checkpoint", "--out", folder.toString(), "--hidden", "32", "--heads", "4", "--layers", "1", "--seed", "1")
                .exitCode());
        assertEquals(0, CliRun.of("make-checkpoint", "--out", other.toString(), "--hidden", "32", "--heads", "4", "--layers", "1", "--seed", "2")
                .exitCode());
        try (InJvmKafka kafka = InJvmKafka.start();
                io.explainstream.avro.EmbeddedSchemaRegistry registry = io.explainstream.testing.BuiltInRegistry.startInMemory()) {
            kafka.createTopic("history", 1);
            Properties props = new Properties();
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            long inRange = Instant.parse("2026-11-20T10:00:00Z").toEpochMilli();
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
                for (int i = 0; i < 2; i++) {
                    producer.send(new ProducerRecord<>("history", 0, inRange + i, "h" + i, "{\"event_id\":\"h" + i + "\",\"timestamp\":" + inRange
                            + ",\"model\":\"stories260K\",\"prompt\":\"One day,\",\"response\":\"a little girl\"}")).get();
                }
            }
            List<String> common = List.of("--from", "2026-11-20", "--to", "2026-11-21", "--input-topic", "history",
                    "--set", "bootstrap.servers=" + kafka.bootstrapServers(), "--set", "schema.registry.url=" + registry.url(),
                    "--set", "state.dir=" + dir.resolve("state"), "--set", "ops.port=-1", "--set", "attribution.steps=4",
                    "--set", "batch.max.wait.ms=200");
            List<String> byFolder = new java.util.ArrayList<>(List.of("replay", "--replay-id", "by-folder", "--model", folder.toString()));
            byFolder.addAll(common);
            assertEquals(0, CliRun.of(byFolder.toArray(String[]::new)).exitCode());
            // Other weights in the same folder: another model under the same text.
            java.nio.file.Files.copy(other.resolve("model.safetensors"), folder.resolve("model.safetensors"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            CliRun swapped = CliRun.of(byFolder.toArray(String[]::new));
            assertEquals(2, swapped.exitCode(), swapped.out() + swapped.err());
            assertTrue(swapped.err().contains("was run with other terms: model.fingerprint = 'sha256:"), swapped.err());

            // The bundled model by its full path is the bundled model, and 004 steps are 4.
            List<String> bundled = new java.util.ArrayList<>(List.of("replay", "--replay-id", "bundled"));
            bundled.addAll(common);
            assertEquals(0, CliRun.of(bundled.toArray(String[]::new)).exitCode());
            List<String> byPath = new java.util.ArrayList<>(bundled);
            byPath.addAll(List.of("--model", RunCommand.home().resolve("models/stories260K").toString()));
            byPath.set(byPath.indexOf("attribution.steps=4"), "attribution.steps=004");
            CliRun samePath = CliRun.of(byPath.toArray(String[]::new));
            assertEquals(0, samePath.exitCode(), samePath.err());
            assertTrue(samePath.out().contains("finished: 2 events in range") && samePath.out().contains("(resumed)"), samePath.out());
            List<String> shorter = new java.util.ArrayList<>(bundled);
            shorter.addAll(List.of("--set", "limits.prompt.tokens=500"));
            CliRun limit = CliRun.of(shorter.toArray(String[]::new));
            assertEquals(2, limit.exitCode(), limit.out() + limit.err());
            assertTrue(limit.err().contains("other terms: limits.prompt.tokens = '1024'; this run: '500'."), "numbers as written: " + limit.err());

            // --diff needs the live explanations' topic: said before the replay runs, not after it.
            List<String> diffing = new java.util.ArrayList<>(List.of("replay", "--replay-id", "diffing", "--diff"));
            diffing.addAll(common);
            CliRun noLive = CliRun.of(diffing.toArray(String[]::new));
            assertEquals(2, noLive.exitCode(), noLive.out() + noLive.err());
            assertEquals("error: --diff compares with the live explanations on output.topic = explanations, which does not exist on "
                    + kafka.bootstrapServers(), noLive.err().strip().lines().reduce((first, last) -> last).orElseThrow());
            assertTrue(noLive.out().isEmpty(), "no replay ran: " + noLive.out());
            kafka.createTopic("explanations", 1);

            // A wrong date: finished with nothing in range, and the id is free to take the right one.
            List<String> wrongDate = new java.util.ArrayList<>(List.of("replay", "--replay-id", "dated", "--diff"));
            wrongDate.addAll(common);
            wrongDate.set(wrongDate.indexOf("2026-11-20"), "2025-11-20");
            wrongDate.set(wrongDate.indexOf("2026-11-21"), "2025-11-21");
            CliRun empty = CliRun.of(wrongDate.toArray(String[]::new));
            assertEquals(0, empty.exitCode(), empty.err());
            assertTrue(empty.out().contains("finished: 0 events in range"), empty.out());
            assertTrue(empty.err().contains("replay dated: no event explained or dead-lettered in range, so nothing to diff"), empty.err());
            try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
                assertTrue(admin.listConsumerGroups().all().get(30, TimeUnit.SECONDS).stream().noneMatch(group -> group.groupId().contains("replay-dated")),
                        "the offsets and terms of a replay with nothing to show are deleted");
            }
            List<String> rightDate = new java.util.ArrayList<>(List.of("replay", "--replay-id", "dated"));
            rightDate.addAll(common);
            CliRun right = CliRun.of(rightDate.toArray(String[]::new));
            assertEquals(0, right.exitCode(), right.out() + right.err());
            assertTrue(right.out().contains("replay dated finished: 2 events in range: 2 explained") && !right.out().contains("(resumed)"),
                    right.out());
        }
    }
}
