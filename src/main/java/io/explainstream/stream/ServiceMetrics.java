package io.explainstream.stream;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The service's metrics, in a Micrometer registry (Prometheus in production):
 * events in/out/dead-lettered/skipped, batch sizes, attribution time per event and per token, and
 * the event-time lag of the latest explanation.
 */
public final class ServiceMetrics {

    private final MeterRegistry registry;
    private final Counter eventsIn;
    private final Counter eventsOut;
    private final DistributionSummary batchSize;
    private final Timer attributionPerEvent;
    private final Timer attributionPerToken;
    private final AtomicLong eventTimeLagMs = new AtomicLong();
    /** Events waiting per task: each task's batcher reports its own store. */
    private final Map<String, Long> pendingByTask = new ConcurrentHashMap<>();
    private final AtomicLong pendingChecks = new AtomicLong();
    private final Counter threadReplacements;

    public ServiceMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.eventsIn = Counter.builder("explainstream.events.in").description("input records read").register(registry);
        this.eventsOut = Counter.builder("explainstream.events.out").description("explanations written").register(registry);
        this.batchSize = DistributionSummary.builder("explainstream.batch.size").description("events per engine call").register(registry);
        this.attributionPerEvent = Timer.builder("explainstream.attribution.per.event").description("engine time per explained event")
                .publishPercentiles(0.5, 0.99).register(registry);
        this.attributionPerToken = Timer.builder("explainstream.attribution.per.token").description("engine time per prompt+response token")
                .register(registry);
        registry.gauge("explainstream.event.time.lag.seconds", eventTimeLagMs, lag -> lag.get() / 1000.0);
        registry.gauge("explainstream.batch.pending.events", pendingByTask, ServiceMetrics::sum);
        this.threadReplacements = Counter.builder("explainstream.stream.thread.replacements")
                .description("stream threads replaced after an uncaught error").register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    void eventIn() {
        eventsIn.increment();
    }

    void eventOut(long eventTimeMs, long nowMs) {
        eventsOut.increment();
        eventTimeLagMs.set(Math.max(0, nowMs - eventTimeMs));
    }

    void deadLetter(DeadLetters.Stage stage) {
        registry.counter("explainstream.events.dlq", "stage", stage.name().toLowerCase()).increment();
    }

    void skipped(String reason) {
        registry.counter("explainstream.events.skipped", "reason", reason).increment();
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

    void pending(String task, long events) {
        pendingByTask.put(task, events);
        pendingChecks.incrementAndGet();
    }

    void threadReplaced() {
        threadReplacements.increment();
    }

    private static double sum(Map<String, Long> counts) {
        return counts.values().stream().mapToLong(Long::longValue).sum();
    }

    /** How many times the batch store has been looked at (by the punctuator or after an event). */
    public long pendingChecks() {
        return pendingChecks.get();
    }

    /** Events waiting in the batch stores of all tasks, as each last saw its own. */
    public long pendingEvents() {
        return (long) sum(pendingByTask);
    }

    public double count(String name) {
        return registry.find(name).counters().stream().mapToDouble(Counter::count).sum();
    }
}
