package io.explainstream.stream.ingest;

import io.explainstream.attribution.summary.PromptLayout;
import io.explainstream.avro.Utf8Text;
import io.explainstream.tokenize.ChatTurn;
import io.explainstream.tokenize.EncodedText;
import io.explainstream.tokenize.LlamaTokenizer;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Checks an event where it enters: required fields, texts that are not blank and hold neither NUL
 * characters nor lone surrogates, time, size
 * limits in bytes and tokens, the model it came from. The sample is the batcher's ({@link AuditPolicy}). A rejected event is an
 * {@link InvalidEventException} naming the field and value; a skipped one is counted, not routed.
 */
public final class EventValidator {

    static final int MAX_EVENT_ID_CHARS = 256;
    /** How far ahead of the validating clock an event's timestamp may be; the statistics bound a dead letter's event time by it too. */
    public static final Duration MAX_CLOCK_SKEW = Duration.ofDays(1);

    private final ValidationPolicy policy;
    private final LlamaTokenizer tokenizer;
    private final int contextTokens;
    private final Clock clock;

    public EventValidator(ValidationPolicy policy, LlamaTokenizer tokenizer, int contextTokens, Clock clock) {
        this.policy = policy;
        this.tokenizer = tokenizer;
        this.contextTokens = contextTokens;
        this.clock = clock;
    }

    /**
     * Explain or skip; a rejection is an {@link InvalidEventException} naming the field and value
     * ({@link Ingest} turns it into {@link Admission.Reject}).
     */
    public Admission admit(InputEvent event, int valueBytes) {
        // Each check's problem is kept and all are said at once; the tokens are counted only for
        // fields that passed.
        FieldProblems problems = new FieldProblems();
        checkValues(event, valueBytes, problems);
        problems.throwIfAny();
        if (!policy.acceptedModels().isEmpty() && !policy.acceptedModels().contains(event.model())) {
            String reason = "model '" + event.model() + "' is not in model.accept " + policy.acceptedModels();
            switch (policy.otherModels()) {
                case SKIP:
                    return Admission.skipped(event, "other_model");
                case DLQ:
                    throw new InvalidEventException(reason);
                default:
                    break;
            }
        }
        return countTokens(event);
    }

    /**
     * The checks of the values, into {@code problems}, leaving out the fields whose reading failed
     * there (their shape was wrong, and the decoder has said so): an event with a mistyped model and
     * an empty response is told both at once.
     */
    void checkValues(InputEvent event, int valueBytes, FieldProblems problems) {
        if (valueBytes > policy.eventBytesLimit()) {
            problems.add(new InvalidEventException("value is " + valueBytes + " bytes, more than limits.event.bytes = " + policy.eventBytesLimit()));
        }
        if (!problems.failed("event_id")) {
            problems.check(() -> checkEventId(event.eventId()));
        }
        if (!problems.failed("timestamp")) {
            problems.check(() -> checkTimestamp(event.timestampMs()));
        }
        if (!problems.failed("model")) {
            problems.check(() -> requireNonEmpty("model", event.model()));
        }
        if (!problems.failed("prompt") && !problems.failed("messages")) {
            problems.check(() -> checkPromptShape(event));
        }
        if (!problems.failed("response")) {
            problems.check(() -> requireText("response", event.response()));
        }
        if (problems.failed("metadata")) {
            return;
        }
        if (event.metadata().size() > policy.metadataEntriesLimit()) {
            problems.add(new InvalidEventException("metadata has " + event.metadata().size() + " entries, more than limits.metadata.entries = "
                    + policy.metadataEntriesLimit()));
        }
        for (Map.Entry<String, String> entry : event.metadata().entrySet()) {
            String key = Utf8Text.printable(entry.getKey());
            problems.check(() -> checkText("metadata key '" + key + "'", entry.getKey()));
            problems.check(() -> checkText("metadata['" + key + "']", entry.getValue()));
        }
    }

