package io.explainstream.stats;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The statistics' own counters: {@code explainstream_alerts_total{rule}},
 * {@code explainstream_stats_late_events_total}, {@code explainstream_stats_overflow_events_total}
 * and {@code explainstream_stats_unreadable_total}.
 * Rule names come from the configuration, so the rule label is bounded.
 */
final class StatsMetrics {

    private final MeterRegistry registry;
    private final Counter late;
    private final Counter unreadable;
    private final Counter overflow;

    StatsMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.late = Counter.builder("explainstream.stats.late.events")
                .description("Explanations and dead letters that arrived after their window closed: dropped from the statistics").register(registry);
        this.unreadable = Counter.builder("explainstream.stats.unreadable")
                .description("Records of the explanations topic that are not Explanations: not aggregated").register(registry);
        this.overflow = Counter.builder("explainstream.stats.overflow.events")
                .description("Explanations and dead letters counted in the overflow group (_other): their window already held stats.max.groups groups")
                .register(registry);
    }

    void alertFired(String rule) {
        Counter.builder("explainstream.alerts").description("Alerts written, per rule").tag("rule", rule).register(registry).increment();
    }

    void late() {
        late.increment();
    }

    void overflow() {
        overflow.increment();
    }

    void unreadable() {
        unreadable.increment();
    }
}
