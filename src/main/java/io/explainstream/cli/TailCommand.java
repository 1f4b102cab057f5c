package io.explainstream.cli;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.RegistryException;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.render.ExplanationJson;
import io.explainstream.render.ExplanationViews;
import io.explainstream.render.TerminalHeatmap;
import io.explainstream.render.TokenText;
import io.explainstream.schema.AuditAlert;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.stats.AvroJson;
import io.explainstream.stats.StatsText;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.config.KeptPositions;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import io.explainstream.stream.output.DeadLetter;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A dashboard-style consumer: prints each explanation of any cluster and registry, as a heatmap
 * for people or as one JSON object per line for {@code jq}.
 */
@Command(name = "tail", mixinStandardHelpOptions = true,
        description = "Print explanations as they arrive: top tokens, delta, latency (read_committed); with --stats or --alerts, the window statistics or"
                + " alerts; with --dead-letters, the dead letters and their reasons.")
final class TailCommand implements Callable<Integer> {

    /** Output formats: lower case, as typed on the command line. */
    enum Format { text, json }

    @Option(names = "--topic", description = "Explanations topic (default: output.topic of --config, else explanations), or with --dead-letters the"
            + " dead-letter topic (default: dlq.topic); not with --stats or --alerts, which read stats.topic and alerts.topic of --config.")
    private String topic;

    @Mixin
    private ClusterOptions cluster;



    @Option(names = "--from-beginning", description = "Start at the oldest explanation instead of new ones only.")
    private boolean fromBeginning;

    @Option(names = "--max", description = "Stop after this many explanations (at least 1).")
    private Integer max;

    @Option(names = "--timeout", description = "Stop after this many seconds, at least 1 (default: run until Ctrl-C).")
    private Integer timeoutSeconds;

    @Option(names = "--format", defaultValue = "text",
            description = "text (a heatmap line per explanation) or json (one object per line: the Avro record's fields, for jq). Default: ${DEFAULT-VALUE}.")
    private Format format;

    @Option(names = "--no-color", description = "Plain text.")
    private boolean noColor;

    @Option(names = "--stats", description = "Print the window statistics (stats.topic) instead of explanations: one line per window update.")
    private boolean stats;

    @Option(names = "--alerts", description = "Print the alerts (alerts.topic) instead of explanations; with --stats, both.")
    private boolean alerts;

    @Option(names = "--dead-letters", description = "Print the dead letters (dlq.topic, or --topic) instead of explanations: key, stage, source"
            + " position and time, the reason, and the start of the original value (JSON: all of it).")
    private boolean deadLetters;

    @Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    /** How many skipped records are named on stderr one by one; the rest are only counted. */
    private static final int SKIP_NOTES = 5;

    /** When --timeout ends the command ({@link System#nanoTime()}); set at the start of {@link #call}. */
    private long deadline;

    @Override
    public Integer call() {
        checkOptions();
        deadline = timeoutSeconds == null ? Long.MAX_VALUE : System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
        ServiceConfig config = cluster.config("tail reads an existing cluster");
        String explanations = topic != null ? topic : config.get(Setting.OUTPUT_TOPIC);
        Map<String, String> clients = new java.util.HashMap<>(config.clientSettings());
        // While the broker is gone the client warns at every attempt to connect, three a second:
        // backing off from 1 s to 10 s keeps that to a few lines and then one every 10 s, and tail says
        // it once itself (ClusterWatch).
        clients.putIfAbsent(ClusterWatch.RECONNECT_BACKOFF, "1000");
        clients.putIfAbsent(ClusterWatch.RECONNECT_BACKOFF_MAX, "10000");
        PrintWriter out = spec.commandLine().getOut();
        // A consumer retries an unreachable broker for ever, logging as it goes, and a record the
        // registry cannot decode would end in a stack trace: both are checked before the first poll.
        ClusterCheck.broker(clients, checkTimeout());
        if (deadLetters) {
            // Dead letters are the original bytes with headers: no registry needed to read them.
            String dlq = topic != null ? topic : config.get(Setting.DLQ_TOPIC);
            return awaitOrRefuse(clients, dlq, Setting.DLQ_TOPIC) ? tailDeadLetters(dlq, clients, out) : 0;
        }
        ClusterCheck.registry(config.registryConfig(), checkTimeout());
        SchemaRegistryClient registry = new SchemaRegistryClient(config.registryConfig());
        try {
            if (stats || alerts) {
                return tailStats(config, registry, clients, out);
            }
            if (!awaitOrRefuse(clients, explanations, Setting.OUTPUT_TOPIC)) {
                return 0; // --timeout passed first: nothing to print, as when no explanation arrives
            }
            return tailExplanations(config, explanations, clients, out);
        } catch (RegistryException e) {
            throw ClusterCheck.registryFailure(registry, e);
        }
    }

