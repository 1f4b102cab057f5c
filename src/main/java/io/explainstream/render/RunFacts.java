package io.explainstream.render;

import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.GradientMethod;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.CompletenessGap;
import java.util.Locale;

/**
 * The facts line above an explanation, shared by the terminal and HTML renderers so both say the
 * same: the settings that apply to its method, and the convergence delta with its scale.
 */
public final class RunFacts {

    private RunFacts() {}

    /**
     * The method and what it used: integrated gradients has a rule, steps and a baseline; the
     * gradient methods take one pass at the input and have none of them, so none is shown.
     */
    public static String method(Attribution attribution) {
        AttributionSettings settings = attribution.settings();
        String bos = "BOS " + (settings.includeBos() ? "attributed" : "skipped");
        if (settings.method() != GradientMethod.INTEGRATED_GRADIENTS) {
            return settings.method().optionName() + " · " + bos;
        }
        return String.format(Locale.ROOT, "%s · %s · %d steps · baseline %s · %s", settings.method().optionName(),
                settings.integration().optionName(), attribution.steps(), settings.baseline().optionName(), bos);
    }

    /** The delta as the facts line shows it, or null for a method without a baseline. */
    public static Delta delta(Attribution attribution, double warnAbove) {
        if (attribution.baselineLogProbs().length == 0) {
            return null;
        }
        String absolute = attribution.convergenceDelta().length == 0
                ? String.format(Locale.ROOT, "sequence delta %+.4f", attribution.sequenceDelta())
                : String.format(Locale.ROOT, "max |delta| %.4f", attribution.maxAbsDelta());
        double relative = CompletenessGap.relativeDelta(attribution);
        return new Delta(absolute, relative, CompletenessGap.overThreshold(relative, warnAbove), warnAbove);
    }

    /**
     * A delta, absolute and relative to Σ_t |f_t(x) − f_t(b)| (see {@link CompletenessGap}).
     *
     * @param absolute the absolute value as text, for example {@code max |delta| 0.0213}
     * @param relative the relative delta (a fraction)
     * @param warning whether it is over the threshold
     * @param warnAbove the threshold
     */
    public record Delta(String absolute, double relative, boolean warning, double warnAbove) {

        /** For example {@code max |delta| 0.0213 (1.2% of Σ|f(x)−f(b)|)}. */
        public String text() {
            return absolute + " (" + (warning ? percentAbove(relative, warnAbove) : percent(relative)) + " of Σ|f(x)−f(b)|)";
        }

        /**
         * The same for an HTML page, the warning in bold red: a page's own style sheet need not
         * know the class, so the style is inline.
         */
        public String html() {
            String text = HtmlReport.escape(text());
            return warning ? "<span class=\"delta-warning\" style=\"color:#c62828;font-weight:bold\">" + text + " · "
                    + HtmlReport.escape(warningText()) + "</span>" : text;
        }

        /** The warning's words, or an empty string when there is none. */
        public String warningText() {
            return warning ? "warning: relative delta over " + percent(warnAbove) + ": the scores do not add up to the change; use more steps" : "";
        }
    }

    /**
     * A percentage over {@code threshold}, with as many decimals as it takes to read as over it: a
     * delta of 5.04% flagged as over 5% read "5.0%".
     */
    static String percentAbove(double fraction, double threshold) {
        String shown = percent(fraction);
        for (int decimals = 2; decimals <= 6 && Double.isFinite(fraction) && 100 * fraction >= 0.1
                && Double.parseDouble(shown.substring(0, shown.length() - 1)) <= 100 * threshold; decimals++) {
            shown = String.format(Locale.ROOT, "%." + decimals + "f%%", 100 * fraction);
        }
        return shown;
    }

    static String percent(double fraction) {
        if (Double.isInfinite(fraction)) {
            return "∞%";
        }
        double percent = 100 * fraction;
        if (percent != 0 && percent < 0.1) {
            return "<0.1%";
        }
        return String.format(Locale.ROOT, percent == Math.rint(percent) ? "%.0f%%" : "%.1f%%", percent);
    }
}
