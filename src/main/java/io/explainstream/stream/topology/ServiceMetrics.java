package io.explainstream.stream.topology;

import io.explainstream.render.TokenText;
import io.explainstream.stream.audit.BacklogController;
import io.explainstream.stream.audit.Tier;
import io.explainstream.stream.batch.PendingEvent;
import io.explainstream.stream.config.MetricLabels;
import io.explainstream.stream.config.TimestampWindow;
import io.explainstream.stream.config.TopicRetention;
import io.explainstream.stream.ingest.Admission;
import io.explainstream.stream.ingest.InputEvent;
import io.explainstream.stream.output.DeadLetters;
import io.explainstream.stream.output.SourceTimestamp;
import io.explainstream.text.Shortened;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's metrics, in a Micrometer registry (Prometheus in production):
 * events in/out/dead-lettered/skipped, batch sizes, attribution time per event and per token, and
 * the event-time lag of the latest explanation.
 *
 * <p>Times and batch sizes are histograms with fixed buckets (Prometheus' {@code _bucket{le=…}},
 * {@code _count}, {@code _sum}), not client-side quantiles: quantiles decay over a two-minute
 * window and read 0 when the service has been idle that long, while bucket counts only grow, so
 * {@code histogram_quantile} over any range stays right and aggregates across instances.
 *
 * <p>The event counters carry the event's {@code model} and the configured metadata keys as
 * labels. Label values come from the traffic, so each label keeps at most
 * {@link #MAX_VALUES_PER_LABEL} distinct values and counts the rest as {@code other}: a tenant id
 * or a conversation id put in the list by mistake cannot grow the time series without bound.
 */
public final class ServiceMetrics {

    /** Distinct values one label keeps before it counts further values as {@link #OTHER}. */
    public static final int MAX_VALUES_PER_LABEL = 100;
    private static final Logger LOG = LoggerFactory.getLogger(ServiceMetrics.class);
    private static final long WARNING_INTERVAL_MS = 60_000;
    /** The longest label value kept whole, in UTF-16 chars. */
    static final int MAX_LABEL_CHARS = 120;
    /** The value of a label past its limit. */
    public static final String OTHER = "other";
    /** The value of a label the event does not have (no such metadata key, or a record that could not be decoded). */
    public static final String NONE = "none";
    /** The model label of a record that could not be decoded. */
    public static final String UNKNOWN_MODEL = "unknown";

    static final String MODEL_LABEL = MetricLabels.MODEL;
    /** Labels the counters use themselves: a metadata label may not take these names. */

    /** Buckets of the engine time per explained event: 5 ms to 2 minutes. */
    private static final Duration[] PER_EVENT_BUCKETS = millis(5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000);
    /** Buckets of the engine time per token: 0.1 ms to 1 s. */
    private static final Duration[] PER_TOKEN_BUCKETS = micros(100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000);
    /** Buckets of the batch size: powers of two up to 256 events. */
    private static final double[] BATCH_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256};

    /**
     * How long nothing must have waited before the event-time lag reads 0: longer than the wait
     * between two polls of a busy input (when a store is empty for a moment), and than two scrapes
     * at the usual 15 s interval, so that a scrape sees the lag of a service that is explaining.
     */
    static final long LAG_IDLE_MS = 30_000;

    private final MeterRegistry registry;
    private final Map<String, String> metadataLabels;
    private final Map<String, BoundedValues> values = new ConcurrentHashMap<>();
    private final int maxValuesPerLabel;
    private final DistributionSummary batchSize;
    private final Timer attributionPerEvent;
    private final Timer attributionPerToken;
    private final AtomicLong eventTimeLagMs = new AtomicLong();
    /** Since when no task has had an event waiting (MIN_VALUE while one has, or since the last explanation). */
    private final AtomicLong nothingWaitingSinceMs = new AtomicLong(Long.MIN_VALUE);
    /** Events waiting per task: each task's batcher reports its own store. */
    private final Map<String, Long> pendingByTask = new ConcurrentHashMap<>();
    private final Counter threadReplacements;
    private final Counter engineStops;
    /** Records written past their topic's retention, warned of at most once a minute per topic. */
    private final Map<String, ThrottledWarning> pastRetentionWarnings = new ConcurrentHashMap<>();
    /** Records whose timestamp their topic would refuse, written with the write time instead; per topic. */
    private final Map<String, ThrottledWarning> timestampMovedWarnings = new ConcurrentHashMap<>();

    /** Metrics without metadata labels. */
    public ServiceMetrics(MeterRegistry registry) {
        this(registry, List.of());
    }

    /**
     * @param metadataKeys metadata keys to add as labels to the event counters (see
     *     {@link MetricLabels#parse(String)}); a key that is not a valid label name is written with
     *     underscores ({@code app.name} becomes the label {@code app_name})
     */
    public ServiceMetrics(MeterRegistry registry, List<String> metadataKeys) {
        this(registry, metadataKeys, MAX_VALUES_PER_LABEL);
    }

    ServiceMetrics(MeterRegistry registry, List<String> metadataKeys, int maxValuesPerLabel) {
        this.registry = registry;
        this.metadataLabels = MetricLabels.names(metadataKeys);
        this.maxValuesPerLabel = maxValuesPerLabel;
        this.batchSize = DistributionSummary.builder("explainstream.batch.size").description("events per engine call")
                .serviceLevelObjectives(BATCH_BUCKETS).register(registry);
        this.attributionPerEvent = Timer.builder("explainstream.attribution.per.event").description("engine time per explained event")
                .serviceLevelObjectives(PER_EVENT_BUCKETS).register(registry);
        this.attributionPerToken = Timer.builder("explainstream.attribution.per.token").description("engine time per prompt+response token")
                .serviceLevelObjectives(PER_TOKEN_BUCKETS).register(registry);
        registry.gauge("explainstream.event.time.lag.seconds", eventTimeLagMs, lag -> lag.get() / 1000.0);
        registry.gauge("explainstream.batch.pending.events", pendingByTask, ServiceMetrics::sum);
        this.threadReplacements = Counter.builder("explainstream.stream.thread.replacements")
                .description("stream threads replaced after an uncaught error").register(registry);
        this.engineStops = Counter.builder("explainstream.engine.stops")
                .description("engine calls stopped at the engine time a transaction allows (3/4 of its timeout)").register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** The metadata keys counted as labels, in order. */
    public List<String> metadataKeys() {
        return List.copyOf(metadataLabels.keySet());
    }

    /** A record read: counted under its event's model and metadata, or for a rejected record what it gives of them. */
    void eventIn(Admission admission) {
        if (admission instanceof Admission.Reject reject) {
            counter("explainstream.events.in", "input records read", Tags.empty(), reject.model(), reject.metadata()).increment();
        } else {
            eventIn(admission.event());
        }
    }

    void eventIn(InputEvent event) {
        counter("explainstream.events.in", "input records read", Tags.empty(), event).increment();
    }

    void eventOut(PendingEvent event, long nowMs) {
        counter("explainstream.events.out", "explanations written", Tags.empty(), event.model(), event.metadata()).increment();
        eventTimeLagMs.set(Math.max(0, nowMs - event.eventTimeMs()));
        nothingWaitingSinceMs.set(Long.MIN_VALUE);
    }

    /** A record turned away as it entered: counted under the model and metadata it gives, decoded or not. */
    void deadLetter(DeadLetters.Stage stage, Admission.Reject reject) {
        deadLetter(stage, reject.model(), reject.metadata());
    }

    void deadLetter(DeadLetters.Stage stage, PendingEvent event) {
        deadLetter(stage, event.model(), event.metadata());
    }

    private void deadLetter(DeadLetters.Stage stage, String model, Map<String, String> metadata) {
        counter("explainstream.events.dlq", "events sent to the dead-letter topic", Tags.of("stage", stage.name().toLowerCase(Locale.ROOT)), model,
                metadata).increment();
    }

    /** @param event the decoded event, or null when it was skipped before decoding (outside a replay's range) */
    void skipped(String reason, InputEvent event) {
        counter("explainstream.events.skipped", "events read but not explained", Tags.of("reason", reason), event).increment();
    }

    private Counter counter(String name, String description, Tags tags, InputEvent event) {
        return counter(name, description, tags, event == null ? null : event.model(), event == null ? null : event.metadata());
    }

    /** @param model the event's model, or null when unknown; @param metadata its metadata, or null */
    private Counter counter(String name, String description, Tags tags, String model, Map<String, String> metadata) {
        // Every series of one counter has the same label names, as Prometheus requires.
        List<Tag> labels = new ArrayList<>();
        labels.add(Tag.of(MODEL_LABEL, bounded(MODEL_LABEL, model == null ? UNKNOWN_MODEL : model)));
        metadataLabels.forEach((key, label) -> {
            String value = metadata == null ? null : metadata.get(key);
            labels.add(Tag.of(label, bounded(label, value == null || value.isEmpty() ? NONE : value)));
        });
        return Counter.builder(name).description(description).tags(tags.and(labels)).register(registry);
    }

    /**
     * The label value a traffic value is counted under. Control characters and bidirectional
     * overrides are written escaped, as on the terminal: /metrics is read with curl too, and an
     * ESC sequence in a model name would act on that terminal. A value longer than
     * {@link #MAX_LABEL_CHARS} is cut (marked with an ellipsis): every scrape repeats it.
     */
    private String bounded(String label, String value) {
        String shown = Shortened.cut(TokenText.visible(value), MAX_LABEL_CHARS);
        return values.computeIfAbsent(label, l -> new BoundedValues(maxValuesPerLabel)).admit(shown);
    }

    /** The values one label has taken: the first {@code limit} stay themselves, later ones are {@link #OTHER}. */
    private static final class BoundedValues {
        private final Set<String> seen = new java.util.HashSet<>();
        private final int limit;

        BoundedValues(int limit) {
            this.limit = limit;
        }

        synchronized String admit(String value) {
            if (seen.contains(value) || value.equals(NONE) || value.equals(UNKNOWN_MODEL)) {
                return value;
            }
            if (seen.size() >= limit) {
                return OTHER;
            }
            seen.add(value);
            return value;
        }
    }

    void batch(int events, int tokens, Duration elapsed) {
        batchSize.record(events);
        for (int i = 0; i < events; i++) {
            attributionPerEvent.record(elapsed.dividedBy(events));
        }
        if (tokens > 0) {
            attributionPerToken.record(elapsed.dividedBy(tokens));
        }
    }

    /**
     * The events waiting in a task's store, at {@code nowMs} on the batcher's clock. Once no task
     * has had one for {@link #LAG_IDLE_MS}, the event-time lag reads 0: it is the lag of the latest
     * explanation, and an idle service kept reporting one published minutes ago (44.5 s, seen by a
     * hostile test, long after everything was explained).
     */
    void pending(String task, long events, long nowMs) {
        pendingByTask.put(task, events);
        if (sum(pendingByTask) > 0) {
            nothingWaitingSinceMs.set(Long.MIN_VALUE);
            return;
        }
        nothingWaitingSinceMs.compareAndSet(Long.MIN_VALUE, nowMs);
        if (nowMs - nothingWaitingSinceMs.get() >= LAG_IDLE_MS) {
            eventTimeLagMs.set(0);
        }
    }

    /** One explanation of this tier, for {@code explainstream_events_tier_total{tier,reason}}. */
    void tiered(Tier tier, PendingEvent event) {
        counter("explainstream.events.tier", "explanations written, by audit tier and reason",
                Tags.of("tier", Tier.label(tier.kind()), "reason", Tier.label(tier.reason())), event.model(), event.metadata()).increment();
    }

    /** The backlog level ({@code explainstream_audit_tier}: 0 as configured, higher is cheaper) and {@code explainstream_degraded} (0 or 1). */
    public void backlog(BacklogController controller) {
        io.micrometer.core.instrument.Gauge.builder("explainstream.audit.tier", controller, BacklogController::level)
                .description("backlog control level: 0 as configured, then fewer steps, the cheap method, skipping unsampled events").register(registry);
        io.micrometer.core.instrument.Gauge.builder("explainstream.degraded", controller, c -> c.degraded() ? 1 : 0)
                .description("1 while backlog control has degraded the explanations").register(registry);
        io.micrometer.core.instrument.Gauge.builder("explainstream.input.waiting.records", controller, BacklogController::waitingRecords)
                .description("input records not yet explained: in the batch stores, and produced but not yet read").register(registry);
        io.micrometer.core.instrument.Gauge.builder("explainstream.backlog.drain.seconds", controller,
                c -> c.projectedDrainMs() < 0 ? -1 : c.projectedDrainMs() / 1000.0)
                .description("engine time the waiting input records need at the current audit level, at the recent batches' median rate; -1 before a batch")
                .register(registry);
        io.micrometer.core.instrument.Gauge.builder("explainstream.forced.engine.load", controller, BacklogController::forcedEngineLoad)
                .description("engine seconds per second the forced events need at the configured method (over 1: no audit level keeps up); -1 while not known")
                .register(registry);
    }

    /**
     * A record written with a timestamp its topic's retention has already passed
     * ({@code explainstream_records_past_retention_total{topic}}), and a warning at most once a
     * minute: the broker may delete it at its next retention check.
     */
    void pastRetention(String topic, TopicRetention retention, long timestampMs, long nowMs) {
        long unwarned = countPerTopic("explainstream.records.past.retention", "records written with a timestamp older than their topic's"
                + " retention.ms: the broker may delete them at its next retention check", topic, pastRetentionWarnings, nowMs);
        if (unwarned > 0) {
            LOG.warn("{} record{} written with a timestamp older than {} topic's retention (the last to topic {}, of an event of {}, with {}): the broker"
                    + " may delete {} at its next retention check, as explanations and dead letters keep their events' timestamps; raise the"
                    + " topic's retention.ms (-1 keeps records forever). Counted in explainstream_records_past_retention_total; warned at most once a minute",
                    unwarned, unwarned == 1 ? "" : "s", unwarned == 1 ? "its" : "their", topic, Instant.ofEpochMilli(timestampMs),
                    retention.described(), unwarned == 1 ? "it" : "them");
        }
    }

    /**
     * A record its topic would refuse for its timestamp, written with the write time instead
     * ({@code explainstream_records_timestamp_moved_total{topic}}), warned of at most once a minute.
     */
    void timestampMoved(String topic, TimestampWindow accepted, long timestampMs, long nowMs) {
        long unwarned = countPerTopic("explainstream.records.timestamp.moved", "records whose event timestamp their topic refuses"
                + " (message.timestamp.before/after.max.ms), written with the time they were written", topic, timestampMovedWarnings, nowMs);
        if (unwarned > 0) {
            LOG.warn("{} record{} written with the time {} written instead of {} event's timestamp (the last to topic {}, of an event of {}), which the"
                    + " topic refuses ({}); the event's time is in the explanation's event_time, the input record's in the {} header. Counted in"
                    + " explainstream_records_timestamp_moved_total; warned at most once a minute", unwarned, unwarned == 1 ? "" : "s",
                    unwarned == 1 ? "it was" : "they were", unwarned == 1 ? "its" : "their", topic, Instant.ofEpochMilli(timestampMs),
                    accepted.described(), SourceTimestamp.HEADER);
        }
    }

    /**
     * Counts a record written to {@code topic}; returns how many such records to warn of now
     * ({@link ThrottledWarning}, one per topic: a dead letter's warning kept the output topic's
     * first moved record unsaid for a minute).
     */
    private long countPerTopic(String counter, String description, String topic, Map<String, ThrottledWarning> warnings, long nowMs) {
        Counter.builder(counter).description(description).tags("topic", topic).register(registry).increment();
        return warnings.computeIfAbsent(topic, t -> new ThrottledWarning(WARNING_INTERVAL_MS)).occurred(nowMs);
    }

    private static long owed(Map<String, ThrottledWarning> warnings) {
        return warnings.values().stream().mapToLong(ThrottledWarning::owed).sum();
    }

    /**
     * At a stop: what the once-a-minute warnings still owe (records written past retention, or with
     * a moved timestamp, since the last warning), in words; each is said once.
     */
    public List<String> owedWarnings() {
        List<String> owed = new ArrayList<>();
        long pastRetention = owed(pastRetentionWarnings);
        if (pastRetention > 0) {
            owed.add(String.format(Locale.ROOT, "%d more record%s written with a timestamp older than %s topic's retention since the last"
                    + " warning: the broker may delete %s at its next retention check; raise the topic's retention.ms (-1 keeps records forever)."
                    + " Counted by topic in explainstream_records_past_retention_total", pastRetention, pastRetention == 1 ? "" : "s",
                    pastRetention == 1 ? "its" : "their", pastRetention == 1 ? "it" : "them"));
        }
        long moved = owed(timestampMovedWarnings);
        if (moved > 0) {
            owed.add(String.format(Locale.ROOT, "%d more record%s written with the time %s written, as %s topic refuses %s event's timestamp, since"
                    + " the last warning. Counted by topic in explainstream_records_timestamp_moved_total", moved, moved == 1 ? "" : "s",
                    moved == 1 ? "it was" : "they were", moved == 1 ? "its" : "their", moved == 1 ? "its" : "their"));
        }
        return owed;
    }

    /** An engine call stopped at the engine time a transaction allows ({@code explainstream_engine_stops_total}). */
    void engineStopped() {
        engineStops.increment();
    }

    public void threadReplaced() {
        threadReplacements.increment();
    }

    private static double sum(Map<String, Long> counts) {
        return counts.values().stream().mapToLong(Long::longValue).sum();
    }


    /** The sum of a counter over all its series (every model, stage, reason and metadata value). */
    /** The Kafka cluster's silence: seconds since it last answered, while it does not; 0 while it does. */
    public void brokerUnanswered(java.util.function.DoubleSupplier seconds) {
        // Held strongly: a gauge keeps a weak reference to its object, and nothing else holds this lambda.
        io.micrometer.core.instrument.Gauge.builder("explainstream.broker.unanswered.seconds", seconds, java.util.function.DoubleSupplier::getAsDouble)
                .strongReference(true)
                .description("seconds since the Kafka cluster last answered, while it does not (asked every 2 s); 0 while it answers").register(registry);
    }

    /** A gauge's value (summed over its labels), NaN when there is none. */
    public double gauge(String name) {
        var gauges = registry.find(name).gauges();
        return gauges.isEmpty() ? Double.NaN : gauges.stream().mapToDouble(io.micrometer.core.instrument.Gauge::value).sum();
    }

    public double count(String name) {
        return registry.find(name).counters().stream().mapToDouble(Counter::count).sum();
    }

    /**
     * The sum of a counter over the series that have the given labels, whatever their other labels:
     * {@code count("explainstream.events.skipped", "reason", "other_model")}.
     */
    public double count(String name, String... labelsAndValues) {
        return registry.find(name).tags(labelsAndValues).counters().stream().mapToDouble(Counter::count).sum();
    }

    private static Duration[] millis(long... values) {
        return Arrays.stream(values).mapToObj(Duration::ofMillis).toArray(Duration[]::new);
    }

    private static Duration[] micros(long... values) {
        return Arrays.stream(values).mapToObj(v -> Duration.ofNanos(v * 1_000)).toArray(Duration[]::new);
    }
}
