package io.explainstream.attribution.summary;

/**
 * A word before scoring: a run of prompt tokens.
 *
 * @param text the characters of the prompt it covers (a special token's piece, such as {@code <s>})
 * @param start first character (UTF-16 index)
 * @param end one past the last character
 * @param tokenStart index of its first token in the prompt tokens
 * @param tokenEnd one past its last token
 */
public record WordSpan(String text, int start, int end, int tokenStart, int tokenEnd) {}
