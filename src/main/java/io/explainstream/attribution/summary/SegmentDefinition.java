package io.explainstream.attribution.summary;

/**
 * A segment before scoring: what it stands for and where, in the text the token offsets point
 * into (the prompt, or the rendered chat template).
 *
 * @param name {@code prompt}, {@code template}, {@code system}, {@code user[0]}, ... or the caller's name
 * @param kind what it stands for
 * @param start first character (UTF-16 index) of the message or span
 * @param end one past its last character
 */
public record SegmentDefinition(String name, SegmentKind kind, int start, int end) {}
