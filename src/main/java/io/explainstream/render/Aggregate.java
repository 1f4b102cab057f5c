package io.explainstream.render;

import io.explainstream.model.Choices;
import java.util.Locale;

/** What a heatmap shows: prompt tokens, words, or tokens under a bar of segment shares. */
public enum Aggregate {
    TOKENS,
    WORDS,
    SEGMENTS;

    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Aggregate parse(String key, String value) {
        return Choices.parse(Aggregate.class, Aggregate::optionName, key, value, "an aggregation");
    }
}
