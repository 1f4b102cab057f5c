package io.explainstream.attribution;

import io.explainstream.input.PlainNumber;
import java.util.Locale;

/**
 * What replaces each attributed prompt token at the start of the path (α = 0).
 *
 * @param kind which baseline
 * @param tokenId the token whose embedding is the baseline, for {@link Kind#TOKEN}; -1 otherwise
 */
public record Baseline(Kind kind, long tokenId) {

    /** The baseline choices. */
    public enum Kind {
        /** The embedding of {@code <unk>}: Captum's default (baseline id 0 in LLaMA tokenizers). */
        UNK,
        /** The embedding of the tokenizer's pad token. */
        PAD,
        /** The zero vector. */
        ZERO,
        /** The embedding of an explicit token id. */
        TOKEN
    }

    public static final Baseline UNK = new Baseline(Kind.UNK, -1);

    /** Parses {@code unk}, {@code pad}, {@code zero} or a token id; {@code key} names the option. */
    public static Baseline parse(String key, String value) {
        String text = value.trim().toLowerCase(Locale.ROOT);
        switch (text) {
            case "unk":
                return UNK;
            case "pad":
                return new Baseline(Kind.PAD, -1);
            case "zero":
                return new Baseline(Kind.ZERO, -1);
            default:
                try {
                    long id = PlainNumber.parseLong(text);
                    if (id >= 0) {
                        return new Baseline(Kind.TOKEN, id);
                    }
                } catch (NumberFormatException e) {
                    // reported below with the accepted forms
                }
                throw new IllegalArgumentException(key + " = '" + value + "' is not a baseline (use unk, pad, zero or a token id ≥ 0)");
        }
    }

    /** The form {@link #parse} reads back: {@code unk}, {@code pad}, {@code zero} or the id. */
    public String optionName() {
        return kind == Kind.TOKEN ? Long.toString(tokenId) : kind.name().toLowerCase(Locale.ROOT);
    }
}
