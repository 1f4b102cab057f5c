package io.explainstream.stream.batch;

import io.explainstream.attribution.AttributionRequest;
import io.explainstream.attribution.summary.PromptLayout;
import io.explainstream.stream.audit.AuditPolicy;
import io.explainstream.stream.ingest.Admission;
import io.explainstream.stream.ingest.InputEvent;
import io.explainstream.stream.ingest.SourcePosition;
import io.explainstream.tokenize.EncodedText;
import io.explainstream.tokenize.Token;
import java.util.List;
import java.util.Map;

/**
 * An admitted event waiting in the batch store, in its compact form: the tokens it will be
 * explained on (already truncated) and the fields its explanation carries, never the prompt text
 * or the parsed event. Its stored size is therefore bounded by the token limits plus the metadata,
 * and known before it is stored ({@link PendingEventCodec}).
 *
 * @param sequence arrival order within this task; the store key
 * @param eventId the event's id
 * @param eventTimeMs the event's timestamp
 * @param model the model named in the event
 * @param metadata the event's metadata, carried to the explanation
 * @param promptTokens the prompt tokens to explain, after truncation
 * @param responseTokens the response tokens to explain, after truncation
 * @param promptTokensDropped oldest prompt tokens dropped by truncate_left
 * @param responseTokensDropped last response tokens dropped by truncate_right
 * @param source where it was read
 * @param rawKey the input record's key bytes (may be null)
 * @param rawValue the input record's value bytes, for a dead letter if the engine fails on it; null
 *     when keeping them would make the stored form too large (the dead letter then points at the
 *     source offset, like a cut one)
 * @param rawValueBytes the size of the input record's value
 * @param enqueuedAtMs wall-clock time it entered the store
 * @param layout the segments and words of {@code promptTokens}, computed from the prompt text at
 *     admission, so that the text need not be stored
 * @param audit whether it is forced, sampled or outside the sample ({@link AuditPolicy}); its tier
 *     follows from this and the backlog level when its batch is formed
 */
public record PendingEvent(long sequence, String eventId, long eventTimeMs, String model, Map<String, String> metadata, List<Token> promptTokens,
        List<Token> responseTokens, int promptTokensDropped, int responseTokensDropped, SourcePosition source, byte[] rawKey, byte[] rawValue,
        int rawValueBytes, long enqueuedAtMs, PromptLayout layout, AuditPolicy.Choice audit) {

    /** A sampled event: what every event was before the audit choice existed. */
    public PendingEvent(long sequence, String eventId, long eventTimeMs, String model, Map<String, String> metadata, List<Token> promptTokens,
            List<Token> responseTokens, int promptTokensDropped, int responseTokensDropped, SourcePosition source, byte[] rawKey, byte[] rawValue,
            int rawValueBytes, long enqueuedAtMs, PromptLayout layout) {
        this(sequence, eventId, eventTimeMs, model, metadata, promptTokens, responseTokens, promptTokensDropped, responseTokensDropped, source, rawKey,
                rawValue, rawValueBytes, enqueuedAtMs, layout, AuditPolicy.Choice.SAMPLED);
    }

    public static PendingEvent of(long sequence, Admission.Explain admission, SourcePosition source, byte[] rawKey, byte[] rawValue, long enqueuedAtMs,
            AuditPolicy.Choice audit) {
        InputEvent event = admission.event();
        return new PendingEvent(sequence, event.eventId(), event.timestampMs(), event.model(), event.metadata(), admission.prompt().tokens(),
                admission.response().tokens(), admission.promptTokensDropped(), admission.responseTokensDropped(), source, rawKey, rawValue,
                rawValue == null ? 0 : rawValue.length, enqueuedAtMs, admission.layout(), audit);
    }

    /** The same event without its raw value bytes. */
    public PendingEvent withoutRawValue() {
        return new PendingEvent(sequence, eventId, eventTimeMs, model, metadata, promptTokens, responseTokens, promptTokensDropped,
                responseTokensDropped, source, rawKey, null, rawValueBytes, enqueuedAtMs, layout, audit);
    }

    /** Prompt plus response tokens: what the batch budgets count. */
    public int tokens() {
        return promptTokens.size() + responseTokens.size();
    }

    /** What the engine explains. The texts are not kept: the engine reads only the tokens. */
    public AttributionRequest request() {
        return new AttributionRequest(new EncodedText("", promptTokens), new EncodedText("", responseTokens));
    }
}
