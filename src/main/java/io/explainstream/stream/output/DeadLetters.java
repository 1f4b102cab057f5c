package io.explainstream.stream.output;

import io.explainstream.avro.Utf8Text;
import io.explainstream.stream.ingest.SourcePosition;
import io.explainstream.text.Shortened;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.Record;

/**
 * Dead-letter records: the original key and value bytes, the reason and where the record came from
 * in headers. A dead letter is at most {@code maxRecordBytes} of key and value: a record over the
 * producer's or the broker's size limit would fail its transaction on every retry and stop the
 * partition, so a longer original is cut, says so in {@link #CUT}, and keeps its source position
 * headers, which find the whole original on the input topic.
 *
 * @param maxRecordBytes the most key and value bytes of one dead letter
 */
public record DeadLetters(int maxRecordBytes) {

    public static final String REASON = "explainstream.error.reason";
    public static final String EXCEPTION = "explainstream.error.class";
    public static final String STAGE = "explainstream.error.stage";
    public static final String TOPIC = "explainstream.source.topic";
    public static final String PARTITION = "explainstream.source.partition";
    public static final String OFFSET = "explainstream.source.offset";
    public static final String SOURCE_TIMESTAMP = SourceTimestamp.HEADER;
    public static final String FAILED_AT = "explainstream.error.time";
    /** Present on a cut dead letter: the original key and value sizes, as {@code key=K value=V bytes}. */
    public static final String CUT = "explainstream.error.cut";
    /**
     * The {@code application.id} of the service that wrote the dead letter: two services (or a
     * service and a replay) that share a dead-letter topic each write one for a bad record.
     */
    public static final String APPLICATION = "explainstream.application.id";

    /** The longest reason header: an exception message can quote its input at any length. */
    static final int MAX_REASON_CHARS = 4096;

    /** Where in the pipeline an event failed. */
    public enum Stage {
        /** Decoding and validation, as the event entered. */
        VALIDATION,
        /** The attribution engine, after splitting its batch down to this event. */
        ATTRIBUTION,
        /** Publishing: the explanation is larger than the service may write. */
        OUTPUT
    }

    /** A dead letter of this original, written by the service {@code application} ({@link #APPLICATION}). */
    public Record<byte[], byte[]> record(byte[] key, byte[] value, SourcePosition source, Stage stage, Throwable error, String application,
            long nowMs) {
        RecordHeaders headers = new RecordHeaders();
        int keyBytes = key == null ? 0 : key.length;
        int valueBytes = value == null ? 0 : value.length;
        if (keyBytes + valueBytes > maxRecordBytes) {
            add(headers, CUT, "key=" + keyBytes + " value=" + valueBytes + " bytes");
            // The key keeps up to half the budget, the value what is left.
            key = key == null ? null : Arrays.copyOf(key, Math.min(keyBytes, maxRecordBytes / 2));
            value = value == null ? null : Arrays.copyOf(value, maxRecordBytes - (key == null ? 0 : key.length));
        }
        add(headers, REASON, reason(error));
        add(headers, EXCEPTION, error.getClass().getName());
        add(headers, STAGE, stage.name().toLowerCase());
        add(headers, TOPIC, source.topic());
        add(headers, PARTITION, Integer.toString(source.partition()));
        add(headers, OFFSET, Long.toString(source.offset()));
        add(headers, SOURCE_TIMESTAMP, Instant.ofEpochMilli(source.timestampMs()).toString());
        add(headers, FAILED_AT, Instant.ofEpochMilli(nowMs).toString());
        add(headers, APPLICATION, application);
        return new Record<>(key, value, source.timestampMs(), headers);
    }

    /**
     * A dead letter whose original value was not kept (an event too large to wait in the batch
     * store with it): the value is empty, {@link #CUT} gives the original sizes, and the source
     * position headers find the original on the input topic.
     */
    public Record<byte[], byte[]> withoutValue(byte[] key, int valueBytes, SourcePosition source, Stage stage, Throwable error, String application,
            long nowMs) {
        Record<byte[], byte[]> record = record(key, new byte[0], source, stage, error, application, nowMs);
        record.headers().remove(CUT);
        add(record.headers(), CUT, "key=" + (key == null ? 0 : key.length) + " value=" + valueBytes + " bytes");
        return record;
    }

    private static String reason(Throwable error) {
        // A reason quotes its input, which may hold lone surrogates: the UTF-8 header would show '?'.
        String message = Utf8Text.printable(error.getMessage() == null ? error.getClass().getSimpleName() : error.getMessage());
        return Shortened.cut(message, MAX_REASON_CHARS);
    }

    private static void add(Headers headers, String name, String value) {
        headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
