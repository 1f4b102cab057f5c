package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.explainstream.diff.DiffRun;
import io.explainstream.diff.Side;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.replay.ReplayTerms;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The diff command's checks that need no cluster, and the demo's replay hint. */
class DiffCommandTest {

    @Test
    void withoutAClusterItSaysWhichSettingIsMissing() {
        CliRun run = CliRun.of("diff", "--replay-id", "r1");
        assertEquals(2, run.exitCode());
        assertTrue(run.err().startsWith("error: bootstrap.servers is not set"), run.err());
    }

    @Test
    void badOptionsAreOneLineNamingTheOptionAndValue() {
        CliRun topK = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--top-k", "0");
        assertEquals(2, topK.exitCode());
        assertEquals("error: --top-k = 0 must be at least 1", topK.err().strip());
        CliRun range = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--from", "now", "--to", "-1d");
        assertEquals(2, range.exitCode());
        assertEquals("error: --from must be before --to (got now and -1d)", range.err().strip());
        // Each listed event's explanations are held for the report: 100,000 took 2.3 GB, and died of it under -Xmx256m.
        CliRun list = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--list", "100000");
        assertEquals(2, list.exitCode());
        assertEquals("error: --list = 100000 is over 1000, the most a report lists (each listed event's explanations are held for it); --publish"
                + " writes every event's comparison to a topic", list.err().strip());
        CliRun itself = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--against-replay", "r1");
        assertEquals(2, itself.exitCode());
        assertEquals("error: --against-replay = 'r1' is the replay itself", itself.err().strip());
        CliRun out = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--out", "/no/such/folder/x.json");
        assertEquals(2, out.exitCode());
        assertEquals("error: --out = /no/such/folder/x.json cannot be written: folder /no/such/folder does not exist", out.err().strip(),
                "checked before anything is read");
        CliRun format = CliRun.of("diff", "--replay-id", "r1", "--format", "pdf");
        assertEquals(2, format.exitCode());
        assertTrue(format.err().contains("--format"), format.err());
        // --set as replay's: KEY=VALUE, a value the configuration refuses said as --set's.
        CliRun notKeyValue = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--set", "=x");
        assertEquals("error: --set = '=x' must be KEY=VALUE", notKeyValue.err().strip());
        CliRun unknown = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--set", "foo.bar=1");
        assertEquals("error: --set: unknown configuration key 'foo.bar' (the README lists the service's keys; Kafka keys pass through)",
                unknown.err().strip());
    }

    /** Kafka's record times are epoch milliseconds from 1970 to Long.MAX_VALUE: a time outside says so, as replay does, before any broker is asked. */
    @Test
    void aTimeKafkaCannotStampIsOneLineNamingTheOption() {
        CliRun before = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--from", "1969-12-31");
        assertEquals(2, before.exitCode(), before.err());
        assertEquals("error: --from = '1969-12-31' is before 1970-01-01T00:00:00Z, where Kafka's record timestamps start", before.err().strip());
        CliRun farBefore = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--from", "-99999999999d");
        assertEquals(2, farBefore.exitCode(), farBefore.err());
        assertEquals("error: --from = '-99999999999d' is before 1970-01-01T00:00:00Z, where Kafka's record timestamps start", farBefore.err().strip());
        CliRun after = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--to", "+200000000000d");
        assertEquals(2, after.exitCode(), after.err());
        assertEquals("error: --to = '+200000000000d' is after +292278994-08-17T07:12:55.807Z, the last time a Kafka record can carry", after.err().strip());
    }

    /** picocli's own int reads any Unicode digit; an option takes ASCII digits only, as everything else a user types. */
    @Test
    void aNumberOptionTakesAsciiDigitsOnly() {
        CliRun run = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--top-k", "\uff15");
        assertEquals(2, run.exitCode(), run.err());
        assertTrue(run.err().startsWith("error: Invalid value for option '--top-k': '\uff15' is not an int"), run.err());
    }

