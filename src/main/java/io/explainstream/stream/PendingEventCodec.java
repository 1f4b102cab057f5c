package io.explainstream.stream;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The bytes of a pending event in the batch store and its changelog (JSON, internal only). The
 * processor encodes an event itself, before storing it, so that it knows the size of the
 * changelog record it is about to write.
 */
final class PendingEventCodec {

    private static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private PendingEventCodec() {}

    static byte[] encode(PendingEvent event) {
        try {
            return JSON.writeValueAsBytes(event);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode pending event " + event.eventId(), e);
        }
    }

    static PendingEvent decode(byte[] bytes) {
        try {
            return JSON.readValue(bytes, PendingEvent.class);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot decode a pending event of " + bytes.length + " bytes", e);
        }
    }
}
