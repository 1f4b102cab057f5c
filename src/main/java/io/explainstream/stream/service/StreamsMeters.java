package io.explainstream.stream.service;

import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import org.apache.kafka.streams.KafkaStreams;

/**
 * Kafka Streams' own metrics in the service's Prometheus registry.
 *
 * <p>Kafka Streams tags the RocksDB metrics of window stores {@code rocksdb-window-state-id} and
 * those of key-value stores {@code rocksdb-state-id}, under the same names; Prometheus takes one
 * set of tag keys per name, so the registry renames the first to the second (a meter filter).
 * Micrometer's binder, though, looks for the meters it already bound by the Kafka metrics' own
 * tags, before any filter: bound straight to the filtered registry, it missed the renamed meters.
 * Each refresh that found a new Kafka metric registered them again ("This Gauge has been already
 * registered ... rocksdb.state.id=stats-windows", logged once, then at debug), and removing a
 * closed store's meters by their unfiltered ids removed nothing, so they stayed, reading NaN. The
 * binder therefore works on a composite registry without filters, whose one child is the
 * Prometheus registry: it finds and removes the meters by the ids it registered them with, and
 * the child applies the rename to what it exports.
 */
public final class StreamsMeters implements AutoCloseable {

    /** How often Micrometer looks for Kafka metrics that came or went (its own default). */
    public static final Duration REFRESH = Duration.ofSeconds(60);

    private final KafkaStreamsMetrics binder;
    private final ScheduledExecutorService refresher;

    private StreamsMeters(KafkaStreamsMetrics binder, ScheduledExecutorService refresher) {
        this.binder = binder;
        this.refresher = refresher;
    }

    /** The service's registry; its meter filter is set before any meter exists, so that it applies to all. */
    public static PrometheusMeterRegistry prometheusRegistry() {
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // Kafka Streams tags the RocksDB metrics of window stores (the statistics') rocksdb-window-state-id and those
        // of key-value stores rocksdb-state-id, under the same names; Prometheus takes one set of tag keys per name.
        meters.config().meterFilter(MeterFilter.renameTag("kafka.stream.state", "rocksdb.window.state.id", "rocksdb.state.id"));
        return meters;
    }

    /** Binds the metrics of {@code streams} to {@code meters}, looking for new and removed ones every {@code refresh}. */
    public static StreamsMeters bind(KafkaStreams streams, PrometheusMeterRegistry meters, Duration refresh) {
        ScheduledExecutorService refresher = DaemonThread.scheduler("micrometer-kafka-metrics");
        KafkaStreamsMetrics binder = new KafkaStreamsMetrics(streams, List.of(), refresher, refresh);
        binder.bindTo(new CompositeMeterRegistry(Clock.SYSTEM, List.of(meters)));
        return new StreamsMeters(binder, refresher);
    }

    /** Stops the refreshes and removes the Kafka Streams meters. */
    @Override
    public void close() {
        refresher.shutdownNow();
        binder.close();
    }
}
