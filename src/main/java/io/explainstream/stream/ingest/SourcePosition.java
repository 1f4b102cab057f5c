package io.explainstream.stream.ingest;

/**
 * Where an input record came from, for dead letters and for the output's timestamp.
 *
 * @param topic source topic
 * @param partition source partition
 * @param offset source offset
 * @param timestampMs the record's timestamp
 */
public record SourcePosition(String topic, int partition, long offset, long timestampMs) {}