    /**
     * Whether the topic exists, waiting for it where it is the service's own ({@code setting}, which
     * the service creates when it starts: tail may well be started first) until --timeout; a
     * --topic that does not exist is refused.
     */
    private boolean awaitOrRefuse(Map<String, String> clients, String name, Setting setting) {
        if (ClusterCheck.topicExists(clients, name, checkTimeout())) {
            return true;
        }
        if (topic != null) {
            throw new IllegalArgumentException("--topic = " + topic + ": no such topic on " + clients.get("bootstrap.servers"));
        }
        spec.commandLine().getErr().println("tail: " + setting.key() + " = " + name + " does not exist yet on " + clients.get("bootstrap.servers")
                + "; waiting for the service to create it");
        spec.commandLine().getErr().flush();
        return awaitTopic(clients, name);
    }

    /** Values picocli's types let through but tail cannot honour: each fails naming the option and value. */
    private void checkOptions() {
        if (max != null && max < 1) {
            throw new IllegalArgumentException("--max = " + max + " must be at least 1 (leave it out to print until --timeout or Ctrl-C)");
        }
        if (timeoutSeconds != null && timeoutSeconds < 1) {
            throw new IllegalArgumentException("--timeout = " + timeoutSeconds + " must be at least 1 second (leave it out to run until Ctrl-C)");
        }
        if (topic != null && topic.isBlank()) {
            throw new IllegalArgumentException("--topic is empty: give the explanations topic, or leave it out for output.topic of --config");
        }
        if (deadLetters && (stats || alerts)) {
            throw new IllegalArgumentException("--dead-letters prints the dead letters, --stats and --alerts the statistics topics: give one of them");
        }
        if (topic != null && (stats || alerts)) {
            // The statistics and alerts topics are the service's own (stats.topic, alerts.topic): a
            // --topic here would be ignored, and the user left reading something else than asked.
            throw new IllegalArgumentException("--topic = " + topic + ": --topic chooses the explanations topic, which --stats and --alerts do not read;"
                    + " they read stats.topic and alerts.topic of --config (set those there)");
        }
    }

    /** How long the broker may take to answer before tail gives up: at most 10 s, and never past --timeout. */
    private Duration checkTimeout() {
        Duration limit = Duration.ofSeconds(10);
        return timeoutSeconds == null || timeoutSeconds >= limit.toSeconds() ? limit : Duration.ofSeconds(timeoutSeconds);
    }

