package io.explainstream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
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

    private static final ObjectMapper JSON = new ObjectMapper();

    @Parameters(index = "0", paramLabel = "FILE", description = "JSON lines, one event each; - reads standard input. Blank lines are skipped.")
    private String file;

    @Option(names = "--topic", description = "The topic (default: input.topic of --config, else llm-interactions).")
    private String topic;

    @Option(names = "--timeout", defaultValue = "30", description = "Seconds to wait for the cluster before giving up. Default: ${DEFAULT-VALUE}.")
    private int timeoutSeconds;

    @Mixin
    private ClusterOptions cluster;

    @Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (timeoutSeconds <= 0) {
            throw new IllegalArgumentException("--timeout = " + timeoutSeconds + " must be a positive number of seconds");
        }
        ServiceConfig config = cluster.config("send writes to an existing cluster");
        String target = topic != null ? topic : config.get(Setting.INPUT_TOPIC);
        refuseServiceOutput(config, target);
        Map<String, String> clients = config.clientSettings();
        // The producer's default (1 MiB with the record's framing) is smaller than an event at limits.event.bytes.
        clients.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(config.inputRecordBytes()));
        List<Line> events = lines(read(file));
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
        int keyless = 0;
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = KafkaClients.producer(clients, timeoutSeconds * 1000)) {
            for (Line line : events) {
                byte[] key = eventId(line.bytes());
                keyless += key == null ? 1 : 0;
                acks.add(send(producer, new ProducerRecord<>(target, key, line.bytes())));
            }
            producer.flush();
        }
        List<String> failures = failures(events, acks);
        int sent = events.size() - failures.size();
        spec.commandLine().getOut().println("sent " + (failures.isEmpty() ? "" : sent + " of ") + events.size() + " event"
                + (events.size() == 1 ? "" : "s") + " to " + target + (keyless > 0 ? " (" + keyless + " without an event_id, sent without a key)" : ""));
        if (failures.isEmpty()) {
            return 0;
        }
        // Every line that did not reach the topic is named: a count alone would hide which events are missing.
        PrintWriter err = spec.commandLine().getErr();
        failures.forEach(failure -> err.println("error: " + failure));
        err.flush();
        return 2;
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
        // -changelog or -repartition; the statistics' observations topic is the service's own.
        String applicationId = config.streamsProperties().getProperty("application.id");
        if (target.startsWith(applicationId + "-") && (target.endsWith("-changelog") || target.endsWith("-repartition")
                || target.equals(applicationId + "-stats-observations"))) {
            throw new IllegalArgumentException("--topic = " + target + " is an internal topic of the service (application.id = " + applicationId + ")"
                    + instead);
        }
        if (target.startsWith("_")) {
            throw new IllegalArgumentException("--topic = " + target + " is an internal topic of Kafka or of the schema registry" + instead);
        }
    }

    /** A record the producer refuses at once (too large, say) fails like one the broker refuses. */
    private static Future<RecordMetadata> send(KafkaProducer<byte[], byte[]> producer, ProducerRecord<byte[], byte[]> record) {
        try {
            return producer.send(record);
        } catch (KafkaException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** One line per event that was not written, with its line number and the producer's reason. */
    private static List<String> failures(List<Line> events, List<Future<RecordMetadata>> acks) {
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < acks.size(); i++) {
            try {
                acks.get(i).get();
            } catch (ExecutionException e) {
                failures.add("line " + events.get(i).number() + " was not sent: " + e.getCause().getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failures.add("line " + events.get(i).number() + ": interrupted before the broker acknowledged it");
            }
        }
        return failures;
    }

    /** The file's bytes as they are: a line that is not UTF-8 is sent as it is, to be dead-lettered with its reason. */
    private static byte[] read(String file) throws IOException {
        if (file.equals("-")) {
            return System.in.readAllBytes();
        }
        try {
            return Files.readAllBytes(Path.of(file));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("FILE = " + file + " does not exist");
        } catch (IOException e) {
            throw new IllegalArgumentException("FILE = " + file + " cannot be read: " + e.getMessage());
        }
    }

    /** A line of the file: its number (from 1, blank lines counted) and its bytes without the line end. */
    record Line(int number, byte[] bytes) {}

    /** The non-blank lines, without their line ends (\n or \r\n). */
    static List<Line> lines(byte[] bytes) {
        List<Line> lines = new ArrayList<>();
        int start = 0;
        int number = 1;
        for (int i = 0; i <= bytes.length; i++) {
            if (i == bytes.length || bytes[i] == '\n') {
                int end = i > start && bytes[i - 1] == '\r' ? i - 1 : i;
                byte[] line = Arrays.copyOfRange(bytes, start, end);
                if (!new String(line, StandardCharsets.UTF_8).isBlank()) {
                    lines.add(new Line(number, line));
                }
                start = i + 1;
                number++;
            }
        }
        return lines;
    }

    /** The record key: the event's event_id when the line is a JSON object with one, as the service keys its output. */
    private static byte[] eventId(byte[] line) {
        try {
            JsonNode event = JSON.readTree(line);
            JsonNode id = event == null ? null : event.get("event_id");
            return id != null && id.isTextual() ? id.asText().getBytes(StandardCharsets.UTF_8) : null;
        } catch (IOException e) {
            return null;
        }
    }
}
