package io.explainstream.attribution.summary;

import java.util.Locale;

/** What a segment of the prompt stands for. */
public enum SegmentKind {
    /** The system message of a chat prompt. */
    SYSTEM,
    /** A user turn. */
    USER,
    /** An earlier assistant turn. */
    ASSISTANT,
    /** The chat template's own markup: BOS, {@code [INST]}, {@code <<SYS>>}, the newlines it adds. */
    TEMPLATE,
    /** The whole of a plain-text prompt, BOS included. */
    PROMPT,
    /** A span the caller named (a retrieved document, a tool's output). */
    SPAN;

    public String jsonName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
