package io.explainstream.attribution.summary;

/**
 * A span of the prompt the caller names, as it arrives: in the prompt text, or in one message's
 * content of a chat prompt.
 *
 * @param name the segment's name, for example {@code doc:kb-4411}
 * @param message index into the chat messages whose content the offsets point into; null for a
 *     plain-text prompt
 * @param start first character (UTF-16 index)
 * @param end one past the last character
 */
public record SpanRequest(String name, Integer message, int start, int end) {

    /** Most spans one prompt may name. */
    public static final int MAX_SPANS = 64;
    /** Longest span name, in characters. */
    public static final int MAX_NAME_CHARS = 128;
}
