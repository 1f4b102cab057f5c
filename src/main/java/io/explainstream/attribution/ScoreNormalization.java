package io.explainstream.attribution;

import io.explainstream.model.Choices;
import java.util.Locale;

/** How raw scores are scaled for display; raw scores are always kept beside them. */
public enum ScoreNormalization {
    /** score / Σ|scores|: the absolute values sum to 1, so scores read as shares. */
    L1,
    /** score / max|score|: the strongest token is ±1. */
    MAX_ABS;

    /** Scales one row; an all-zero row stays zero. */
    public double[] apply(double[] scores) {
        double scale = 0;
        for (double score : scores) {
            scale = this == L1 ? scale + Math.abs(score) : Math.max(scale, Math.abs(score));
        }
        double[] normalized = new double[scores.length];
        if (scale > 0) {
            for (int i = 0; i < scores.length; i++) {
                normalized[i] = scores[i] / scale;
            }
        }
        return normalized;
    }

    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ScoreNormalization parse(String key, String value) {
        return Choices.parse(ScoreNormalization.class, ScoreNormalization::optionName, key, value, "a normalization");
    }
}
