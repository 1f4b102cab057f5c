package io.explainstream.stream.config;

/**
 * What the topics the topology writes do with record timestamps, read at start.
 *
 * @param output the output topic's retention and accepted timestamps
 * @param deadLetters the dead-letter topic's
 * @param changelogs the timestamps the store changelogs accept (Kafka Streams creates them with
 *     the broker's defaults and the {@code topic.}-prefixed settings): a store write carries the
 *     timestamp of the record being processed
 */
public record SinkTimes(TopicTimes output, TopicTimes deadLetters, TimestampWindow changelogs) {

    /** Topics that keep every record and accept every timestamp (none described). */
    public static final SinkTimes ANY = new SinkTimes(TopicTimes.ANY, TopicTimes.ANY, TimestampWindow.ANY);
}
