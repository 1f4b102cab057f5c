package io.explainstream.stream;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.Record;

/**
 * Dead-letter records: the original key and value bytes unchanged, the reason and where the record
 * came from in headers.
 */
public final class DeadLetters {

    public static final String REASON = "explainstream.error.reason";
    public static final String EXCEPTION = "explainstream.error.class";
    public static final String STAGE = "explainstream.error.stage";
    public static final String TOPIC = "explainstream.source.topic";
    public static final String PARTITION = "explainstream.source.partition";
    public static final String OFFSET = "explainstream.source.offset";
    public static final String SOURCE_TIMESTAMP = "explainstream.source.timestamp";
    public static final String FAILED_AT = "explainstream.error.time";

    /** Where in the pipeline an event failed. */
    public enum Stage {
        /** Decoding and validation, as the event entered. */
        VALIDATION,
        /** The attribution engine, after splitting its batch down to this event. */
        ATTRIBUTION
    }

    private DeadLetters() {}

    public static Record<byte[], byte[]> record(byte[] key, byte[] value, SourcePosition source, Stage stage, Throwable error, long nowMs) {
        RecordHeaders headers = new RecordHeaders();
        add(headers, REASON, error.getMessage() == null ? error.getClass().getSimpleName() : error.getMessage());
        add(headers, EXCEPTION, error.getClass().getName());
        add(headers, STAGE, stage.name().toLowerCase());
        add(headers, TOPIC, source.topic());
        add(headers, PARTITION, Integer.toString(source.partition()));
        add(headers, OFFSET, Long.toString(source.offset()));
        add(headers, SOURCE_TIMESTAMP, Instant.ofEpochMilli(source.timestampMs()).toString());
        add(headers, FAILED_AT, Instant.ofEpochMilli(nowMs).toString());
        return new Record<>(key, value, source.timestampMs(), headers);
    }

    private static void add(RecordHeaders headers, String name, String value) {
        headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
