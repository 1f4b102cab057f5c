package io.explainstream.stream;

/**
 * When a batch of waiting events goes to the engine.
 *
 * @param maxEvents flush when this many events wait
 * @param maxTokens flush when their prompt + response tokens reach this
 * @param maxWaitMs flush when the oldest has waited this long (wall clock)
 */
public record BatchPolicy(int maxEvents, int maxTokens, long maxWaitMs) {}
