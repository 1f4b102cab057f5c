package io.explainstream.attribution;

/**
 * A prompt token as reported with its scores.
 *
 * @param id vocabulary id
 * @param text the vocabulary piece, for example {@code "▁Once"}
 * @param start first character (UTF-16 index, as Java's and JavaScript's strings count) it covers in the prompt text
 * @param end one past the last character it covers
 * @param attributed false for positions kept fixed (BOS when skipped); their score is 0
 */
public record AttributionToken(long id, String text, int start, int end, boolean attributed) {}
