package io.explainstream.stream.output;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.stream.ingest.InputEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * An event the service chose not to explain to stay within its compute budget (outside the
 * sample with {@code audit.cheap.method=skip}, or shed under backlog), as the statistics count it:
 * without it a window of 14 explanations says nothing of the 17 events skipped beside them. It
 * carries what a window groups and times by, never the prompt or response. JSON on the service's
 * internal topic {@code <application.id>-skipped}; unknown fields are ignored, so that an instance of
 * the previous release reads the notices of the next during a rolling upgrade.
 *
 * @param eventId the event's id
 * @param timestampMs the event's timestamp, which chooses its window
 * @param model the event's source model
 * @param metadata the event's metadata
 * @param reason why it was skipped: {@code not_sampled} or {@code backlog}, as the
 *     {@code explainstream_events_skipped_total} counter's reason
 * @param recordTimestampMs the input record's timestamp, which the statistics' stream time follows
 *     for a skip as for an explanation or a dead letter of the same record (the notice itself is
 *     stamped with its write time, which the broker accepts and retention keeps whatever the event's
 *     age); null in notices written before it was carried
 */
public record SkipNotice(String eventId, long timestampMs, String model, Map<String, String> metadata, String reason, Long recordTimestampMs) {

    private static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public SkipNotice {
        // A copy that takes what the event carried as it is (Map.copyOf would throw on a null value).
        metadata = metadata == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(metadata));
    }

    public static SkipNotice of(InputEvent event, String reason, long recordTimestampMs) {
        return new SkipNotice(event.eventId(), event.timestampMs(), event.model(), event.metadata(), reason, recordTimestampMs);
    }

    public byte[] toBytes() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static SkipNotice fromBytes(byte[] bytes) throws IOException {
        return JSON.readValue(bytes, SkipNotice.class);
    }
}