    /** A non-zero decimal too small for a double read as 0, which turned --target-delta off; -0 printed as "-0%". */
    @Test
    void aNumberTooSmallToTellFromZeroIsRefusedAndMinusZeroIsZero() {
        CliRun tiny = CliRun.of("attribute", "--prompt", "Once", "--response", "upon", "--target-delta", "1e-999");
        assertEquals(2, tiny.exitCode(), tiny.err());
        assertTrue(tiny.err().startsWith("error: Invalid value for option '--target-delta': '1e-999' is too small to tell from 0"), tiny.err());
        assertEquals("stats.delta.warn = '1e-999' is too small to tell from 0", org.junit.jupiter.api.Assertions.assertThrows(
                io.explainstream.stream.config.ConfigException.class,
                () -> ServiceConfig.of(Map.of("stats.delta.warn", "1e-999")).number(io.explainstream.stream.config.Setting.STATS_DELTA_WARN)).getMessage());
        assertEquals(0, Double.compare(0.0, ServiceConfig.of(Map.of("stats.delta.warn", "-0.0")).number(io.explainstream.stream.config.Setting.STATS_DELTA_WARN)));
        assertEquals(0.0, ServiceConfig.of(Map.of("stats.delta.warn", "0e-999")).number(io.explainstream.stream.config.Setting.STATS_DELTA_WARN),
                "zero written small is zero");
    }

    @Test
    void aGroupByNamingAKeyTwiceOrNoneIsRefused() {
        CliRun twice = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--group-by", "tenant,tenant");
        assertEquals(2, twice.exitCode(), twice.err());
        assertEquals("error: --group-by = 'tenant,tenant' names the key 'tenant' twice", twice.err().strip());
        CliRun empty = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--group-by", ",,,");
        assertEquals(2, empty.exitCode(), empty.err());
        assertEquals("error: --group-by = ',,,' has an empty key: give comma-separated metadata keys, such as tenant,app", empty.err().strip());
        CliRun gap = CliRun.of("diff", "--replay-id", "r1", "--bootstrap-servers", "127.0.0.1:1", "--group-by", "tenant,,app");
        assertEquals(2, gap.exitCode(), gap.err());
        assertEquals("error: --group-by = 'tenant,,app' has an empty key: give comma-separated metadata keys, such as tenant,app", gap.err().strip());
    }

