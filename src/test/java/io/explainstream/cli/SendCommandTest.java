package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.ServiceProcess;
import java.io.OutputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
        // The service dead-letters an event with a field twice: it is no event, so it has no key either.
        file.writeBytes("\n{\"event_id\":\"first\",\"event_id\":\"second\"}".getBytes(StandardCharsets.UTF_8));
        // A lone surrogate has no UTF-8 form: encoded, the key was "id-?", another event's id.
        file.writeBytes("\n{\"event_id\":\"id-\\ud800\"}".getBytes(StandardCharsets.UTF_8));
        // Nor has an overlong form: read leniently, C0 AF made the key "id-/".
        file.writeBytes(new byte[] {'\n', '{', '"', 'e', 'v', 'e', 'n', 't', '_', 'i', 'd', '"', ':', '"', 'i', 'd', '-', (byte) 0xC0, (byte) 0xAF, '"', '}'});
        // Another field twice: the service dead-letters it, keyed by its one event_id, so that its reason finds the event
        // (a hostile test: sent without a key, and counted "without an event_id").
        file.writeBytes("\n{\"event_id\":\"seg-twice\",\"segments\":[],\"segments\":[{\"name\":\"a\",\"name\":\"b\"}]}".getBytes(StandardCharsets.UTF_8));
        // Past the JSON reader's limits (a name over 50,000 characters, nesting over 1,000): still one event_id, so keyed (a hostile test).
        file.writeBytes(("\n{\"event_id\":\"long-name\",\"" + "n".repeat(60_000) + "\":1,\"metadata\":" + "[".repeat(1_200) + "1"
                + "]".repeat(1_200) + "}").getBytes(StandardCharsets.UTF_8));
        Path events = Files.write(dir.resolve("events.jsonl"), file.toByteArray());
        try (InJvmKafka kafka = InJvmKafka.start()) {
            kafka.createTopic("in", 1);
            CliRun run = CliRun.of("send", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "in", events.toString());
            assertEquals(0, run.exitCode(), run.err());
            assertEquals("sent 8 events to in (5 without a key: not a JSON object with one event_id)", run.out().strip());
            List<ConsumerRecord<byte[], byte[]>> records = kafka.readCommitted("in", r -> r.size() >= 8, Duration.ofSeconds(60));
            assertEquals(8, records.size());
            assertEquals("seg-twice", new String(records.get(6).key(), StandardCharsets.UTF_8));
            assertEquals("long-name", new String(records.get(7).key(), StandardCharsets.UTF_8));
            assertNull(records.get(3).key(), "a duplicated event_id gives no key");
            assertNull(records.get(4).key(), "nor an event_id with a lone surrogate");
            assertNull(records.get(5).key(), "nor one with bytes that are not UTF-8");
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
            assertTrue(run.err().startsWith("error: line 2 was not sent: it is 2000046 bytes, over the producer's max.request.size = 1114112 bytes"),
                    run.err());
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
            CliRun notices = CliRun.of("send", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "explainstream-skipped", events.toString());
            assertEquals("error: --topic = explainstream-skipped is an internal topic of the service (application.id = explainstream);"
                    + " send writes logged events, which go to input.topic (llm-interactions)", notices.err().strip());
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

    /**
     * {@code send -} puts each line on the topic as it arrives, not when the input ends, and an
     * interrupt (SIGTERM here; Ctrl-C's SIGINT runs the same shutdown) says up to which line the
     * input went out, exits 3, and for a file prints the command that sends the rest. It used to
     * read the whole input first, and on Ctrl-C say nothing and drop what it had not yet sent.
     */
    @Test
    @Tag("slow") // starts a broker and two JVMs
    void linesAreSentAsTheyArriveAndAnInterruptSaysWhereTheInputStopped(@TempDir Path dir) throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start()) {
            kafka.createTopic("in", 1);
            String second = EMOJI.replace("ü-🐶", "second");
            List<String> args = List.of("send", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "in");
            try (ServiceProcess send = ServiceProcess.start(concat(args, "-"), List.of(), Map.of(), dir.resolve("stdin.log"), Duration.ofMinutes(2))) {
                OutputStream stdin = send.process().getOutputStream();
                stdin.write((EMOJI + "\n\n" + second + "\n").getBytes(StandardCharsets.UTF_8));
                stdin.flush();
                List<ConsumerRecord<byte[], byte[]>> records = kafka.readCommitted("in", r -> r.size() >= 2, Duration.ofSeconds(60));
                assertEquals(List.of("ü-🐶", "second"), records.stream().map(r -> new String(r.key(), StandardCharsets.UTF_8)).toList(),
                        "on the topic while the input is still open");
                assertEquals(3, interrupt(send), send.output());
                assertTrue(send.output().contains("sent 2 events to in\n"), send.output());
                assertTrue(send.output().contains("send interrupted after line 3 of standard input: every line up to it was sent (or named above);"
                        + " the lines after it were not sent\n"), send.output());
            }
            // A file that arrives slowly (a named pipe) gets the command that sends the rest.
            Path fifo = dir.resolve("events.jsonl");
            assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
            try (ServiceProcess send = ServiceProcess.start(concat(args, fifo.toString()), List.of(), Map.of(), dir.resolve("file.log"),
                    Duration.ofMinutes(2)); OutputStream writer = Files.newOutputStream(fifo)) {
                writer.write((EMOJI.replace("ü-🐶", "third") + "\n").getBytes(StandardCharsets.UTF_8));
                writer.flush();
                kafka.readCommitted("in", r -> r.size() >= 3, Duration.ofSeconds(60));
                assertEquals(3, interrupt(send), send.output());
                assertTrue(send.output().contains("send interrupted after line 1 of " + fifo + ": every line up to it was sent (or named above);"
                        + " to send the rest, run: tail -n +2 " + fifo + " | explainstream send --bootstrap-servers " + kafka.bootstrapServers()
                        + " --topic in -\n"), send.output());
            }
        }
    }

    /**
     * Interrupted while it sends (not while it waits for input), send says the line it stopped
     * after and the command that sends the rest. It said "send interrupted after the end of
     * FILE: every line was sent" in four of five such runs (a hostile test: 18,861 of 300,000 lines
     * sent), as the reading loop, left on the interrupt, marked the input as read to its end.
     */
    @Test
    @Tag("slow") // starts a broker and a JVM
    void anInterruptWhileSendingSaysTheLineItStoppedAfterNotTheEndOfTheFile(@TempDir Path dir) throws Exception {
        int lines = 300_000;
        Path file = dir.resolve("many.jsonl");
        try (java.io.BufferedWriter writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (int i = 0; i < lines; i++) {
                writer.write(EMOJI.replace("ü-🐶", "m-" + i));
                writer.newLine();
            }
        }
        try (InJvmKafka kafka = InJvmKafka.start()) {
            kafka.createTopic("in", 1);
            try (ServiceProcess send = ServiceProcess.start(List.of("send", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "in",
                    file.toString()), List.of(), Map.of(), dir.resolve("send.log"), Duration.ofMinutes(2))) {
                kafka.readCommitted("in", r -> r.size() >= 1000, Duration.ofSeconds(60));
                assertEquals(3, interrupt(send), send.output());
                assertFalse(send.output().contains("after the end of"), send.output());
                java.util.regex.Matcher said = java.util.regex.Pattern.compile("send interrupted after line (\\d+) of " + java.util.regex.Pattern.quote(file.toString())
                        + ": every line up to it was sent \\(or named above\\); to send the rest, run: tail -n \\+(\\d+) ").matcher(send.output());
                assertTrue(said.find(), send.output());
                int last = Integer.parseInt(said.group(1));
                assertTrue(last < lines, send.output());
                assertEquals(last + 1, Integer.parseInt(said.group(2)));
                java.util.regex.Matcher sent = java.util.regex.Pattern.compile("sent (\\d+) events to in").matcher(send.output());
                assertTrue(sent.find(), send.output());
                assertEquals(last, Integer.parseInt(sent.group(1)), "every line up to it was sent, and none after: " + send.output());
            }
        }
    }

    private static List<String> concat(List<String> args, String last) {
        List<String> all = new java.util.ArrayList<>(args);
        all.add(last);
        return all;
    }

    /** Sends SIGTERM, the input still open, and returns the exit code. */
    private static int interrupt(ServiceProcess process) throws InterruptedException {
        // Process.destroy would also close the child's standard input, which then ends before or
        // after the signal lands; the process handle only signals.
        process.process().toHandle().destroy();
        assertTrue(process.process().waitFor(60, TimeUnit.SECONDS), "ends on SIGTERM");
        return process.process().exitValue();
    }

    @Test
    void aMissingFileAndAnUnreachableClusterAreOneLineErrors(@TempDir Path dir) throws Exception {
        CliRun missing = CliRun.of("send", "--bootstrap-servers", "127.0.0.1:1", dir.resolve("nope.jsonl").toString());
        assertEquals(2, missing.exitCode());
        assertEquals("error: FILE = " + dir.resolve("nope.jsonl") + " does not exist", missing.err().strip());
        CliRun emptyTopic = CliRun.of("send", "--bootstrap-servers", "127.0.0.1:1", "--topic", "", dir.resolve("nope.jsonl").toString());
        assertEquals("error: --topic = '' is empty; give the topic, or leave --topic out for input.topic", emptyTopic.err().strip());
        CliRun empty = CliRun.of("send", "--bootstrap-servers", "127.0.0.1:1", "");
        assertEquals("error: FILE is empty; give a file of JSON lines, or - for standard input", empty.err().strip());
        CliRun folder = CliRun.of("send", "--bootstrap-servers", "127.0.0.1:1", dir.toString());
        assertEquals("error: FILE = " + dir + " is a folder, not a file of JSON lines", folder.err().strip());

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
    void linesEndWithNewlineOrCarriageReturnNewlineAndBlankOnesAreSkipped() throws Exception {
        List<SendCommand.Line> lines = lines("a\r\n\n  \nb\nc", 100).stream().filter(l -> !l.isBlank()).toList();
        assertEquals(List.of("a", "b", "c"), lines.stream().map(l -> new String(l.bytes(), StandardCharsets.UTF_8)).toList());
        assertEquals(List.of(1, 4, 5), lines.stream().map(SendCommand.Line::number).toList(), "numbered as an editor numbers them");
        assertEquals(List.of(), lines("", 100), "no line in an empty input");
        assertEquals(1, lines("a\n", 100).size(), "the last line end starts no line");
    }

    /** A line over the producer's limit keeps only the limit's bytes in memory, and its whole length is known. */
    @Test
    void aLineOverTheLimitIsCutButMeasured() throws Exception {
        List<SendCommand.Line> lines = lines("abcdefgh\r\nabcd\r\nabcde\n", 4);
        assertEquals(List.of(8L, 4L, 5L), lines.stream().map(SendCommand.Line::length).toList());
        assertEquals(List.of("abcd", "abcd", "abcd"), lines.stream().map(l -> new String(l.bytes(), StandardCharsets.US_ASCII)).toList());
        assertTrue(lines.get(0).bytes().length < lines.get(0).length() && lines.get(1).bytes().length == lines.get(1).length());
        assertTrue(!lines.get(0).isBlank() && !lines("        \n", 4).get(0).isBlank(), "a cut line is not taken for blank");
    }

    /**
     * A line whose send timed out may be on the topic all the same (the broker wrote it and its
     * answer was lost, as when the broker stalls): it is named as maybe sent, not as not sent,
     * and the interrupt's resume starts at it. One refused by the producer before it left is not sent.
     */
    @Test
    void aTimedOutLineIsMaybeSentAndARefusedOneIsNotSent() {
        SendCommand.Progress progress = new SendCommand.Progress();
        for (int line = 1; line <= 4; line++) {
            assertTrue(progress.handOver(line, false));
            progress.handedOver();
        }
        progress.acknowledged(1, null);
        progress.acknowledged(2, new org.apache.kafka.common.errors.TimeoutException("Disconnected from node 1 due to timeout"));
        progress.notSent(3, "buffer full");
        SendCommand.Progress.Outcome outcome = progress.outcome();
        assertEquals(java.util.Map.of(2, "Disconnected from node 1 due to timeout"), outcome.uncertain());
        assertEquals(java.util.Map.of(3, "buffer full"), outcome.failures());
        assertEquals(2, outcome.unacknowledged(), "line 4 is unanswered too; the first of the two is where a resume starts");
        assertEquals(1, outcome.sent());
        assertTrue(!outcome.allSent() && !outcome.ended());
        progress.acknowledged(4, null);
        progress.ended();
        assertTrue(progress.outcome().ended() && progress.outcome().unacknowledged() == 2);
        assertTrue(progress.stop(), "the first to stop the sending reports it");
        assertTrue(!progress.handOver(5, false), "no line is handed over once interrupted");
    }

    private static List<SendCommand.Line> lines(String text, int maxBytes) throws java.io.IOException {
        SendCommand.LineReader reader = new SendCommand.LineReader(new java.io.ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), maxBytes);
        List<SendCommand.Line> lines = new java.util.ArrayList<>();
        for (SendCommand.Line line = reader.next(); line != null; line = reader.next()) {
            lines.add(line);
        }
        return lines;
    }
}
