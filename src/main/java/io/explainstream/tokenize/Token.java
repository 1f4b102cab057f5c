package io.explainstream.tokenize;

/**
 * One token of an encoded text.
 *
 * @param id vocabulary id
 * @param piece the vocabulary entry, for example {@code "▁Once"}
 * @param start first character (UTF-16 index) of the original text this token covers
 * @param end one past the last character it covers; {@code start == end} for added tokens such as BOS
 */
public record Token(long id, String piece, int start, int end) {}