    /** --group-by takes a key as stats.group.by names it (metadata.application) too: taken whole it matched no event's metadata. */
    @Test
    void aGroupByKeyMayCarryTheMetadataPrefixOfStatsGroupBy() {
        assertEquals(List.of("application", "tenant"), DiffCommand.groupKeys("--group-by", "metadata.application,tenant"));
        assertEquals(List.of("metadata."), DiffCommand.groupKeys("--group-by", "metadata."), "a key that is the prefix alone stays");
        assertEquals("--group-by = 'application,metadata.application' names the key 'application' twice", org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> DiffCommand.groupKeys("--group-by", "application,metadata.application")).getMessage());
        // stats.group.by copied whole: its source_model is a field of the explanation, not metadata, and the warning says so.
        assertEquals(List.of("source_model", "application"), DiffCommand.groupKeys("--group-by", "source_model,metadata.application"));
        assertEquals("diff: --group-by key 'source_model' is in the metadata of none of the 9 joined events: they are all in group '-' for it"
                + " ('source_model' is also a field of the explanation, which --group-by does not read: it takes metadata keys, and with none,"
                + " --group-by '', groups by the source model)", DiffCommand.keyInNoEvent("source_model", 9));
        assertEquals("diff: --group-by key 'tennant' is in the metadata of none of the 9 joined events: they are all in group '-' for it",
                DiffCommand.keyInNoEvent("tennant", 9));
    }

    /**
     * Without --group-by a diff groups by the metadata keys of stats.group.by: its fields carry the
     * prefix (metadata.application), and taken whole they matched no key, so every event fell in "-".
     */
    @Test
    void withoutGroupByTheMetadataKeysOfStatsGroupByAreUsed() {
        assertEquals(List.of("application"), DiffCommand.metadataKeysOfStatsGroupBy(ServiceConfig.of(Map.of())), "the default, source_model and"
                + " metadata.application: the model is one side's for every event");
        assertEquals(List.of("tenant", "app"), DiffCommand.metadataKeysOfStatsGroupBy(ServiceConfig.of(Map.of("stats.group.by",
                "metadata.tenant,source_model,metadata.app"))));
        assertEquals(List.of(), DiffCommand.metadataKeysOfStatsGroupBy(ServiceConfig.of(Map.of("stats.group.by", "source_model"))),
                "no metadata key: the source model");
    }

    /**
     * A replay of a topic the live service never read has none of its events on the live side:
     * said before the diff, which then refuses an empty live side (a hostile test read "0 joined ·
     * 11100 replay only" with exit 0 and no hint why).
     */
    @Test
    void sidesThatExplainedOtherInputTopicsAreSaidSo() {
        ServiceConfig config = ServiceConfig.of(Map.of("input.topic", "llm-interactions"));
        ReplayTerms bulk = new ReplayTerms("bulk-input", "explanations-replay", 0, 1_000, new TreeMap<>(), new TreeMap<>());
        ReplayTerms live = new ReplayTerms("llm-interactions", "explanations-replay", 0, 1_000, new TreeMap<>(), new TreeMap<>());
        DiffRun.Request againstLive = request(new Side("--against", "explanations", null, "llm-interactions-dlq"));
        DiffRun.Request againstReplay = request(new Side("--against-replay", "explanations-replay", "ixg", "explanations-replay-dlq"));
        assertEquals("diff: replay bulkA read bulk-input; the live service reads (input.topic) llm-interactions\n",
                said(w -> DiffCommand.sayOtherInputTopics(config, Optional.of(bulk), Optional.empty(), againstLive, w)));
        assertEquals("diff: replay bulkA read bulk-input; replay ixg read llm-interactions\n",
                said(w -> DiffCommand.sayOtherInputTopics(config, Optional.of(bulk), Optional.of(live), againstReplay, w)));
        assertEquals("", said(w -> DiffCommand.sayOtherInputTopics(config, Optional.of(live), Optional.empty(), againstLive, w)), "the same topic");
        assertEquals("", said(w -> DiffCommand.sayOtherInputTopics(config, Optional.of(bulk), Optional.empty(), againstReplay, w)),
                "the other replay's topic is not known");
    }

    /**
     * Against a replay of a narrower range the diff compares the part both covered: the rest of
     * the replay's events counted "replay only" (a hostile test: 1,610 of 2,313 against a replay
     * of a sub-range, 27,750 of 38,850 against a replay of the first 12,000 events).
     */
    @Test
    void againstAReplayOfANarrowerRangeThePartBothCoveredIsCompared() {
        DiffRun.Request request = request(new Side("--against-replay", "explanations-replay", "ig8", "explanations-replay-dlq"));
        ReplayTerms narrower = new ReplayTerms("llm-interactions", "explanations-replay", 200, 400, new TreeMap<>(), new TreeMap<>());
        StringWriter said = new StringWriter();
        DiffRun.Request cut = DiffCommand.withinAgainstReplayRange(request, Optional.of(narrower), new PrintWriter(said, true));
        assertEquals(List.of(200L, 400L), List.of(cut.fromMs(), cut.toMs()));
        assertEquals("diff: [1970-01-01T00:00:00Z, 1970-01-01T00:00:01Z) reaches outside replay ig8's range; comparing [1970-01-01T00:00:00.200Z,"
                + " 1970-01-01T00:00:00.400Z)", said.toString().strip());
        ReplayTerms elsewhere = new ReplayTerms("llm-interactions", "explanations-ig8", 200, 400, new TreeMap<>(), new TreeMap<>());
        assertEquals(request, DiffCommand.withinAgainstReplayRange(request, Optional.of(elsewhere), new PrintWriter(new StringWriter())),
                "--against names a topic the other replay did not record: its range is not known there");
        ReplayTerms later = new ReplayTerms("llm-interactions", "explanations-replay", 5_000, 6_000, new TreeMap<>(), new TreeMap<>());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> DiffCommand.withinAgainstReplayRange(request, Optional.of(later), new PrintWriter(new StringWriter()))).getMessage()
                .contains("is outside replay ig8's range"));
        DiffRun.Request againstLive = request(new Side("--against", "explanations", null, "dlq"));
        assertEquals(againstLive, DiffCommand.withinAgainstReplayRange(againstLive, Optional.of(narrower), new PrintWriter(new StringWriter())),
                "against live: nothing to cut");
    }

    private static DiffRun.Request request(Side against) {
        return new DiffRun.Request(new Side("--replay-id", "explanations-replay", "bulkA", "explanations-replay-dlq"), against, 0, 1_000, 5, List.of(), 10,
                null, Map.of(), true);
    }

    private static String said(java.util.function.Consumer<PrintWriter> saying) {
        StringWriter text = new StringWriter();
        PrintWriter writer = new PrintWriter(text);
        saying.accept(writer);
        writer.flush();
        return text.toString().replace(System.lineSeparator(), "\n");
    }

    /** A write that fails after the checks (a full disk) is one line naming the option and the path, not a stack trace. */
    @Test
    void aReportThatCannotBeWrittenNamesTheOptionAndPath() {
        assumeTrue(Files.isWritable(Path.of("/dev/full")), "needs /dev/full");
        for (String option : new String[] {"--out", "--diff-out"}) {
            DiffCommand.Choice choice = new DiffCommand.Choice("r1", null, null, null, null, null, 5, null, 10, false, DiffCommand.Format.json,
                    Path.of("/dev/full"), option);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DiffCommand.writeReport(choice, "{}", new PrintWriter(new StringWriter())));
            assertEquals(option + " = /dev/full cannot be written: No space left on device", e.getMessage());
        }
    }

    /** {@code --out -} is standard output, as {@code send} reads standard input from {@code -}; no file named "-" is written. */
    @Test
    void aDashOutIsStandardOutput() throws Exception {
        Path dash = Path.of("-").toAbsolutePath();
        assumeTrue(Files.notExists(dash), "a file named - is here already");
        DiffCommand.Choice choice = new DiffCommand.Choice("r1", null, null, null, null, null, 5, null, 10, false, DiffCommand.Format.json,
                Path.of("-"), "--out");
        StringWriter out = new StringWriter();
        try {
            DiffCommand.writeReport(choice, "{}", new PrintWriter(out, true));
            assertEquals("{}", out.toString());
            assertTrue(Files.notExists(dash), "no file named -");
        } finally {
            Files.deleteIfExists(dash);
        }
    }

    /** The hint's range starts at or before the first sample event, however long the broker takes to start: it re-explains all the demo's traffic. */
    @Test
    void theDemosReplayHintStartsBeforeItsFirstEvent() throws Exception {
        Instant started = Instant.parse("2026-12-02T09:30:00.500Z");
        int size = DemoCommand.sample(null).size();
        for (long sentAfterMs : new long[] {0, 30_000, 600_000}) {
            long first = DemoCommand.firstStamp(started.toEpochMilli() + sentAfterMs, size);
            assertTrue(!DemoCommand.replayFrom(started, size).isAfter(Instant.ofEpochMilli(first)),
                    "sent " + sentAfterMs + " ms after the start: " + DemoCommand.replayFrom(started, size) + " vs first " + Instant.ofEpochMilli(first));
        }
    }

    @Test
    void theDemosReplayHintIsAValidReplayCommandWithDiff() {
        String hint = DemoCommand.replayHint("127.0.0.1:9092", "http://127.0.0.1:8081", Instant.parse("2026-12-01T10:00:00Z"));
        String command = hint.substring(hint.indexOf("./explainstream ") + "./explainstream ".length());
        CommandLine.ParseResult parsed = new CommandLine(new Main()).parseArgs(command.split(" "));
        CommandLine.ParseResult replay = parsed.subcommand();
        assertEquals("replay", replay.commandSpec().name());
        assertTrue(replay.hasMatchedOption("--diff"));
        assertEquals("2026-12-01T10:00:00Z", replay.matchedOptionValue("--from", ""));
        assertTrue(Arrays.asList(command.split(" ")).contains("attribution.method=input_x_gradient"), command);
        // Grouped as the demo's statistics are; no steps for a method that takes none (helper-76).
        assertTrue(Arrays.asList(command.split(" ")).contains("stats.group.by=source_model,metadata.tenant"), command);
        assertFalse(command.contains("attribution.steps"), command);
    }
}
