package io.explainstream.cli;

import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.render.HtmlReport;
import io.explainstream.schema.AuditAlert;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.stats.StatsText;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.config.KeptPositions;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * What the demo's statistics said: the closed windows and the alerts that fired, read from the
 * stats and alerts topics like any consumer (read_committed).
 *
 * @param windows the final record of each window and group
 * @param alerts every alert written
 */
record DemoStats(List<ExplanationStats> windows, List<AuditAlert> alerts) {

    static final DemoStats NONE = new DemoStats(List.of(), List.of());
    /** How many of the last closed windows the summary prints. */
    static final int LAST_WINDOWS = 6;

    /**
     * Reads until the closed windows account for every sent event (explained or dead-lettered),
     * or the time is up: windows close {@code stats.grace} after the input has gone quiet.
     */
    static DemoStats collect(ServiceConfig config, int sent, Duration timeout) {
        String statsTopic = config.get(Setting.STATS_TOPIC);
        Map<String, String> clients = Map.of("bootstrap.servers", config.streamsProperties().getProperty("bootstrap.servers"));
        SchemaRegistryClient registry = new SchemaRegistryClient(config.registryConfig());
        var statsReader = ConfluentAvroDeserializer.specific(registry, ExplanationStats.class);
        var alertReader = ConfluentAvroDeserializer.specific(registry, AuditAlert.class);
        Map<String, ExplanationStats> finals = new LinkedHashMap<>();
        List<AuditAlert> alerts = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.readCommittedConsumer(clients, "explainstream-demo-stats", "earliest")) {
            KeptPositions positions = KeptPositions.subscribe(consumer, List.of(statsTopic, config.get(Setting.ALERTS_TOPIC)));
            long counted = 0;
            while (counted < sent && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(250))) {
                    if (record.topic().equals(statsTopic)) {
                        ExplanationStats window = statsReader.deserialize(record.topic(), record.value());
                        if (window.getFinal$()) {
                            finals.put(new String(record.key(), java.nio.charset.StandardCharsets.UTF_8), window);
                        }
                    } else {
                        alerts.add(alertReader.deserialize(record.topic(), record.value()));
                    }
                }
                positions.polled();
                counted = finals.values().stream().mapToLong(w -> w.getEvents() + w.getDeadLetters().getCount()).sum();
            }
            // Alerts are written with the final record that fires them: one more poll picks up the last.
            consumer.poll(Duration.ofMillis(500)).forEach(record -> {
                if (!record.topic().equals(statsTopic)) {
                    alerts.add(alertReader.deserialize(record.topic(), record.value()));
                }
            });
        }
        List<ExplanationStats> windows = new ArrayList<>(finals.values());
        windows.sort(Comparator.comparing(ExplanationStats::getWindowStart).thenComparing(ExplanationStats::getGroupKey));
        return new DemoStats(windows, alerts);
    }

    List<HtmlReport.Trend> trends() {
        return windows.stream().map(w -> new HtmlReport.Trend(w.getGroupKey(), w.getWindowStart(), w.getWindowEnd(), w.getEvents(),
                w.getDeadLetters().getCount(), w.getFaithfulness().getEvents() == 0 ? Double.NaN : w.getFaithfulness().getRelDeltaMean(),
                w.getFaithfulness().getEvents() == 0 ? Double.NaN : w.getFaithfulness().getRelDeltaMax(),
                alerts.stream().filter(a -> a.getGroupKey().equals(w.getGroupKey()) && a.getWindowStart().equals(w.getWindowStart())).count(),
                w.getReliance().entrySet().stream().collect(java.util.stream.Collectors.toMap(e -> e.getKey(), e -> e.getValue().getShareMean()))))
                .toList();
    }

    /** The summary's lines: the alerts that fired and the last closed windows. */
    String describe() {
        if (windows.isEmpty()) {
            return "";
        }
        StringBuilder text = new StringBuilder(String.format("%n%d statistics windows closed, %d alerts fired", windows.size(), alerts.size()));
        alerts.forEach(alert -> text.append(System.lineSeparator()).append(StatsText.line(alert)));
        text.append(System.lineSeparator()).append("last closed windows:");
        windows.subList(Math.max(0, windows.size() - LAST_WINDOWS), windows.size())
                .forEach(window -> text.append(System.lineSeparator()).append(StatsText.line(window)));
        return text.toString();
    }
}
