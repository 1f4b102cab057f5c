package io.explainstream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
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
        Map<String, String> clients = new HashMap<>();
        config.streamsProperties().forEach((key, value) -> clients.put(key.toString(), value.toString()));
        List<byte[]> events = lines(read(file));
        // Checked first, as tail does: an unreachable broker is one line, not a minute of client warnings.
        ClusterCheck.broker(clients, java.time.Duration.ofSeconds(Math.min(timeoutSeconds, 10)));
        int sent = 0;
        int keyless = 0;
        Future<RecordMetadata> last = null;
        try (KafkaProducer<byte[], byte[]> producer = KafkaClients.producer(clients, timeoutSeconds * 1000)) {
            for (byte[] line : events) {
                byte[] key = eventId(line);
                keyless += key == null ? 1 : 0;
                last = producer.send(new ProducerRecord<>(target, key, line));
                sent++;
            }
            producer.flush();
            if (last != null) {
                last.get();
            }
        } catch (ExecutionException e) {
            throw new IllegalArgumentException("could not send to " + target + " at " + clients.get("bootstrap.servers") + ": " + e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            throw new IllegalArgumentException("could not reach the cluster at " + clients.get("bootstrap.servers") + " within " + timeoutSeconds
                    + " s: " + e.getMessage());
        }
        spec.commandLine().getOut().println("sent " + sent + " event" + (sent == 1 ? "" : "s") + " to " + target
                + (keyless > 0 ? " (" + keyless + " without an event_id, sent without a key)" : ""));
        return 0;
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

    /** The non-blank lines, without their line ends (\n or \r\n). */
    static List<byte[]> lines(byte[] bytes) {
        List<byte[]> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= bytes.length; i++) {
            if (i == bytes.length || bytes[i] == '\n') {
                int end = i > start && bytes[i - 1] == '\r' ? i - 1 : i;
                byte[] line = Arrays.copyOfRange(bytes, start, end);
                if (!new String(line, StandardCharsets.UTF_8).isBlank()) {
                    lines.add(line);
                }
                start = i + 1;
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
