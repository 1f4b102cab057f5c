package io.explainstream.stats;

import io.explainstream.schema.AuditAlert;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.stream.config.Setting;
import io.explainstream.stream.config.TimestampWindow;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Aggregates the observations of its groups into tumbling event-time windows.
 *
 * <ul>
 *   <li>An observation joins the window of its event time, unless that window is closed or
 *       stream time (the largest event time this task has seen) is past its end + grace: then it
 *       is late, dropped, and counted in the group's window at stream time, or, when that one is
 *       closed too, in the group's window at the wall clock's time, so that it is always seen.
 *   <li>Every emit interval (wall clock), each window changed since its last record is written to
 *       the stats topic with final = false.
 *   <li>A window closes when stream time passes its end + grace; or, when no observation has
 *       arrived for the grace period, when the wall clock does (otherwise the last windows before
 *       a quiet spell would wait for the next event to close). Time the task could not listen does
 *       not count as quiet: a punctuation late by more than an emit interval means the stream
 *       thread was busy (an engine call of the explaining task on the same thread, whose
 *       explanations commit only after it), so the quiet spell starts again then. It is written
 *       once more with final = true, and the alert rules are tested on it.
 *   <li>A window holds at most stats.max.groups groups in this task: the observations of a
 *       further group are written back to the observations topic keyed by the overflow group
 *       ({@code _other} in every field), so that the task that owns that group counts them, and
 *       the group's windows live where its key says (queries and the stats topic's key agree).
 * </ul>
 *
 * The aggregates live in a changelogged window store (the state queries read), the windows still
 * open in a small changelogged index, so that a restarted or new owner of the task closes them.
 */
final class WindowProcessor implements Processor<String, byte[], String, byte[]> {

    static final String WINDOWS_STORE = "stats-windows";
    static final String OPEN_STORE = "stats-open-windows";
    static final String ALERTS_STORE = "stats-alerts";
    static final String STATS_SINK = "stats-out";
    static final String ALERTS_SINK = "alerts-out";
    static final String OVERFLOW_SINK = "stats-overflow-out";

    private static final Logger LOG = LoggerFactory.getLogger(WindowProcessor.class);

    private final StatsSettings settings;
    private final Serializer<ExplanationStats> statsSerializer;
    private final Serializer<AuditAlert> alertSerializer;
    private final StatsMetrics metrics;
    private final long windowMs;
    private final long graceMs;
    private final TimestampWindow accepted;
    private final Set<String> watchedSpans;
    private final GroupKey overflowGroup;
    private ProcessorContext<String, byte[]> context;
    private WindowStore<String, byte[]> windows;
    private KeyValueStore<String, Long> open;
    private WindowStore<String, byte[]> alerts;
    /** Wall-clock time of the last observation (since this task started here): a quiet input lets the wall clock close windows. */
    private long lastArrivalMs;
    /** Wall-clock time of the last punctuation; one that comes much later shows the thread was busy. */
    private long lastEmitMs;
    private final long emitMs;
    /**
     * Groups (the overflow group aside) of each open window start in this task: the open-windows
     * index counted, kept in memory because a group past the cap asks on each of its events.
     */
    private final Map<Long, Integer> groupsByWindow = new HashMap<>();
    /** Window starts whose overflow was logged: one warning per window (and task). */
    private final Set<Long> warned = new HashSet<>();

    /**
     * @param accepted the record timestamps the broker accepts on the topics written (its defaults,
     *     read at start): the stats and alerts topics and the stores' changelogs
     */
    WindowProcessor(StatsSettings settings, Serializer<ExplanationStats> statsSerializer, Serializer<AuditAlert> alertSerializer, StatsMetrics metrics,
            TimestampWindow accepted) {
        this.settings = settings;
        this.statsSerializer = statsSerializer;
        this.alertSerializer = alertSerializer;
        this.metrics = metrics;
        this.windowMs = settings.window().toMillis();
        this.graceMs = settings.grace().toMillis();
        this.emitMs = settings.emitInterval().toMillis();
        this.watchedSpans = settings.watchedSpans();
        this.overflowGroup = settings.groupBy().overflow();
        this.accepted = accepted;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        this.context = context;
        this.windows = context.getStateStore(WINDOWS_STORE);
        this.open = context.getStateStore(OPEN_STORE);
        this.alerts = context.getStateStore(ALERTS_STORE);
        this.lastArrivalMs = context.currentSystemTimeMs();
        this.lastEmitMs = lastArrivalMs;
        // The index is restored before init: a new owner of the task counts the groups its windows already hold.
        // A task revived after an aborted transaction inits the same processor again, on restored stores: count afresh.
        groupsByWindow.clear();
        warned.clear();
        try (KeyValueIterator<String, Long> all = open.all()) {
            all.forEachRemaining(entry -> {
                if (!isOverflow(groupOf(entry.key))) {
                    groupsByWindow.merge(entry.value, 1, Integer::sum);
                }
            });
        }
        context.schedule(settings.emitInterval(), PunctuationType.WALL_CLOCK_TIME, this::emit);
    }

