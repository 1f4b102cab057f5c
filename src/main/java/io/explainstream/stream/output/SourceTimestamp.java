package io.explainstream.stream.output;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * The input record's timestamp, in a header of the records written for it. Explanations and dead
 * letters keep that timestamp as their own, except where their topic refuses it (an event older
 * than the topic's {@code message.timestamp.before.max.ms}): then they carry the time they were
 * written, and only this header still says which time range they belong to. Every dead letter has
 * it; an explanation has it when its timestamp was moved.
 */
public final class SourceTimestamp {

    /** An ISO-8601 instant, such as {@code 2026-11-20T00:00:00Z}. */
    public static final String HEADER = "explainstream.source.timestamp";

    private SourceTimestamp() {}

    /** Adds the header unless the record already has one (a dead letter does from the start). */
    public static void mark(Headers headers, long sourceTimestampMs) {
        if (headers.lastHeader(HEADER) == null) {
            headers.add(HEADER, Instant.ofEpochMilli(sourceTimestampMs).toString().getBytes(StandardCharsets.UTF_8));
        }
    }

    /** The header's time, or null when there is none or it is not an instant. */
    public static Long read(Headers headers) {
        Header header = headers.lastHeader(HEADER);
        if (header == null || header.value() == null) {
            return null;
        }
        try {
            return Instant.parse(new String(header.value(), StandardCharsets.UTF_8)).toEpochMilli();
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /** The time a record stands for: the header's, else the record's own timestamp. */
    public static long of(Headers headers, long recordTimestampMs) {
        Long source = read(headers);
        return source != null ? source : recordTimestampMs;
    }
}
