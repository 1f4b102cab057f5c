package io.explainstream.stats;

import io.explainstream.render.TokenText;
import io.explainstream.schema.AuditAlert;
import io.explainstream.schema.ExplanationStats;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * One line per window or alert, for {@code tail --stats}, {@code tail --alerts} and the demo's
 * summary. Group keys, segment names, words and event ids come from the traffic and are shown
 * with {@link TokenText#visible}, so that none acts on the terminal.
 */
public final class StatsText {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);

    private StatsText() {}

    /** For example {@code 2026-11-29 10:00:00–10:01:00 source_model=m,metadata.application=a final: 12 events, 1 dead letter, 30 skipped (not_sampled 30) · latency p50 ...}. */
    public static String line(ExplanationStats stats) {
        var faithfulness = stats.getFaithfulness();
        // A window of dead letters only has no explanation to take a delta of: not the gradient methods' doing.
        String delta = stats.getEvents() == 0 ? "no delta (no events)" : faithfulness.getEvents() == 0 ? "no delta (gradient methods)"
                : String.format(Locale.ROOT, "delta mean %s max %s, %d over %s", percent(faithfulness.getRelDeltaMean()), percent(faithfulness.getRelDeltaMax()),
                        faithfulness.getOverWarn(), percent(faithfulness.getWarnThreshold()));
        return String.format(Locale.ROOT, "%s %s %s: %s, %s%s%s · latency p50 %.0f ms, p95 %.0f ms, max %.0f ms · lag p50 %.1f s, max %.1f s · %s",
                window(stats.getWindowStart(), stats.getWindowEnd()), TokenText.visible(stats.getGroupKey()), stats.getFinal$() ? "final" : "open",
                count(stats.getEvents(), "event"), count(stats.getDeadLetters().getCount(), "dead letter"), skipped(stats), late(stats),
                stats.getLatency().getP50Ms(), stats.getLatency().getP95Ms(), stats.getLatency().getMaxMs(), stats.getLag().getP50Ms() / 1000,
                stats.getLag().getMaxMs() / 1000, delta) + reliance(stats);
    }

    /** ", 17 skipped (not_sampled 17)": the events the budget left unexplained beside those counted; empty where there were none. */
    private static String skipped(ExplanationStats stats) {
        if (stats.getSkipped() == null || stats.getSkipped().getCount() == 0) {
            return "";
        }
        return ", " + stats.getSkipped().getCount() + " skipped (" + new java.util.TreeMap<>(stats.getSkipped().getByReason()).entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue()).collect(java.util.stream.Collectors.joining(", ")) + ")";
    }

    /**
     * ", 161 late (28 dead letters, 133 skipped)": the events dropped because their window had
     * closed, and which of them were not explanations; empty where there were none.
     */
    private static String late(ExplanationStats stats) {
        if (stats.getLateEvents() == 0) {
            return "";
        }
        List<String> kinds = new java.util.ArrayList<>();
        if (stats.getLateDeadLetters() > 0) {
            kinds.add(count(stats.getLateDeadLetters(), "dead letter"));
        }
        if (stats.getLateSkipped() > 0) {
            kinds.add(stats.getLateSkipped() + " skipped");
        }
        return ", " + stats.getLateEvents() + " late" + (kinds.isEmpty() ? "" : " (" + String.join(", ", kinds) + ")");
    }

    /** Mean share per segment kind, mean entropy and the first top words; empty for a window without segments (records before v2). */
    private static String reliance(ExplanationStats stats) {
        if (stats.getConcentration() == null || stats.getConcentration().getEvents() == 0) {
            return "";
        }
        String shares = new java.util.TreeMap<>(stats.getReliance()).entrySet().stream()
                .map(e -> TokenText.visible(e.getKey()) + " " + percent(e.getValue().getShareMean())).collect(java.util.stream.Collectors.joining(", "));
        String words = stats.getTopWords().stream().limit(5).map(w -> TokenText.visible(w.getText())).collect(java.util.stream.Collectors.joining(" "));
        return String.format(Locale.ROOT, " · shares %s · entropy %.2f nats%s", shares, stats.getConcentration().getEntropyMean(),
                words.isEmpty() ? "" : " · top words " + words);
    }

    /** For example {@code ALERT unfaithful: delta.rel.max = 0.13 > 0.1 · source_model=... · 2026-11-29 10:00:00–10:01:00 UTC · 12 events · e.g. a, b}. */
    public static String line(AuditAlert alert) {
        return String.format(Locale.ROOT, "ALERT %s: %s = %s %s %s · %s · %s · %s · e.g. %s", alert.getRule(), alert.getMetric(),
                number(alert.getValue()), alert.getOperator(), number(alert.getThreshold()), TokenText.visible(alert.getGroupKey()),
                window(alert.getWindowStart(), alert.getWindowEnd()), count(alert.getEvents(), "event"),
                alert.getExampleEventIds().isEmpty() ? "-" : alert.getExampleEventIds().stream().map(TokenText::eventId)
                        .collect(java.util.stream.Collectors.joining(", ")));
    }

    /** {@code 1 event}, {@code 2 events}, {@code 0 events}. */
    static String count(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }

    static String window(Instant start, Instant end) {
        return TIME.format(start) + "–" + CLOCK.format(end) + " UTC";
    }

    private static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * fraction);
    }

    /** A metric's value or threshold as a person reads it: a count as a whole number (4, not 4.000), else four significant digits. */
    public static String number(double value) {
        return whole(value) ? Long.toString((long) value) : String.format(Locale.ROOT, "%.4g", value);
    }

    /** A rule's threshold as the rule gives it: 0 and 0.1, not 0.0 and 0.1000. */
    public static String threshold(double value) {
        return whole(value) ? Long.toString((long) value) : Double.toString(value);
    }

    private static boolean whole(double value) {
        return value == Math.rint(value) && Math.abs(value) < 1e15;
    }
}