    /** The index key of a window: its start first, so that the index iterates in time order. */
    static String openKey(long start, String group) {
        return String.format("%020d", start) + "|" + group;
    }

    private static String groupOf(String openKey) {
        return openKey.substring(openKey.indexOf('|') + 1);
    }

    private boolean isOverflow(String group) {
        return group.equals(overflowGroup.text());
    }

    @Override
    public void process(Record<String, byte[]> record) {
        lastArrivalMs = context.currentSystemTimeMs();
        Observation observation;
        GroupKey group;
        try {
            observation = Observation.fromBytes(record.value());
            group = GroupKey.parse(record.key());
        } catch (IOException | RuntimeException e) {
            // The observations topic is ours, but anything can be produced to it: one record that is
            // not an observation must not fail the task over and over (it stays in the topic).
            metrics.unreadable();
            LOG.warn("stats: skipping a record of the observations topic that is not an observation (key {}): {}", record.key(), e.toString());
            return;
        }
        long start = Math.floorDiv(observation.eventTimeMs(), windowMs) * windowMs;
        long streamTime = context.currentStreamTimeMs();
        WindowAggregate aggregate = fetch(group.text(), start);
        if ((aggregate != null && aggregate.closed) || start + windowMs + graceMs <= streamTime) {
            late(record, observation, group, streamTime);
            return;
        }
        if (aggregate == null) {
            if (full(group, start)) {
                overflow(record, start);
                return;
            }
            aggregate = openWindow(group, start);
        }
        aggregate.add(observation, settings.deltaWarn(), watchedSpans);
        windows.put(group.text(), aggregate.toBytes(), start);
    }

    /**
     * Counts a late observation in the group's window at stream time; when the wall clock has
     * closed that one too, in the first window of the group from the wall clock's time on that is
     * not closed, so that the late event shows in a window the stats topic still gets (it was
     * dropped unseen but for the metric: a window published "0 events" while 8 of its events had
     * been explained).
     */
    private void late(Record<String, byte[]> record, Observation observation, GroupKey group, long streamTime) {
        long start = Math.floorDiv(streamTime, windowMs) * windowMs;
        WindowAggregate newest = fetch(group.text(), start);
        if (newest != null && newest.closed) {
            start = Math.max(start, Math.floorDiv(context.currentSystemTimeMs(), windowMs) * windowMs);
            newest = fetch(group.text(), start);
            while (newest != null && newest.closed) {
                start += windowMs;
                newest = fetch(group.text(), start);
            }
        }
        if (newest == null && full(group, start)) {
            overflow(record, start); // counted as late, if it is, by the overflow group's task
            return;
        }
        metrics.late();
        if (newest == null) {
            newest = openWindow(group, start);
        }
        newest.addLate(observation.kind(), observation.eventId());
        windows.put(group.text(), newest.toBytes(), start);
    }

    private WindowAggregate openWindow(GroupKey group, long start) {
        open.put(openKey(start, group.text()), start);
        if (!isOverflow(group.text())) {
            groupsByWindow.merge(start, 1, Integer::sum);
        }
        return WindowAggregate.open(group, start, start + windowMs);
    }

    private void closeWindow(String openKey, long start) {
        open.delete(openKey);
        if (!isOverflow(groupOf(openKey)) && groupsByWindow.merge(start, -1, Integer::sum) <= 0) {
            groupsByWindow.remove(start);
            warned.remove(start);
        }
    }

    /** Whether a group new to the window would take it past stats.max.groups in this task (the overflow group never does). */
    private boolean full(GroupKey group, long start) {
        return !isOverflow(group.text()) && groupsByWindow.getOrDefault(start, 0) >= settings.maxGroups();
    }

    /**
     * Sends the observation on to the overflow group's task, through the observations topic: the
     * stats topic's key and the queries find a group's windows by its key's partition, so the
     * overflow group must be aggregated where its own key lands, not in every task that overflows.
     */
    private void overflow(Record<String, byte[]> record, long start) {
        metrics.overflow();
        if (warned.add(start)) {
            // The group's values stay out of the log: a high-cardinality field is often a user id.
            LOG.warn("stats: the window from {} already holds {} = {} groups in this task; the events of further groups count in group {}"
                    + " until it closes (raise {}, or group by coarser fields than stats.group.by = {})", Instant.ofEpochMilli(start),
                    Setting.STATS_MAX_GROUPS.key(), settings.maxGroups(), overflowGroup.text(), Setting.STATS_MAX_GROUPS.key(),
                    String.join(",", settings.groupBy().fields()));
        }
        context.forward(new Record<>(overflowGroup.text(), record.value(), record.timestamp(), new RecordHeaders()), OVERFLOW_SINK);
    }

    private WindowAggregate fetch(String group, long start) {
        byte[] bytes = windows.fetch(group, start);
        return bytes == null ? null : WindowAggregate.fromBytes(bytes);
    }

