package io.explainstream.stream.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.attribution.summary.PromptLayout;
import io.explainstream.attribution.summary.SegmentDefinition;
import io.explainstream.attribution.summary.SegmentKind;
import io.explainstream.attribution.summary.WordSpan;
import io.explainstream.stream.audit.AuditPolicy;
import io.explainstream.stream.audit.Tier;
import io.explainstream.stream.ingest.SourcePosition;
import io.explainstream.tokenize.Token;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The bytes of a pending event in the batch store and its changelog: internal, but they outlive a
 * release (a store written by one version is restored by the next), so the format is explicit and
 * versioned, never derived from the Java record's component names.
 *
 * <p>Version 3 adds {@code "audit"} ({@code sampled}, {@code forced} or {@code not_sampled}, see
 * {@link AuditPolicy}); entries of versions 1 and 2, written when every event was explained in
 * full, read as {@code sampled}.
 *
 * <p>Version 2 is a JSON object with {@code "v": 2} and the fields below, among them the prompt's
 * {@code layout} (segments, each token's segment, words). Version 1 is the same without
 * {@code layout}: its entries, written before segments existed and carrying no input spans, are
 * explained with the layout a plain prompt without text gets ({@link #layoutWithoutText}). The format before it
 * (no {@code "v"}; the Jackson image of the old record, with the parsed event under
 * {@code "admission"}) carried no tokens: such an entry decodes to a {@link Legacy} value, which the
 * batcher admits again from its raw bytes.
 *
 * <p>The processor encodes an event itself, before storing it, so that it knows the size of the
 * changelog record it is about to write.
 */
public final class PendingEventCodec {

    static final int VERSION = 3;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a stored entry holds. */
    public sealed interface Stored permits Current, Legacy {}

    /** An entry in the current format. */
    public record Current(PendingEvent event) implements Stored {}

    /** An entry written before the format had a version: only its raw bytes and position are used. */
    public record Legacy(long sequence, SourcePosition source, byte[] rawKey, byte[] rawValue, long enqueuedAtMs) implements Stored {}

    private PendingEventCodec() {}

    public static byte[] encode(PendingEvent event) {
        ObjectNode node = JSON.createObjectNode();
        node.put("v", VERSION);
        node.put("sequence", event.sequence());
        node.put("event_id", event.eventId());
        node.put("event_time", event.eventTimeMs());
        node.put("model", event.model());
        ObjectNode metadata = node.putObject("metadata");
        event.metadata().forEach(metadata::put);
        node.set("prompt_tokens", tokens(event.promptTokens()));
        node.set("response_tokens", tokens(event.responseTokens()));
        node.put("prompt_tokens_dropped", event.promptTokensDropped());
        node.put("response_tokens_dropped", event.responseTokensDropped());
        node.set("source", source(event.source()));
        node.put("raw_key", event.rawKey() == null ? null : Base64.getEncoder().encodeToString(event.rawKey()));
        node.put("raw_value", event.rawValue() == null ? null : Base64.getEncoder().encodeToString(event.rawValue()));
        node.put("raw_value_bytes", event.rawValueBytes());
        node.put("enqueued_at", event.enqueuedAtMs());
        node.set("layout", layout(event.layout()));
        node.put("audit", Tier.label(event.audit()));
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode pending event " + event.eventId(), e);
        }
    }

    public static Stored decode(byte[] bytes) {
        JsonNode node;
        try {
            node = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot decode a pending event of " + bytes.length + " bytes", e);
        }
        if (node.has("v")) {
            int version = node.get("v").asInt();
            if (version > VERSION) {
                throw new IllegalStateException("the batch store holds a pending event of format version " + version
                        + ", newer than this release's " + VERSION + ": run the release that wrote it, or delete the application's state");
            }
            return new Current(current(node));
        }
        if (node.has("admission")) {
            return new Legacy(node.get("sequence").asLong(), sourceOf(node.get("source")), binary(node.get("rawKey")), binary(node.get("rawValue")),
                    node.get("enqueuedAtMs").asLong());
        }
        throw new IllegalStateException("the batch store holds an entry of unknown format: " + node.fieldNames().next() + "...");
    }

    private static PendingEvent current(JsonNode node) {
        Map<String, String> metadata = new LinkedHashMap<>();
        node.get("metadata").fields().forEachRemaining(entry -> metadata.put(entry.getKey(), entry.getValue().asText()));
        List<Token> promptTokens = tokensOf(node.get("prompt_tokens"));
        PromptLayout layout = node.has("layout") ? layoutOf(node.get("layout")) : layoutWithoutText(promptTokens);
        return new PendingEvent(node.get("sequence").asLong(), node.get("event_id").asText(), node.get("event_time").asLong(), node.get("model").asText(),
                metadata, promptTokens, tokensOf(node.get("response_tokens")), node.get("prompt_tokens_dropped").asInt(),
                node.get("response_tokens_dropped").asInt(), sourceOf(node.get("source")), binary(node.get("raw_key")), binary(node.get("raw_value")),
                node.get("raw_value_bytes").asInt(), node.get("enqueued_at").asLong(), layout,
                node.has("audit") ? AuditPolicy.Choice.valueOf(node.get("audit").asText().toUpperCase(java.util.Locale.ROOT)) : AuditPolicy.Choice.SAMPLED);
    }

    /**
     * The layout of a version-1 entry, whose prompt text is not stored: one segment {@code prompt}
     * over all tokens, and each token a word of its own, named by its piece.
     */
    static PromptLayout layoutWithoutText(List<Token> tokens) {
        int end = tokens.stream().mapToInt(Token::end).max().orElse(0);
        List<WordSpan> words = new ArrayList<>();
        for (int i = 0; i < tokens.size(); i++) {
            Token token = tokens.get(i);
            words.add(new WordSpan(token.piece(), token.start(), token.end(), i, i + 1));
        }
        return new PromptLayout(List.of(new SegmentDefinition("prompt", SegmentKind.PROMPT, 0, end)), new int[tokens.size()], words);
    }

    /** Segments as [name, kind, start, end], words as [text, start, end, token_start, token_end]. */
    private static ObjectNode layout(PromptLayout layout) {
        ObjectNode node = JSON.createObjectNode();
        ArrayNode segments = node.putArray("segments");
        for (SegmentDefinition segment : layout.segments()) {
            segments.addArray().add(segment.name()).add(segment.kind().name()).add(segment.start()).add(segment.end());
        }
        ArrayNode tokenSegment = node.putArray("token_segment");
        for (int segment : layout.tokenSegment()) {
            tokenSegment.add(segment);
        }
        ArrayNode words = node.putArray("words");
        for (WordSpan word : layout.words()) {
            words.addArray().add(word.text()).add(word.start()).add(word.end()).add(word.tokenStart()).add(word.tokenEnd());
        }
        return node;
    }

    private static PromptLayout layoutOf(JsonNode node) {
        List<SegmentDefinition> segments = new ArrayList<>();
        for (JsonNode segment : node.get("segments")) {
            segments.add(new SegmentDefinition(segment.get(0).asText(), SegmentKind.valueOf(segment.get(1).asText()), segment.get(2).asInt(),
                    segment.get(3).asInt()));
        }
        int[] tokenSegment = new int[node.get("token_segment").size()];
        for (int i = 0; i < tokenSegment.length; i++) {
            tokenSegment[i] = node.get("token_segment").get(i).asInt();
        }
        List<WordSpan> words = new ArrayList<>();
        for (JsonNode word : node.get("words")) {
            words.add(new WordSpan(word.get(0).asText(), word.get(1).asInt(), word.get(2).asInt(), word.get(3).asInt(), word.get(4).asInt()));
        }
        return new PromptLayout(segments, tokenSegment, words);
    }

    /** Tokens as [id, piece, start, end] arrays: a fifth of the size of objects with names. */
    private static ArrayNode tokens(List<Token> tokens) {
        ArrayNode array = JSON.createArrayNode();
        for (Token token : tokens) {
            array.addArray().add(token.id()).add(token.piece()).add(token.start()).add(token.end());
        }
        return array;
    }

    private static List<Token> tokensOf(JsonNode array) {
        List<Token> tokens = new ArrayList<>(array.size());
        for (JsonNode token : array) {
            tokens.add(new Token(token.get(0).asLong(), token.get(1).asText(), token.get(2).asInt(), token.get(3).asInt()));
        }
        return tokens;
    }

    private static ObjectNode source(SourcePosition source) {
        ObjectNode node = JSON.createObjectNode();
        node.put("topic", source.topic());
        node.put("partition", source.partition());
        node.put("offset", source.offset());
        node.put("timestamp", source.timestampMs());
        return node;
    }

    private static SourcePosition sourceOf(JsonNode node) {
        // The legacy format named the timestamp after the record component, timestampMs.
        JsonNode timestamp = node.has("timestamp") ? node.get("timestamp") : node.get("timestampMs");
        return new SourcePosition(node.get("topic").asText(), node.get("partition").asInt(), node.get("offset").asLong(), timestamp.asLong());
    }

    private static byte[] binary(JsonNode node) {
        return node == null || node.isNull() ? null : Base64.getDecoder().decode(node.asText());
    }
}
