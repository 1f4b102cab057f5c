package io.explainstream.stream.config;

import org.apache.kafka.clients.admin.Config;

/**
 * What a topic the service writes does with a record's timestamp, read at start: how long it keeps
 * the record after it, and which timestamps it accepts at all.
 */
public record TopicTimes(TopicRetention retention, TimestampWindow accepted) {

    /** A topic that keeps every record and accepts every timestamp (one not described). */
    public static final TopicTimes ANY = new TopicTimes(TopicRetention.KEEPS, TimestampWindow.ANY);

    public static TopicTimes of(Config config) {
        return new TopicTimes(TopicRetention.of(config), TimestampWindow.of(config));
    }
}
