package io.explainstream.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.explainstream.avro.Utf8Text;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Produces events to the service's input topic, one per line of a JSON-lines file: the way to try
 * the service on one's own traffic without another Kafka client. Each line is sent as it is, so a
 * malformed line reaches the service and its dead-letter topic, as it would from a real producer.
 */
@Command(name = "send", mixinStandardHelpOptions = true,
        description = "Send events to the input topic, one JSON object per line of FILE (or standard input with -), keyed by event_id.")
final class SendCommand implements Callable<Integer> {

    /**
     * Reads a line's top-level fields one by one, each event_id counted (a duplicate other field is
     * the service's to refuse). Without the JSON reader's limits on names, numbers and nesting: a
     * line past them is still an object with one event_id (the service dead-letters it, saying
     * which limit), and its key finds that dead letter; read field by field, skipping what is inside,
     * nothing here grows with them.
     */
    private static final JsonFactory JSON = JsonFactory.builder().streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
            .maxNameLength(Integer.MAX_VALUE).maxNumberLength(Integer.MAX_VALUE).maxNestingDepth(Integer.MAX_VALUE).build()).build();

    @Parameters(index = "0", paramLabel = "FILE", description = "JSON lines, one event each; - reads standard input. Blank lines are skipped.")
    private String file;

    @Option(names = "--topic", description = "The topic (default: input.topic of --config, else llm-interactions).")
    private String topic;

    @Option(names = "--timeout", defaultValue = "30", description = "Seconds to wait for the broker's acknowledgement of each event (the check of"
            + " the cluster at the start waits at most 10 s of it). Default: ${DEFAULT-VALUE}.")
    private int timeoutSeconds;

    @Mixin
    private ClusterOptions cluster;

    @Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (timeoutSeconds <= 0) {
            throw new IllegalArgumentException("--timeout = " + timeoutSeconds + " must be a positive number of seconds");
        }
        ServiceConfig config = cluster.config("send writes to an existing cluster");
        if (topic != null && topic.isBlank()) {
            throw new IllegalArgumentException("--topic = '" + topic + "' is empty; give the topic, or leave --topic out for " + Setting.INPUT_TOPIC.key());
        }
        String target = topic != null ? topic : config.get(Setting.INPUT_TOPIC);
        refuseServiceOutput(config, target);
        Map<String, String> clients = config.clientSettings();
        // The producer's default (1 MiB with the record's framing) is smaller than an event at limits.event.bytes.
        clients.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(config.inputRecordBytes()));
        // Until the sending starts, an interrupt has nothing to wait for, but says so.
        Thread beforeSending = new Thread(() -> {
            spec.commandLine().getErr().println("send interrupted before any line was sent");
            spec.commandLine().getErr().flush();
            Runtime.getRuntime().halt(3);
        }, "explainstream-send-stop");
        Runtime.getRuntime().addShutdownHook(beforeSending);
        try (InputStream input = open(file)) {
            // Checked first, as tail does: an unreachable broker is one line, not a minute of client warnings.
            java.time.Duration check = java.time.Duration.ofSeconds(Math.min(timeoutSeconds, 10));
            ClusterCheck.broker(clients, check);
            if (!ClusterCheck.topicExists(clients, target, check)) {
                // A topic the broker auto-creates gets its defaults (often one partition), not the
                // service's topics.partitions, and the service would then keep it: one instance forever.
                throw new IllegalArgumentException((topic != null ? "--topic = " : Setting.INPUT_TOPIC.key() + " = ") + target + ": no such topic on "
                        + clients.get("bootstrap.servers") + "; start the service first (it creates " + Setting.INPUT_TOPIC.key() + " with "
                        + Setting.TOPICS_PARTITIONS.key() + " partitions), or create the topic");
            }
            int maxRequestBytes = Integer.parseInt(clients.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG));
            try (KafkaProducer<byte[], byte[]> producer = KafkaClients.producer(clients, timeoutSeconds * 1000)) {
                removeHook(beforeSending);
                return stream(new LineReader(input, maxRequestBytes), producer, target, maxRequestBytes);
            }
        } finally {
            removeHook(beforeSending);
        }
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // shutting down already: the hook reports and sets the exit status
        }
    }

    /**
     * Sends each line as it is read, so that a producer piping events in sees them on the topic at
     * once and a file of any size takes no more memory than one line. An interrupt (Ctrl-C,
     * SIGTERM) stops the reading, waits for the broker to acknowledge what was sent, and says up to
     * which line the input went out; a count alone, or nothing, would leave the user guessing which
     * events to send again.
     */
    private int stream(LineReader lines, KafkaProducer<byte[], byte[]> producer, String target, int maxRequestBytes)
            throws IOException, InterruptedException {
        Progress progress = new Progress();
        // An interrupt ends the JVM once its shutdown hooks return, so the hook either reports
        // itself or, when the input ended first (a pipe's writer interrupted by the same Ctrl-C),
        // waits for the report of the reading thread and exits with its status (not 130 or 143).
        CountDownLatch reported = new CountDownLatch(1);
        AtomicInteger status = new AtomicInteger(3);
        Thread hook = new Thread(() -> {
            if (progress.stop()) {
                // The line being handed to the producer is in its buffer before the flush, so that
                // the flush waits for it too (unless the producer blocks, its buffer full of
                // records for a broker gone: such a line is reported as maybe sent).
                progress.awaitHandOver(timeoutSeconds * 1000L);
                producer.flush();
                Runtime.getRuntime().halt(report(progress, target, true));
            }
            try {
                reported.await(timeoutSeconds + 5L, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Runtime.getRuntime().halt(status.get());
        }, "explainstream-send-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            boolean stopped = false;
            for (Line line = lines.next(); line != null; line = lines.next()) {
                if (line.isBlank()) {
                    progress.skipped(line.number());
                } else if (line.bytes().length < line.length()) {
                    progress.refused(line.number(), "it is " + line.length() + " bytes, over the producer's " + ProducerConfig.MAX_REQUEST_SIZE_CONFIG
                            + " = " + maxRequestBytes + " bytes");
                } else {
                    byte[] key = eventId(line.bytes());
                    if (!progress.handOver(line.number(), key == null)) {
                        stopped = true; // interrupted: the hook reports
                        break;
                    }
                    try {
                        send(producer, new ProducerRecord<>(target, key, line.bytes()), line.number(), progress);
                    } finally {
                        progress.handedOver();
                    }
                }
            }
            if (!stopped) {
                // Only a loop that ran out of lines has read the input to its end: left on the
                // interrupt, it made the report say "every line was sent" of 18,861 lines in 300,000.
                progress.ended();
            }
            producer.flush();
            if (!progress.finish()) {
                new CountDownLatch(1).await(); // interrupted meanwhile: the hook reports and ends the JVM
            }
            status.set(report(progress, target, false));
            reported.countDown();
            return status.get();
        } finally {
            removeHook(hook);
        }
    }

    /** Says what was sent (and, interrupted, up to which line); returns the exit status. */
    private int report(Progress progress, String target, boolean interrupted) {
        Progress.Outcome outcome = progress.outcome();
        PrintWriter out = spec.commandLine().getOut();
        out.println("sent " + (outcome.allSent() ? "" : outcome.sent() + " of ") + outcome.tried() + " event" + (outcome.tried() == 1 ? "" : "s")
                + " to " + target + (outcome.keyless() > 0 ? " (" + outcome.keyless() + " without a key: not a JSON object with one event_id)" : ""));
        out.flush();
        // Every line that did not reach the topic is named: a count alone would hide which events are missing.
        PrintWriter err = spec.commandLine().getErr();
        outcome.failures().forEach((number, reason) -> err.println("error: line " + number + " was not sent: " + reason));
        outcome.uncertain().forEach((number, reason) -> err.println("error: line " + number + " may or may not be on the topic (the broker's"
                + " answer did not come: " + reason + "); sending it again may send it twice"));
        if (interrupted) {
            err.println(interruption(outcome));
        }
        err.flush();
        return interrupted ? 3 : outcome.allSent() ? 0 : 2;
    }

    /** Where the input stopped, and for a file the command that sends the rest. */
    private String interruption(Progress.Outcome outcome) {
        boolean stdin = file.equals("-");
        String input = stdin ? "standard input" : file;
        if (outcome.ended() && outcome.unacknowledged() == 0) {
            return "send interrupted after the end of " + input + ": every line was sent (or named above)";
        }
        if (outcome.lastLine() == 0) {
            return "send interrupted before any line of " + input + " was read";
        }
        String said = "send interrupted after line " + outcome.lastLine() + " of " + input + ": ";
        int next = outcome.unacknowledged() > 0 ? outcome.unacknowledged() : outcome.lastLine() + 1;
        String done = outcome.unacknowledged() > 0
                ? "line " + next + " and perhaps some after it may or may not be on the topic (sending them again may send some twice)"
                : "every line up to it was sent (or named above)";
        String rest = stdin ? "; the lines after it were not sent"
                : "; to send the rest, run: tail -n +" + next + " " + ShellWords.quoted(file) + " | " + ShellWords.commandLine(resumeArgs());
        return said + done + rest;
    }

    /** The arguments given, with standard input in place of the file. */
    private List<String> resumeArgs() {
        List<String> given = new ArrayList<>(spec.commandLine().getParseResult().originalArgs());
        if (given.isEmpty() || !given.get(0).equals("send")) {
            given.add(0, "send");
        }
        int at = given.lastIndexOf(file);
        if (at >= 0) {
            given.set(at, "-");
        } else {
            given.add("-");
        }
        return given;
    }

    /**
     * The service's own topics take its records, not logged events: a line sent there would sit
     * among the explanations, where every consumer has to step over it.
     */
    private void refuseServiceOutput(ServiceConfig config, String target) {
        String instead = "; send writes logged events, which go to " + Setting.INPUT_TOPIC.key() + " (" + config.get(Setting.INPUT_TOPIC) + ")";
        for (Setting setting : List.of(Setting.OUTPUT_TOPIC, Setting.DLQ_TOPIC, Setting.STATS_TOPIC, Setting.ALERTS_TOPIC)) {
            if (config.get(setting).equals(target)) {
                throw new IllegalArgumentException("--topic = " + target + " is the service's " + setting.key() + instead);
            }
        }
        String replays = io.explainstream.stream.service.ReplayRunner.DEFAULT_OUTPUT_TOPIC;
        if (target.equals(replays) || target.equals(replays + "-dlq")) {
            throw new IllegalArgumentException("--topic = " + target + " is where replays write" + instead);
        }
        if (target.equals(config.get(Setting.INPUT_TOPIC))) {
            return; // whatever its name: "explainstream-events" starts like an internal topic and is not one
        }
        // Kafka Streams names its internal topics after the application id and ends them in
        // -changelog or -repartition; the statistics' observations and skip notices topics are the service's own.
        String applicationId = config.streamsProperties().getProperty("application.id");
        if (target.startsWith(applicationId + "-") && (target.endsWith("-changelog") || target.endsWith("-repartition")
                || target.equals(config.statsObservationsTopic()) || target.equals(config.skipNoticesTopic()))) {
            throw new IllegalArgumentException("--topic = " + target + " is an internal topic of the service (application.id = " + applicationId + ")"
                    + instead);
        }
        if (target.startsWith("_")) {
            throw new IllegalArgumentException("--topic = " + target + " is an internal topic of Kafka or of the schema registry" + instead);
        }
    }

    /** A record the producer refuses at once never left this process; the broker's answer, or its absence, comes to the callback. */
    private static void send(KafkaProducer<byte[], byte[]> producer, ProducerRecord<byte[], byte[]> record, int number, Progress progress) {
        try {
            producer.send(record, (metadata, error) -> progress.acknowledged(number, error));
        } catch (KafkaException e) {
            progress.notSent(number, e.getMessage()); // refused before it left this process
        }
    }

    /** The file, or standard input for -; a line that is not UTF-8 is sent as it is, to be dead-lettered with its reason. */
    private static InputStream open(String file) {
        if (file.equals("-")) {
            return new java.io.FilterInputStream(System.in) {
                @Override
                public void close() {
                    // standard input is the JVM's, not ours to close
                }
            };
        }
        if (file.isEmpty()) {
            throw new IllegalArgumentException("FILE is empty; give a file of JSON lines, or - for standard input");
        }
        Path path = Path.of(file);
        if (Files.isDirectory(path)) {
            throw new IllegalArgumentException("FILE = " + file + " is a folder, not a file of JSON lines");
        }
        try {
            return Files.newInputStream(path);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("FILE = " + file + " does not exist");
        } catch (IOException e) {
            throw new IllegalArgumentException("FILE = " + file + " cannot be read: " + e.getMessage());
        }
    }

    /**
     * A line of the input: its number (from 1, blank lines counted, as an editor numbers them), its
     * bytes without the line end, and its length; a line longer than the reader's limit keeps only
     * the limit's bytes, as no producer would take it.
     */
    record Line(int number, byte[] bytes, long length) {

        boolean isBlank() {
            return bytes.length == length && new String(bytes, StandardCharsets.UTF_8).isBlank();
        }
    }

    /** Reads lines as they arrive (\n or \r\n ends them), without waiting for the end of the input. */
    static final class LineReader {

        private final InputStream in;
        private final int maxBytes;
        private int number;

        LineReader(InputStream in, int maxBytes) {
            this.in = in.markSupported() ? in : new BufferedInputStream(in, 1 << 16);
            this.maxBytes = maxBytes;
        }

        /** The next line, or null at the end of the input. */
        Line next() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            long length = 0;
            int b = in.read();
            if (b < 0) {
                return null;
            }
            int last = -1;
            for (; b >= 0 && b != '\n'; b = in.read()) {
                if (length++ < maxBytes + 1L) {
                    line.write(b); // one byte past the limit, so that a \r at the limit is still taken off
                }
                last = b;
            }
            byte[] bytes = line.toByteArray();
            if (last == '\r') {
                length--;
                bytes = bytes.length > length ? Arrays.copyOf(bytes, (int) length) : bytes;
            }
            if (bytes.length > maxBytes) {
                bytes = Arrays.copyOf(bytes, maxBytes);
            }
            return new Line(++number, bytes, length);
        }
    }

    /**
     * What has become of the lines read so far. The reading thread, the producer's callbacks and an
     * interrupt update it from their own threads; only lines handed over and not yet answered by the
     * broker are remembered, so an endless input takes no more memory than its failures.
     */
    static final class Progress {

        private enum State { RUNNING, STOPPED, FINISHED }

        private State state = State.RUNNING;
        private int lastLine;
        private int tried;
        private int sent;
        private int keyless;
        private boolean handingOver;
        private final java.util.TreeSet<Integer> pending = new java.util.TreeSet<>();
        private final SortedMap<Integer, String> failures = new TreeMap<>();
        private final SortedMap<Integer, String> uncertain = new TreeMap<>();
        private boolean ended;

        /**
         * What happened, at one moment: the last line read, whether the input ended, the first
         * line whose fate is not known (0: none), the lines refused, and those whose send timed
         * out, which the broker may have written all the same.
         */
        record Outcome(int lastLine, boolean ended, int tried, int sent, int keyless, int unacknowledged, SortedMap<Integer, String> failures,
                SortedMap<Integer, String> uncertain) {

            boolean allSent() {
                return failures.isEmpty() && uncertain.isEmpty() && unacknowledged == 0;
            }
        }

        synchronized void skipped(int number) {
            lastLine = number;
        }

        synchronized void refused(int number, String reason) {
            lastLine = number;
            tried++;
            failures.put(number, reason);
        }

        /** False once interrupted: the line must not be sent, as the report is being written. */
        synchronized boolean handOver(int number, boolean withoutKey) {
            if (state == State.STOPPED) {
                return false;
            }
            lastLine = number;
            tried++;
            keyless += withoutKey ? 1 : 0;
            pending.add(number);
            handingOver = true;
            return true;
        }

        /** The line handed over is with the producer (or failed). */
        synchronized void handedOver() {
            handingOver = false;
            notifyAll();
        }

        /** Waits until no line is half handed over, at most {@code timeoutMs}. */
        synchronized void awaitHandOver(long timeoutMs) {
            long deadline = System.currentTimeMillis() + timeoutMs;
            try {
                for (long left = timeoutMs; handingOver && left > 0; left = deadline - System.currentTimeMillis()) {
                    wait(left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /**
         * The producer's answer for a line. A timeout or a lost connection leaves the line's fate
         * unknown (the broker may have written it before the answer was lost): such a line is
         * named as maybe sent, not as not sent, which would invite a duplicate.
         */
        synchronized void acknowledged(int number, Exception error) {
            pending.remove(number);
            if (error == null) {
                sent++;
            } else if (error instanceof org.apache.kafka.common.errors.RetriableException) {
                uncertain.put(number, error.getMessage());
            } else {
                failures.put(number, error.getMessage());
            }
        }

        synchronized void notSent(int number, String reason) {
            pending.remove(number);
            failures.put(number, reason);
        }

        /** The reading reached the end of the input. */
        synchronized void ended() {
            ended = true;
        }

        /** True when the interrupt is the first to end the sending, and so reports it. */
        synchronized boolean stop() {
            boolean first = state == State.RUNNING;
            state = first ? State.STOPPED : state;
            return first;
        }

        /** True when the input ended before any interrupt. */
        synchronized boolean finish() {
            boolean first = state == State.RUNNING;
            state = first ? State.FINISHED : state;
            return first;
        }

        synchronized Outcome outcome() {
            int unknown = Math.min(pending.isEmpty() ? Integer.MAX_VALUE : pending.first(), uncertain.isEmpty() ? Integer.MAX_VALUE : uncertain.firstKey());
            return new Outcome(lastLine, ended, tried, sent, keyless, unknown == Integer.MAX_VALUE ? 0 : unknown, new TreeMap<>(failures),
                    new TreeMap<>(uncertain));
        }
    }

    /**
     * The record key: the event's event_id when the line is a JSON object with exactly one, as the
     * service keys its output. With event_id twice the event has no one id, so the line goes without
     * a key; another field twice (the service dead-letters the event) keeps its key, so that its dead
     * letter finds the event (a hostile test: such lines were sent keyless). An id with a lone
     * surrogate (a {@code \\ud800} escape) has no UTF-8 form: encoded, it became another id ({@code ?}
     * in its place), so it is sent without a key (the service dead-letters it). So is a line that is
     * not all UTF-8: Jackson reads an overlong form ({@code C0 AF}) as the character it spells, which
     * made another, valid-looking id.
     */
    private static byte[] eventId(byte[] line) {
        if (Utf8Text.firstInvalid(line).isPresent()) {
            return null;
        }
        try (JsonParser parser = JSON.createParser(line)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            String id = null;
            int ids = 0;
            JsonToken token;
            while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
                boolean isId = "event_id".equals(parser.currentName());
                JsonToken value = parser.nextToken();
                if (isId) {
                    ids++;
                    id = value == JsonToken.VALUE_STRING ? parser.getText() : null;
                }
                parser.skipChildren();
            }
            boolean oneId = token == JsonToken.END_OBJECT && ids == 1 && id != null;
            return oneId && Utf8Text.loneSurrogateIndex(id) < 0 ? id.getBytes(StandardCharsets.UTF_8) : null;
        } catch (IOException e) {
            return null;
        }
    }
}