    private Admission countTokens(InputEvent event) {
        for (int i = 0; i < event.segments().size(); i++) {
            String name = event.segments().get(i).name();
            if (name != null) {
                checkText("segments[" + i + "].name", name);
            }
        }
        LlamaTokenizer.ChatEncoding chat = event.messages() == null ? null : encodeChat(event.messages());
        EncodedText prompt = chat != null ? chat.encoded() : tokenizer.encodePrompt(event.prompt());
        EncodedText response = tokenizer.encodeResponse(event.response());
        checkLoggedIds("prompt_token_ids", event.promptTokenIds(), prompt);
        checkLoggedIds("response_token_ids", event.responseTokenIds(), response);
        int responseDropped = 0;
        if (response.size() > policy.responseTokenLimit()) {
            if (policy.responsePolicy() == ValidationPolicy.ResponsePolicy.REJECT) {
                throw new InvalidEventException("response is " + response.size() + " tokens, more than limits.response.tokens = "
                        + policy.responseTokenLimit());
            }
            responseDropped = response.size() - policy.responseTokenLimit();
        }
        int responseTokens = response.size() - responseDropped;
        if (responseTokens >= contextTokens) {
            throw new InvalidEventException("response (" + responseTokens + " tokens) leaves no room for a prompt in the model's context of "
                    + contextTokens + " tokens");
        }
        // The prompt must fit the limit and, beside the response, the model's context.
        int promptRoom = Math.min(policy.promptTokenLimit(), contextTokens - responseTokens);
        int promptDropped = 0;
        if (prompt.size() > promptRoom) {
            if (policy.promptPolicy() == ValidationPolicy.PromptPolicy.REJECT) {
                throw new InvalidEventException("prompt is " + prompt.size() + " tokens, more than its room of " + promptRoom
                        + " (limits.prompt.tokens = " + policy.promptTokenLimit() + ", model context " + contextTokens + " minus the response's "
                        + responseTokens + ")");
            }
            promptDropped = Truncation.promptDroppedWhole(prompt, prompt.size() - promptRoom, tokenizer.bosId());
        }
        int promptTokens = prompt.size() - promptDropped;
        if (promptTokens == 0 || (promptTokens == 1 && prompt.tokens().get(0).id() == tokenizer.bosId())) {
            // With a cut, only when the room held nothing but pieces of the last character, which a cut never keeps.
            throw new InvalidEventException(promptDropped == 0 ? "prompt has no tokens besides BOS"
                    : "prompt keeps no whole character in its room of " + promptRoom + " tokens (limits.prompt.tokens = " + policy.promptTokenLimit()
                            + "): the last tokens are the pieces of one character");
        }
        EncodedText explained = Truncation.promptLeft(prompt, promptDropped, tokenizer.bosId());
        return new Admission.Explain(event, explained, Truncation.responseRight(response, responseDropped), promptDropped, responseDropped,
                layout(event, chat, explained));
    }

    /** Segments and words of the tokens explained; a bad span is bad input that names the span. */
    private PromptLayout layout(InputEvent event, LlamaTokenizer.ChatEncoding chat, EncodedText explained) {
        try {
            return chat != null
                    ? PromptLayout.chat(chat, explained.tokens(), event.messages(), event.segments(), tokenizer::isSpecial)
                    : PromptLayout.plain(explained, event.segments(), tokenizer::isSpecial);
        } catch (IllegalArgumentException e) {
            throw new InvalidEventException(e.getMessage(), e);
        }
    }

    /** The chat template rendered and encoded, with each message's span; a bad role order is bad input. */
    private LlamaTokenizer.ChatEncoding encodeChat(List<ChatTurn> messages) {
        try {
            return tokenizer.encodeChatWithSpans(messages);
        } catch (IllegalArgumentException e) {
            throw new InvalidEventException(e.getMessage(), e);
        }
    }

    private void checkLoggedIds(String field, List<Long> logged, EncodedText encoded) {
        if (logged == null) {
            return;
        }
        for (int i = 0; i < logged.size(); i++) {
            long id = logged.get(i);
            if (id < 0 || id >= tokenizer.vocabularySize()) {
                throw new InvalidEventException(field + "[" + i + "] = " + id + " is outside the vocabulary of " + tokenizer.vocabularySize() + " tokens");
            }
        }
        long[] ours = encoded.ids();
        for (int i = 0; i < Math.max(ours.length, logged.size()); i++) {
            if (i >= ours.length || i >= logged.size() || ours[i] != logged.get(i)) {
                throw new InvalidEventException(field + " differ from the tokenizer's encoding at position " + i + " (logged "
                        + (i < logged.size() ? logged.get(i) : "nothing") + ", tokenizer " + (i < ours.length ? ours[i] : "nothing")
                        + "): the serving system used another tokenizer or template than model.dir's"
                        + (i == 0 && field.equals("response_token_ids") ? responseStartHint(encoded.text()) : ""));
            }
        }
    }

