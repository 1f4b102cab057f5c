package io.explainstream.dashboard;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.schema.AuditAlert;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.schema.ShareStats;
import io.explainstream.stats.AvroJson;
import io.explainstream.stats.StatsText;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Trends and alerts as the service published them: the windows of the statistics topic
 * ({@code ExplanationStats}) and the alerts topic ({@code AuditAlert}). A window is published
 * several times while it fills and once more, final, when it closes; the record read last for a
 * window and group is its state (the topic is keyed so, and a key stays in one partition), so each
 * replaces the one before. At most {@link #MAX_WINDOWS} windows and {@link #MAX_ALERTS} alerts are
 * held; beyond that the oldest windows go first.
 */
final class TopicTrends implements TrendSource {

    static final String SOURCE = "topic";
    static final int MAX_WINDOWS = 10_000;
    static final int MAX_ALERTS = 1_000;
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** Group fields that name the model, as stats.group.by may spell them. */
    private static final List<String> MODEL_FIELDS = List.of("source_model", "model_id");

    /** What the dashboard knows of the statistics topic. */
    enum TopicState {
        /** Not looked up yet. */
        UNKNOWN,
        /** The cluster has no such topic: the service runs without statistics, or has not started. */
        MISSING,
        /** The topic exists, and no window has been read from it (since --from). */
        EMPTY,
        /** Windows are being read from it. */
        READING
    }

    /**
     * One window of one group; ordered by start, so that the oldest go first. The length is part of
     * the key: a 20 s and a 60 s window that start together (stats.window changed, or two services
     * write the topic) are different windows, not versions of one.
     */
    private record WindowKey(long start, long length, String group) implements Comparable<WindowKey> {
        private static final Comparator<WindowKey> ORDER = Comparator.comparingLong(WindowKey::start).thenComparingLong(WindowKey::length)
                .thenComparing(WindowKey::group);

        @Override
        public int compareTo(WindowKey other) {
            return ORDER.compare(this, other);
        }
    }

    /** One alert: a rule that held for one window of one group. */
    private record AlertKey(WindowKey window, String rule) implements Comparable<AlertKey> {
        private static final Comparator<AlertKey> ORDER = Comparator.comparing(AlertKey::window).thenComparing(AlertKey::rule);

        @Override
        public int compareTo(AlertKey other) {
            return ORDER.compare(this, other);
        }
    }

    private final String statsTopic;
    private final String alertsTopic;
    private final TreeMap<WindowKey, ExplanationStats> windows = new TreeMap<>();
    private final TreeMap<AlertKey, AuditAlert> alerts = new TreeMap<>();
    private TopicState statsTopicState = TopicState.UNKNOWN;
    private long versionsRead;

    TopicTrends(String statsTopic, String alertsTopic) {
        this.statsTopic = statsTopic;
        this.alertsTopic = alertsTopic;
    }

    String statsTopic() {
        return statsTopic;
    }

    String alertsTopic() {
        return alertsTopic;
    }

    /** A version of a window: it replaces the one held for the same window and group. */
    synchronized void add(ExplanationStats stats) {
        versionsRead++;
        statsTopicState = TopicState.READING;
        windows.put(new WindowKey(stats.getWindowStart().toEpochMilli(), length(stats), stats.getGroupKey()), stats);
        while (windows.size() > MAX_WINDOWS) {
            windows.pollFirstEntry();
        }
    }

    synchronized void add(AuditAlert alert) {
        long length = alert.getWindowEnd().toEpochMilli() - alert.getWindowStart().toEpochMilli();
        alerts.put(new AlertKey(new WindowKey(alert.getWindowStart().toEpochMilli(), length, alert.getGroupKey()), alert.getRule()), alert);
        while (alerts.size() > MAX_ALERTS) {
            alerts.pollFirstEntry();
        }
    }

    /** Which of the topics exist, as the reader found them. */
    synchronized void topicsExisting(Set<String> existing) {
        if (statsTopicState != TopicState.READING) {
            statsTopicState = existing.contains(statsTopic) ? TopicState.EMPTY : TopicState.MISSING;
        }
    }

    synchronized TopicState statsTopicState() {
        return statsTopicState;
    }

    synchronized boolean hasWindows() {
        return !windows.isEmpty();
    }

    @Override
    public ObjectNode describe() {
        return NODES.objectNode().put("trends_source", SOURCE).put("stats_topic", statsTopic).put("alerts_topic", alertsTopic)
                .put("stats_topic_state", statsTopicState().name().toLowerCase(Locale.ROOT));
    }

    /**
     * The windows of one length only: totals of windows of different lengths would add a minute's
     * events to twenty seconds' and draw false spikes. The length is the one asked for, else that
     * of the most recent window (the latest start; among windows starting together, the one
     * published last), which is the service's stats.window as it runs now. The lengths left out
     * are named in {@code left_out_window_ms}.
     */
    @Override
    public synchronized ObjectNode stats(TrendQuery query) {
        requireModelField(query.model());
        List<ExplanationStats> forModel = windows.values().stream().filter(forModel(query.model(), ExplanationStats::getGroup)).toList();
        List<ExplanationStats> matching = List.of();
        Set<Long> leftOut = new TreeSet<>();
        if (!forModel.isEmpty()) {
            long chosen = query.window() != null ? lengthAsked(forModel, query.window()) : latestLength(forModel);
            matching = lastStarts(forModel.stream().filter(s -> length(s) == chosen).toList(), query.limit());
            forModel.stream().map(TopicTrends::length).filter(l -> l != chosen).forEach(leftOut::add);
        }
        long withoutModel = query.model() == null ? 0 : windows.values().stream().filter(stats -> !namesModel(stats.getGroup())).count();
        ObjectNode answer = NODES.objectNode();
        answer.put("source", SOURCE);
        answer.put("topic", statsTopic);
        answer.put("note", "the latest version of each window and group on " + statsTopic + " (" + windows.size() + " held, at most " + MAX_WINDOWS
                + "; " + versionsRead + " versions read); totals add the groups up, latency p50 is the largest of the groups'"
                + (leftOut.isEmpty() ? "" : "; windows of other lengths " + leftOut + " ms are left out (ask for one with window=<seconds>)")
                + (withoutModel == 0 ? "" : "; " + withoutModel + " windows whose groups name no model (an earlier stats.group.by without "
                        + String.join(" or ", MODEL_FIELDS) + ") are left out of model=" + query.model() + ", though they may hold its traffic"));
        answer.put("left_out_without_model", withoutModel);
        if (!matching.isEmpty()) {
            answer.put("window_ms", length(matching.get(matching.size() - 1)));
        }
        ArrayNode leftOutNode = answer.putArray("left_out_window_ms");
        leftOut.forEach(leftOutNode::add);
        ArrayNode rows = answer.putArray("windows");
        matching.forEach(stats -> rows.add(window(stats)));
        ArrayNode totals = answer.putArray("totals");
        byStart(matching).forEach((start, group) -> totals.add(total(group)));
        return answer;
    }

    @Override
    public synchronized ObjectNode alerts(TrendQuery query) {
        requireModelField(query.model());
        ObjectNode answer = NODES.objectNode();
        answer.put("source", SOURCE);
        answer.put("topic", alertsTopic);
        answer.put("note", "the alerts on " + alertsTopic + " (" + alerts.size() + " held, at most " + MAX_ALERTS
                + "): rules alert.<name>.when of the service, tested on each window when it closes");
        ArrayNode rows = answer.putArray("alerts");
        alerts.descendingMap().values().stream().filter(forModel(query.model(), AuditAlert::getGroup)).limit(query.limit())
                .forEach(alert -> rows.add(alert(alert)));
        return answer;
    }

    /**
     * A model asked of windows whose groups do not name one (stats.group.by without source_model
     * or model_id) would match nothing and look like a model without traffic: refuse it, naming
     * the fields the windows are grouped by. Windows of an earlier stats.group.by that did name
     * the model still answer.
     */
    private void requireModelField(String model) {
        if (model == null || windows.isEmpty() || windows.values().stream().anyMatch(stats -> namesModel(stats.getGroup()))) {
            return;
        }
        Set<String> fields = new TreeSet<>();
        windows.values().forEach(stats -> fields.addAll(stats.getGroup().keySet()));
        throw new BadRequestException("model = " + model + ": the statistics topic's windows are grouped by the fields " + fields
                + " (stats.group.by), none of which names the model (" + String.join(" or ", MODEL_FIELDS)
                + "); leave model out, or run the service with source_model in stats.group.by");
    }

    /** The asked length in milliseconds; none held of it is a question the topic cannot answer. */
    private static long lengthAsked(List<ExplanationStats> all, Duration window) {
        if (all.stream().noneMatch(s -> length(s) == window.toMillis())) {
            Set<Long> lengths = new TreeSet<>();
            all.forEach(s -> lengths.add(length(s) / 1000));
            throw new BadRequestException("the stats topic's windows are " + lengths + " s long (the service's stats.window), not " + window.toSeconds()
                    + " s; leave window out or ask for one of those");
        }
        return window.toMillis();
    }

    /** The length of the most recent window: the latest start, and of those the one published last. */
    private static long latestLength(List<ExplanationStats> all) {
        return length(all.stream().max(Comparator.comparing(ExplanationStats::getWindowStart).thenComparing(ExplanationStats::getEmittedAt)).orElseThrow());
    }

    /** The windows of the {@code limit} latest window starts (all their groups), oldest first. */
    private static List<ExplanationStats> lastStarts(List<ExplanationStats> windows, int limit) {
        List<Long> starts = windows.stream().map(s -> s.getWindowStart().toEpochMilli()).distinct().sorted().toList();
        if (starts.size() <= limit) {
            return windows;
        }
        long earliest = starts.get(starts.size() - limit);
        return windows.stream().filter(s -> s.getWindowStart().toEpochMilli() >= earliest).toList();
    }

    /** Keeps a record when no model is asked for, or when its group names the model asked for. */
    private static boolean namesModel(Map<String, String> group) {
        return MODEL_FIELDS.stream().anyMatch(group::containsKey);
    }

    private static <T> Predicate<T> forModel(String model, java.util.function.Function<T, Map<String, String>> group) {
        return record -> model == null || MODEL_FIELDS.stream().anyMatch(field -> model.equals(group.apply(record).get(field)));
    }

    private static long length(ExplanationStats stats) {
        return stats.getWindowEnd().toEpochMilli() - stats.getWindowStart().toEpochMilli();
    }

    private static Map<Long, List<ExplanationStats>> byStart(List<ExplanationStats> windows) {
        Map<Long, List<ExplanationStats>> byStart = new TreeMap<>();
        windows.forEach(s -> byStart.computeIfAbsent(s.getWindowStart().toEpochMilli(), k -> new ArrayList<>()).add(s));
        return byStart;
    }

    /** The record as published (AvroJson), with its start and end as epoch milliseconds for the charts. */
    private static ObjectNode window(ExplanationStats stats) {
        ObjectNode row = NODES.objectNode();
        row.put("start", stats.getWindowStart().toEpochMilli());
        row.put("end", stats.getWindowEnd().toEpochMilli());
        row.setAll(AvroJson.of(stats));
        return row;
    }

    /**
     * One window start's groups added up, in the fields of {@link InMemoryTrends}' windows: counts
     * summed, means weighted by the events each is over, maxima the largest. A p50 of several
     * groups cannot be had from theirs: the largest is shown.
     */
    private static ObjectNode total(List<ExplanationStats> groups) {
        ExplanationStats first = groups.get(0);
        ObjectNode row = NODES.objectNode();
        row.put("start", first.getWindowStart().toEpochMilli());
        row.put("end", first.getWindowEnd().toEpochMilli());
        row.put("groups", groups.size());
        row.put("final", groups.stream().allMatch(ExplanationStats::getFinal$));
        row.put("events", groups.stream().mapToLong(ExplanationStats::getEvents).sum());
        row.put("dead_letters", groups.stream().mapToLong(s -> s.getDeadLetters().getCount()).sum());
        // Only the service's windows know the events skipped to stay within the budget (the in-memory trends see explanations).
        row.put("skipped", groups.stream().mapToLong(s -> s.getSkipped().getCount()).sum());
        // Events that came after their window closed, counted in this one: the totals would not add up to the explanations read without them.
        row.put("late_events", groups.stream().mapToLong(ExplanationStats::getLateEvents).sum());
        // Of those, the dead letters and skipped events: late, they are in no window's dead_letters or skipped.
        row.put("late_dead_letters", groups.stream().mapToLong(ExplanationStats::getLateDeadLetters).sum());
        row.put("late_skipped", groups.stream().mapToLong(ExplanationStats::getLateSkipped).sum());
        List<ExplanationStats> explained = groups.stream().filter(s -> s.getEvents() > 0).toList();
        row.put("latency_ms_p50", explained.stream().mapToDouble(s -> s.getLatency().getP50Ms()).max().orElse(0));
        row.put("latency_ms_max", explained.stream().mapToDouble(s -> s.getLatency().getMaxMs()).max().orElse(0));
        double finite = groups.stream().mapToLong(s -> s.getFaithfulness().getEvents() - s.getFaithfulness().getUnbounded()).sum();
        if (finite > 0) {
            row.put("relative_delta_mean", groups.stream()
                    .mapToDouble(s -> s.getFaithfulness().getRelDeltaMean() * (s.getFaithfulness().getEvents() - s.getFaithfulness().getUnbounded())).sum() / finite);
            row.put("relative_delta_max", groups.stream().mapToDouble(s -> s.getFaithfulness().getRelDeltaMax()).max().orElseThrow());
        } else {
            row.putNull("relative_delta_mean");
            row.putNull("relative_delta_max");
        }
        row.put("delta_warnings", groups.stream().mapToLong(s -> s.getFaithfulness().getOverWarn()).sum());
        Map<String, double[]> shares = new TreeMap<>(); // kind → {sum of share × events, events}
        for (ExplanationStats stats : groups) {
            for (Map.Entry<String, ShareStats> kind : stats.getReliance().entrySet()) {
                double[] sum = shares.computeIfAbsent(kind.getKey().toLowerCase(Locale.ROOT), k -> new double[2]);
                sum[0] += kind.getValue().getShareMean() * kind.getValue().getEvents();
                sum[1] += kind.getValue().getEvents();
            }
        }
        ObjectNode shareNode = row.putObject("segment_share_mean");
        shares.forEach((kind, sum) -> {
            if (sum[1] > 0) {
                shareNode.put(kind, sum[0] / sum[1]);
            }
        });
        return row;
    }

    /** The record as published (AvroJson), and what the page shows: a severity, a sentence, the model when the group names it. */
    private static ObjectNode alert(AuditAlert alert) {
        ObjectNode row = AvroJson.of(alert);
        row.put("severity", "alert");
        // Counts as whole numbers and thresholds as written: the page read "dlq.count = 4.000 > 0.0" (helper-78).
        row.put("message", String.format(Locale.ROOT, "%s = %s %s %s in %s (%d events; rule %s: %s)", alert.getMetric(), StatsText.number(alert.getValue()),
                alert.getOperator(), StatsText.threshold(alert.getThreshold()), alert.getGroupKey(), alert.getEvents(), alert.getRule(), alert.getCondition()));
        MODEL_FIELDS.stream().map(field -> alert.getGroup().get(field)).filter(java.util.Objects::nonNull).findFirst()
                .ifPresent(model -> row.put("model_id", model));
        return row;
    }
}
