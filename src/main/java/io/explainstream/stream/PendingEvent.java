package io.explainstream.stream;

/**
 * An admitted event waiting in the batch store. It keeps the original key and value bytes, so an
 * event that the engine cannot explain still reaches the dead-letter topic unchanged.
 *
 * @param sequence arrival order within this task; the store key
 * @param admission the validated event and its token counts
 * @param source where it was read
 * @param rawKey the input record's key bytes (may be null)
 * @param rawValue the input record's value bytes
 * @param enqueuedAtMs wall-clock time it entered the store
 */
public record PendingEvent(long sequence, Admission admission, SourcePosition source, byte[] rawKey, byte[] rawValue, long enqueuedAtMs) {

    public String eventId() {
        return admission.event().eventId();
    }
}
