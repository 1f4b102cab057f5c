package io.explainstream.attribution;

/**
 * How large an explanation's convergence delta is beside what it explains. An absolute delta of
 * 0.02 is noise when the response's log-probabilities moved by 5 from baseline to input, and most
 * of the signal when they moved by 0.05; the relative delta puts every run on one scale.
 *
 * <p>relative delta = Σ_t |delta_t| / Σ_t |f_t(x) − f_t(b)| with per-target deltas (the token
 * matrix), else |sequence delta| / Σ_t |f_t(x) − f_t(b)|. Summing absolute values keeps targets
 * whose errors have opposite signs from hiding each other.
 */
public final class CompletenessGap {

    /** The relative delta over which renderers warn, unless told otherwise ({@code --delta-warn}). */
    public static final double DEFAULT_WARN_ABOVE = 0.05;

    private CompletenessGap() {}

    /**
     * The relative delta from an explanation's numbers (as an {@link Attribution} or an Avro
     * {@code Explanation} carries them): NaN when there is no baseline (the gradient methods),
     * 0 when nothing moved and nothing is missing, +∞ when nothing moved yet a delta remains.
     *
     * @param responseLogProbs f_t(x), one per response token
     * @param baselineLogProbs f_t(b), aligned with them; empty without a baseline
     * @param convergenceDelta per-target deltas; empty without the token matrix
     * @param sequenceDelta Σ_t (f_t(x) − f_t(b)) − Σ_i seq_attr[i]
     */
    public static double relativeDelta(double[] responseLogProbs, double[] baselineLogProbs, double[] convergenceDelta, double sequenceDelta) {
        if (baselineLogProbs.length == 0 || baselineLogProbs.length != responseLogProbs.length) {
            return Double.NaN;
        }
        double moved = 0;
        for (int t = 0; t < responseLogProbs.length; t++) {
            moved += Math.abs(responseLogProbs[t] - baselineLogProbs[t]);
        }
        double missing = 0;
        if (convergenceDelta.length == 0) {
            missing = Math.abs(sequenceDelta);
        } else {
            for (double delta : convergenceDelta) {
                missing += Math.abs(delta);
            }
        }
        if (moved == 0) {
            return missing == 0 ? 0 : Double.POSITIVE_INFINITY;
        }
        return missing / moved;
    }

    /** The relative delta of an explanation; see {@link #relativeDelta(double[], double[], double[], double)}. */
    public static double relativeDelta(Attribution attribution) {
        return relativeDelta(attribution.responseLogProbs(), attribution.baselineLogProbs(), attribution.convergenceDelta(),
                attribution.sequenceDelta());
    }

    /** Whether a relative delta is over the threshold; NaN (no baseline) never is. */
    public static boolean overThreshold(double relativeDelta, double warnAbove) {
        return relativeDelta > warnAbove;
    }
}