    /** Why a response's logged ids may differ at its first token: it is tokenized on its own, as a word start, as Captum does. */
    private static String responseStartHint(String response) {
        if (!response.isEmpty() && Character.isWhitespace(response.charAt(0))) {
            return ", or the response begins with a space, which tokenized on its own (as Captum does) is a piece of its own: log it without";
        }
        return ", or the response continues its prompt's last word or starts with punctuation, which a response tokenized on its own"
                + " (as Captum does) reads as a word start";
    }

    private void checkPromptShape(InputEvent event) {
        if (event.prompt() != null && event.messages() != null) {
            throw new InvalidEventException("set either prompt or messages, not both");
        }
        if (event.prompt() == null && event.messages() == null) {
            throw new InvalidEventException("field 'prompt' or 'messages' is required");
        }
        if (event.prompt() != null) {
            requireText("prompt", event.prompt());
        } else {
            if (event.messages().isEmpty()) {
                throw new InvalidEventException("field 'messages' is empty");
            }
            for (int i = 0; i < event.messages().size(); i++) {
                ChatTurn message = event.messages().get(i);
                requireText("messages[" + i + "].content", message.content());
            }
        }
    }

    private static void checkEventId(String eventId) {
        requireNonEmpty("event_id", eventId);
        if (eventId.length() > MAX_EVENT_ID_CHARS) {
            throw new InvalidEventException("field 'event_id' is " + eventId.length() + " characters, at most " + MAX_EVENT_ID_CHARS);
        }
        for (int i = 0; i < eventId.length(); i++) {
            if (Character.isISOControl(eventId.charAt(i))) {
                throw new InvalidEventException("field 'event_id' contains a control character at index " + i);
            }
        }
    }

    private void checkTimestamp(long timestampMs) {
        if (timestampMs < 0) {
            throw new InvalidEventException("field 'timestamp' = " + timestampMs + " is before 1970-01-01");
        }
        long latest = clock.millis() + MAX_CLOCK_SKEW.toMillis();
        if (timestampMs > latest) {
            throw new InvalidEventException("field 'timestamp' = " + timestampMs + " (" + java.time.Instant.ofEpochMilli(timestampMs)
                    + ") is more than a day in the future");
        }
    }

    private static void requireNonEmpty(String field, String value) {
        if (value == null) {
            throw new InvalidEventException("field '" + field + "' is missing");
        }
        if (value.isEmpty()) {
            throw new InvalidEventException("field '" + field + "' is empty");
        }
        checkText(field, value);
    }

    /**
     * A text the model reads: besides being present, it must hold more than whitespace, which
     * would be explained as a row of ' ' tokens that say nothing.
     */
    private static void requireText(String field, String value) {
        requireNonEmpty(field, value);
        if (value.isBlank()) {
            throw new InvalidEventException("field '" + field + "' is empty: it holds only whitespace (" + value.length()
                    + (value.length() == 1 ? " character)" : " characters)"));
        }
    }

    private static void checkText(String field, String value) {
        textProblem(value).ifPresent(problem -> {
            throw new InvalidEventException("field '" + field + "' " + problem);
        });
    }

    /**
     * What makes a text unfit to explain and publish, in words that follow its name ("contains a
     * NUL character at index 3"), or empty: the one check for events and for the CLI's texts.
     */
    public static java.util.Optional<String> textProblem(String value) {
        int nul = value.indexOf('\0');
        if (nul >= 0) {
            return java.util.Optional.of("contains a NUL character at index " + nul);
        }
        // A lone surrogate has no UTF-8 encoding: Kafka's and Avro's encoders write '?' for it, so
        // the published explanation would carry another event id or text than the one logged.
        int surrogate = Utf8Text.loneSurrogateIndex(value);
        if (surrogate >= 0) {
            return java.util.Optional.of(String.format("contains a lone surrogate U+%04X at index %d (not a Unicode character;"
                    + " it cannot be written as UTF-8)", (int) value.charAt(surrogate), surrogate));
        }
        return java.util.Optional.empty();
    }
}