    /**
     * Asks the broker once a second until the topic exists; false when --timeout passes first. A
     * consumer subscribed to a missing topic would log a warning at every metadata refresh.
     */
    private boolean awaitTopic(Map<String, String> clients, String name) {
        while (!ClusterCheck.topicExists(clients, name, checkTimeout())) {
            if (System.nanoTime() + Duration.ofSeconds(1).toNanos() >= deadline) {
                return false;
            }
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    private int tailExplanations(ServiceConfig config, String explanations, Map<String, String> clients, PrintWriter out) {
        TerminalHeatmap heatmap = new TerminalHeatmap(!noColor && TerminalHeatmap.colorByDefault());
        AtomicInteger printed = new AtomicInteger();
        AtomicInteger skipped = new AtomicInteger();
        PrintWriter err = spec.commandLine().getErr();
        ClusterWatch watch = new ClusterWatch("tail", clients.get("bootstrap.servers"), err);
        try (ExplanationFeed feed = new ExplanationFeed(clients, config.registryConfig(), List.of(explanations), fromBeginning)) {
            // A reader that went away (tail | head) ends the command: Main says the output was lost.
            while ((max == null || printed.get() < max) && System.nanoTime() < deadline && !out.checkError()) {
                feed.check(watch);
                feed.poll(Duration.ofMillis(250), explanations, (record, problem) -> {
                    // Stepped over, as the dashboard and diff do: stopping here would hide every explanation after it.
                    int count = skipped.incrementAndGet();
                    if (count <= SKIP_NOTES) {
                        err.println("tail: skipped the record at partition " + record.partition() + ", offset " + record.offset() + " of " + explanations
                                + ": not an explanation (" + TokenText.visible(problem) + ")"
                                + (count == SKIP_NOTES ? "; further ones are skipped without a note" : ""));
                        err.flush();
                    }
                }, (record, explanation) -> {
                    if (max != null && printed.get() >= max) {
                        return;
                    }
                    if (format == Format.json) {
                        out.println(ExplanationJson.line(explanation));
                    } else {
                        String extra = String.format(Locale.ROOT, "%s · %d steps · batch of %d in %.0f ms", explanation.getModelId(),
                                explanation.getSteps(), explanation.getBatchSize(), explanation.getAttributionLatencyMs());
                        String shares = ExplanationViews.segmentShares(ExplanationViews.summary(explanation), 4);
                        if (!shares.isEmpty()) {
                            extra += "\n  segments: " + shares;
                        }
                        out.print(heatmap.compact(explanation.getEventId(), ExplanationViews.toAttribution(explanation), ExplanationViews.source(explanation),
                                extra));
                    }
                    out.flush();
                    printed.incrementAndGet();
                }, record -> { });
            }
        }
        if (skipped.get() > 0) {
            err.println("tail: skipped " + skipped.get() + " record" + (skipped.get() == 1 ? "" : "s") + " of " + explanations
                    + " that " + (skipped.get() == 1 ? "is not an explanation" : "are not explanations"));
        }
        return 0;
    }

    /** Dead letters as they arrive: a short block each, or one JSON object per line. */
    private int tailDeadLetters(String dlq, Map<String, String> clients, PrintWriter out) {
        printRecords(clients, List.of(dlq), "dead letters", record -> {
            DeadLetter letter = DeadLetter.of(record);
            return format == Format.json ? DeadLetterLines.json(letter) + "\n" : DeadLetterLines.text(letter);
        }, out);
        return 0;
    }

    /**
     * Prints each record of {@code topics} as {@code render} spells it (line ends included) until
     * --max, --timeout or a reader that went away. Started from now, it says first what it waits
     * for: the first record may be a while coming (a window is written when it changes and when
     * it closes; a healthy service writes no dead letters), and an empty wait looked like a hang.
     */
    private void printRecords(Map<String, String> clients, List<String> topics, String waitingFor,
            java.util.function.Function<ConsumerRecord<byte[], byte[]>, String> render, PrintWriter out) {
        int printed = 0;
        ClusterWatch watch = new ClusterWatch("tail", clients.get("bootstrap.servers"), spec.commandLine().getErr());
        KafkaConsumer<byte[], byte[]> consumer = KafkaClients.readCommittedConsumer(clients, "explainstream-tail", fromBeginning ? "earliest" : "latest");
        try {
            KeptPositions positions = KeptPositions.subscribe(consumer, topics);
            if (!fromBeginning) {
                spec.commandLine().getErr().println("tail: waiting for new " + waitingFor + " on " + String.join(", ", topics)
                        + "; --from-beginning prints the earlier ones");
                spec.commandLine().getErr().flush();
            }
            while ((max == null || printed < max) && System.nanoTime() < deadline && !out.checkError()) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(250))) {
                    if (max != null && printed >= max) {
                        break;
                    }
                    out.print(render.apply(record));
                    out.flush();
                    printed++;
                }
                positions.polled();
                watch.check(consumer);
            }
        } finally {
            consumer.close(Duration.ofSeconds(5)); // not the client's 30 s, where the cluster went away
        }
    }

    /** Window records and alerts as they arrive: a line each, or the record as JSON. */
    private int tailStats(ServiceConfig config, SchemaRegistryClient registry, Map<String, String> clients, PrintWriter out) {
        String statsTopic = config.get(Setting.STATS_TOPIC);
        String alertsTopic = config.get(Setting.ALERTS_TOPIC);
        List<String> topics = new java.util.ArrayList<>();
        if (stats) {
            topics.add(statsTopic);
        }
        if (alerts) {
            topics.add(alertsTopic);
        }
        var statsReader = ConfluentAvroDeserializer.specific(registry, ExplanationStats.class);
        var alertReader = ConfluentAvroDeserializer.specific(registry, AuditAlert.class);
        printRecords(clients, topics, "window records and alerts", record -> {
            GenericRecord value = record.topic().equals(statsTopic) ? statsReader.deserialize(record.topic(), record.value())
                    : alertReader.deserialize(record.topic(), record.value());
            return (format == Format.json ? AvroJson.of(value).toString()
                    : value instanceof ExplanationStats window ? StatsText.line(window) : StatsText.line((AuditAlert) value)) + System.lineSeparator();
        }, out);
        return 0;
    }
}