    /** The punctuation: updates of changed windows, final records and alerts of closed ones. */
    private void emit(long nowMs) {
        long streamTime = context.currentStreamTimeMs();
        if (nowMs - lastEmitMs > 2 * emitMs) {
            // The thread was busy since the last punctuation (22 s in one engine call, say): the
            // explanations it made meanwhile are committed and read only now, so that was not a
            // quiet input. Closing by the wall clock here dropped them all as late.
            lastArrivalMs = Math.max(lastArrivalMs, nowMs);
        }
        lastEmitMs = nowMs;
        boolean quiet = nowMs - lastArrivalMs >= graceMs;
        List<KeyValue<String, Long>> entries = new ArrayList<>();
        try (KeyValueIterator<String, Long> all = open.all()) {
            all.forEachRemaining(entries::add);
        }
        for (KeyValue<String, Long> entry : entries) {
            String group = groupOf(entry.key);
            WindowAggregate aggregate = fetch(group, entry.value);
            if (aggregate == null) {
                closeWindow(entry.key, entry.value); // expired from the store by retention
                continue;
            }
            long closesAt = aggregate.windowEnd + graceMs;
            if (closesAt <= streamTime || (quiet && closesAt <= nowMs)) {
                close(entry.key, group, aggregate, nowMs);
            } else if (aggregate.dirty) {
                aggregate.dirty = false;
                windows.put(group, aggregate.toBytes(), aggregate.windowStart);
                send(group, aggregate, false, nowMs);
            }
        }
    }

    private void close(String openKey, String group, WindowAggregate aggregate, long nowMs) {
        aggregate.closed = true;
        aggregate.dirty = false;
        windows.put(group, aggregate.toBytes(), aggregate.windowStart);
        closeWindow(openKey, aggregate.windowStart);
        send(group, aggregate, true, nowMs);
        for (AlertRule rule : settings.rules()) {
            if (rule.firesFor(aggregate)) {
                AuditAlert alert = alert(rule, aggregate, nowMs);
                String key = alertKey(rule.name(), group, aggregate.windowStart);
                byte[] value = alertSerializer.serialize(settings.alertsTopic(), alert);
                alerts.put(key, value, nowMs);
                context.forward(new Record<>(key, value, recordTimestamp(aggregate, nowMs, accepted), new RecordHeaders()), ALERTS_SINK);
                metrics.alertFired(rule.name());
            }
        }
    }

    private void send(String group, WindowAggregate aggregate, boolean isFinal, long nowMs) {
        ExplanationStats stats = aggregate.toStats(isFinal, nowMs, settings.deltaWarn());
        context.forward(new Record<>(statsKey(group, aggregate.windowStart), statsSerializer.serialize(settings.statsTopic(), stats),
                recordTimestamp(aggregate, nowMs, accepted), new RecordHeaders()), STATS_SINK);
    }

    /**
     * The timestamp of a window's stats or alert record: the window's start, or the time it is
     * written when the window starts later. Event times may run up to a day ahead of this clock
     * (EventValidator's skew), but a broker refuses a record more than
     * message.timestamp.after.max.ms ahead of its own clock (1 hour by default since Kafka 4.0):
     * the write failed on every try and stopped the stream thread. Likewise a start further back
     * than a bound on the past (message.timestamp.before.max.ms; a day-long window's start is a
     * day old before it closes) is replaced by the write time. Readers take the window from the
     * value (window_start, window_end), never from the record's timestamp.
     */
    static long recordTimestamp(WindowAggregate aggregate, long nowMs, TimestampWindow accepted) {
        return accepted.acceptable(Math.min(aggregate.windowStart, nowMs), nowMs);
    }

    /** The stats topic's key: group and window start, so that a sink upserts each window (and a compacted topic keeps its last state). */
    static String statsKey(String group, long windowStart) {
        return group + "@" + Instant.ofEpochMilli(windowStart);
    }

    static String alertKey(String rule, String group, long windowStart) {
        return rule + "|" + statsKey(group, windowStart);
    }

    static AuditAlert alert(AlertRule rule, WindowAggregate aggregate, long nowMs) {
        return AuditAlert.newBuilder()
                .setRule(rule.name())
                .setCondition(rule.condition())
                .setMetric(rule.metric().name())
                .setOperator(rule.operator().symbol())
                .setValue(rule.metric().value(aggregate))
                .setThreshold(rule.threshold())
                .setGroupKey(aggregate.group().text())
                .setGroup(aggregate.group().map())
                .setWindowStart(Instant.ofEpochMilli(aggregate.windowStart))
                .setWindowEnd(Instant.ofEpochMilli(aggregate.windowEnd))
                .setEvents(aggregate.events)
                .setExampleEventIds(rule.metric().examples(aggregate, rule.operator()))
                .setFiredAt(Instant.ofEpochMilli(nowMs))
                .build();
    }

    /** The store's window size, for its builder. */
    static Duration windowSize(StatsSettings settings) {
        return settings.window();
    }
}
