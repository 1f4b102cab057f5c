package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.testing.InJvmKafka;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code send} puts each line of a file on the input topic as it is, keyed by event_id. */
class SendCommandTest {

    private static final String EMOJI = "{\"event_id\":\"ü-🐶\",\"timestamp\":1764633600000,\"model\":\"stories260K\",\"prompt\":\"Lily saw a 🐶\",\"response\":\"It ran.\"}";

    @Test
    @Tag("slow") // starts a broker
    void everyLineIsSentAsItIsKeyedByItsEventId(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        file.writeBytes((EMOJI + "\r\n\n   \n").getBytes(StandardCharsets.UTF_8));
        file.writeBytes("not json at all\n".getBytes(StandardCharsets.UTF_8));
        byte[] notUtf8 = {'{', '"', 'e', 'v', 'e', 'n', 't', '_', 'i', 'd', '"', ':', '"', (byte) 0xC3, '"', '}'};
        file.writeBytes(notUtf8);
        Path events = Files.write(dir.resolve("events.jsonl"), file.toByteArray());
        try (InJvmKafka kafka = InJvmKafka.start()) {
            kafka.createTopic("in", 1);
            CliRun run = CliRun.of("send", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "in", events.toString());
            assertEquals(0, run.exitCode(), run.err());
            assertEquals("sent 3 events to in (2 without an event_id, sent without a key)", run.out().strip());
            List<ConsumerRecord<byte[], byte[]>> records = kafka.readCommitted("in", r -> r.size() >= 3, Duration.ofSeconds(60));
            assertEquals(3, records.size());
            assertEquals("ü-🐶", new String(records.get(0).key(), StandardCharsets.UTF_8));
            assertEquals(EMOJI, new String(records.get(0).value(), StandardCharsets.UTF_8), "the line without its \\r\\n");
            assertNull(records.get(1).key());
            assertEquals("not json at all", new String(records.get(1).value(), StandardCharsets.UTF_8));
            assertArrayEquals(notUtf8, records.get(2).value(), "bytes that are not UTF-8 are sent as they are, for the service to dead-letter");
        }
    }

    /**
     * A line the producer refuses (over max.request.size) is named on standard error with the
     * reason, the count says how many of the lines were sent, and the exit code is 2: it said
     * "sent 3 events" with one of them lost. The service's own topics and a missing topic are refused.
     */
    @Test
    @Tag("slow") // starts a broker
    void aLineThatIsNotSentIsNamedAndTheExitCodeSaysSo(@TempDir Path dir) throws Exception {
        String huge = "{\"event_id\":\"huge\",\"prompt\":\"" + "a ".repeat(1_000_000) + "\",\"response\":\"r\"}";
        Path events = Files.writeString(dir.resolve("events.jsonl"), EMOJI + "\n" + huge + "\n\n" + EMOJI.replace("ü-🐶", "last") + "\n");
        try (InJvmKafka kafka = InJvmKafka.start()) {
            kafka.createTopic("in", 1);
            CliRun run = CliRun.of("send", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "in", events.toString());
            assertEquals(2, run.exitCode(), run.out() + run.err());
            assertEquals("sent 2 of 3 events to in", run.out().strip());
            assertTrue(run.err().startsWith("error: line 2 was not sent: The message is 2000"), run.err());
            assertEquals(1, run.err().strip().lines().count(), run.err());
            List<ConsumerRecord<byte[], byte[]>> records = kafka.readCommitted("in", r -> r.size() >= 2, Duration.ofSeconds(60));
            assertEquals(List.of("ü-🐶", "last"), records.stream().map(r -> new String(r.key(), StandardCharsets.UTF_8)).toList());

            CliRun output = CliRun.of("send", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "explanations", events.toString());
            assertEquals(2, output.exitCode());
            assertEquals("error: --topic = explanations is the service's output.topic; send writes logged events, which go to input.topic"
                    + " (llm-interactions)", output.err().strip());
            CliRun internal = CliRun.of("send", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "explainstream-stats-observations",
                    events.toString());
            assertEquals("error: --topic = explainstream-stats-observations is an internal topic of the service (application.id = explainstream);"
                    + " send writes logged events, which go to input.topic (llm-interactions)", internal.err().strip());
            CliRun replays = CliRun.of("send", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "explanations-replay", events.toString());
            assertTrue(replays.err().startsWith("error: --topic = explanations-replay is where replays write;"), replays.err());
            CliRun changelog = CliRun.of("send", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "explainstream-pending-changelog",
                    events.toString());
            assertTrue(changelog.err().startsWith("error: --topic = explainstream-pending-changelog is an internal topic"), changelog.err());
            // A topic of the users' own that only starts like the application id is theirs to send to.
            kafka.createTopic("explainstream-events", 1);
            Path one = Files.writeString(dir.resolve("one.jsonl"), EMOJI + "\n");
            CliRun prefixed = CliRun.of("send", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "explainstream-events", one.toString());
            assertEquals(0, prefixed.exitCode(), prefixed.err());
            assertEquals("sent 1 event to explainstream-events", prefixed.out().strip());
            CliRun schemas = CliRun.of("send", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "_schemas", events.toString());
            assertEquals(2, schemas.exitCode());
            assertTrue(schemas.err().startsWith("error: --topic = _schemas is an internal topic of Kafka or of the schema registry;"), schemas.err());
            CliRun missing = CliRun.of("send", "--bootstrap-servers", kafka.bootstrapServers(), events.toString());
            assertEquals(2, missing.exitCode());
            assertEquals("error: input.topic = llm-interactions: no such topic on " + kafka.bootstrapServers() + "; start the service first (it"
                    + " creates input.topic with topics.partitions partitions), or create the topic", missing.err().strip());
        }
    }

    @Test
    void aMissingFileAndAnUnreachableClusterAreOneLineErrors(@TempDir Path dir) throws Exception {
        CliRun missing = CliRun.of("send", "--bootstrap-servers", "127.0.0.1:1", dir.resolve("nope.jsonl").toString());
        assertEquals(2, missing.exitCode());
        assertEquals("error: FILE = " + dir.resolve("nope.jsonl") + " does not exist", missing.err().strip());

        Path events = Files.writeString(dir.resolve("one.jsonl"), EMOJI + "\n");
        CliRun unreachable = CliRun.of("send", "--bootstrap-servers", "127.0.0.1:1", "--timeout", "2", events.toString());
        assertEquals(2, unreachable.exitCode(), unreachable.err());
        assertTrue(unreachable.err().startsWith("error: the Kafka broker at bootstrap.servers = 127.0.0.1:1 could not be reached"), unreachable.err());
        assertEquals(1, unreachable.err().strip().lines().filter(l -> l.startsWith("error:")).count(), unreachable.err());

        CliRun badTimeout = CliRun.of("send", "--bootstrap-servers", "127.0.0.1:1", "--timeout", "0", events.toString());
        assertEquals(2, badTimeout.exitCode());
        assertEquals("error: --timeout = 0 must be a positive number of seconds", badTimeout.err().strip());
    }

    @Test
    void linesEndWithNewlineOrCarriageReturnNewlineAndBlankOnesAreSkipped() {
        List<SendCommand.Line> lines = SendCommand.lines("a\r\n\n  \nb\nc".getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of("a", "b", "c"), lines.stream().map(l -> new String(l.bytes(), StandardCharsets.UTF_8)).toList());
        assertEquals(List.of(1, 4, 5), lines.stream().map(SendCommand.Line::number).toList(), "numbered as an editor numbers them");
    }
}
