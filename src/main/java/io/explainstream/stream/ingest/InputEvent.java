package io.explainstream.stream.ingest;

import io.explainstream.attribution.summary.SpanRequest;
import io.explainstream.tokenize.ChatTurn;
import java.util.List;
import java.util.Map;

/**
 * A decoded input event, from JSON or Avro (the fields of {@code LlmInteraction}).
 *
 * @param eventId unique id
 * @param timestampMs event time
 * @param model the model that answered
 * @param prompt the prompt text, or null when {@code messages} is set
 * @param messages the chat-form prompt, or null when {@code prompt} is set
 * @param response the response text
 * @param promptTokenIds the serving system's prompt ids, or null
 * @param responseTokenIds the serving system's response ids, or null
 * @param metadata carried through unchanged
 * @param segments the spans the producer named, in the order given; empty when none
 */
public record InputEvent(
        String eventId,
        long timestampMs,
        String model,
        String prompt,
        List<ChatTurn> messages,
        String response,
        List<Long> promptTokenIds,
        List<Long> responseTokenIds,
        Map<String, String> metadata,
        List<SpanRequest> segments) {

    public InputEvent {
        segments = segments == null ? List.of() : List.copyOf(segments);
    }
}
