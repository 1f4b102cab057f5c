package io.explainstream.cli;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.avro.Utf8Text;
import io.explainstream.render.TokenText;
import io.explainstream.stream.output.DeadLetter;
import io.explainstream.text.Shortened;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;

/** How {@code tail --dead-letters} prints a dead letter: a short block for people, or one JSON object per line. */
final class DeadLetterLines {

    /** Characters of the original value shown in the text form; JSON has it whole. */
    static final int VALUE_CHARS = 200;
    /** Bytes of an original value that is not UTF-8 shown in hexadecimal in the text form. */
    static final int HEX_BYTES = 32;
    /** Characters of the reason shown in the text form (a reason may quote its input, up to 4,096 characters); JSON has it whole. */
    static final int REASON_CHARS = 500;

    private DeadLetterLines() {
    }

    /**
     * The dead letter in three lines: its key, stage, source position, time, and the application
     * and replay that wrote it; the reason; the start of the original value. Text from the
     * traffic with its controls made visible.
     */
    static String text(DeadLetter letter) {
        StringBuilder out = new StringBuilder("dead letter ");
        out.append(letter.key() == null ? "(no key)" : letter.key().length == 0 ? "(empty key)" : keyText(letter.key()));
        // Every header is text from whoever wrote to the topic: shown with its controls made visible, long ones cut.
        out.append(" · ").append(letter.stage() == null ? "no stage" : shortText(letter.stage()));
        if (letter.sourceTopic() != null) {
            out.append(" · ").append(TokenText.visible(letter.sourceTopic())).append(" partition ").append(letter.sourcePartition())
                    .append(" offset ").append(letter.sourceOffset());
        }
        if (letter.failedAt() != null) {
            out.append(" · ").append(shortText(letter.failedAt()));
        }
        if (letter.application() != null) {
            out.append(" · by ").append(shortText(letter.application()));
        }
        if (letter.replayId() != null) {
            out.append(" · replay ").append(shortText(letter.replayId()));
        }
        out.append("\n  reason: ").append(letter.reason() == null ? "(none given: not written by ExplainStream?)" : reasonText(letter.reason()));
        out.append("\n  value: ").append(valueText(letter)).append('\n');
        return out.toString();
    }

    private static String reasonText(String reason) {
        if (reason.length() <= REASON_CHARS) {
            return TokenText.visible(reason);
        }
        return TokenText.visible(Shortened.start(reason, REASON_CHARS)) + Shortened.ELLIPSIS + " (" + reason.codePointCount(0, reason.length())
                + " characters; --format json gives all the header holds)";
    }

    /** A key, a stage, an application: its first {@link #VALUE_CHARS} characters, controls made visible. */
    private static String shortText(String text) {
        return TokenText.visible(Shortened.cut(text, VALUE_CHARS));
    }

    /** The key as text where it is UTF-8, else its first bytes in hexadecimal, as the value. */
    private static String keyText(byte[] key) {
        Optional<String> text = utf8(key, false);
        return text.isPresent() ? shortText(text.get()) : "(" + key.length + " bytes, not UTF-8: " + hex(key) + ")";
    }

    private static String valueText(DeadLetter letter) {
        byte[] value = letter.value() == null ? new byte[0] : letter.value();
        String cut = letter.cut() == null ? "" : " (cut: the original was " + letter.cut() + "; its source position finds it whole)";
        if (value.length == 0) {
            return "(empty)" + cut;
        }
        Optional<String> text = utf8(value, letter.cut() != null);
        if (text.isEmpty()) {
            return "(" + value.length + " bytes, not UTF-8: " + hex(value) + ")" + cut;
        }
        return TokenText.visible(Shortened.cut(text.get(), VALUE_CHARS)) + " (" + value.length + " bytes)" + cut;
    }

    /** The first {@link #HEX_BYTES} bytes in hexadecimal, as the reasons name bytes ({@code c0 af}). */
    private static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < Math.min(bytes.length, HEX_BYTES); i++) {
            out.append(i == 0 ? "" : " ").append(String.format(java.util.Locale.ROOT, "%02x", bytes[i] & 0xff));
        }
        return out + (bytes.length > HEX_BYTES ? " …" : "");
    }

    /**
     * One JSON object: the dead letter's own {@code partition} and {@code offset}, {@code key} and
     * {@code value} as text where they are UTF-8 (else {@code key_base64}, {@code value_base64}),
     * {@code value_bytes}, and the headers under snake-case names, null where missing, the two
     * instants also in epoch milliseconds ({@code _ms}), as explanations give theirs, and the cut
     * original's sizes as numbers too.
     */
    static String json(DeadLetter letter) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("partition", letter.partition());
        node.put("offset", letter.offset());
        bytes(node, "key", letter.key(), false);
        node.put("stage", letter.stage());
        node.put("reason", letter.reason());
        node.put("error_class", letter.errorClass());
        node.put("source_topic", letter.sourceTopic());
        node.put("source_partition", letter.sourcePartition());
        node.put("source_offset", letter.sourceOffset());
        node.put("source_timestamp", letter.sourceTimestamp());
        node.put("source_timestamp_ms", DeadLetter.epochMillis(letter.sourceTimestamp()));
        node.put("failed_at", letter.failedAt());
        node.put("failed_at_ms", DeadLetter.epochMillis(letter.failedAt()));
        node.put("application", letter.application());
        node.put("replay_id", letter.replayId());
        node.put("cut", letter.cut());
        node.put("original_key_bytes", letter.originalKeyBytes());
        node.put("original_value_bytes", letter.originalValueBytes());
        node.put("value_bytes", letter.value() == null ? 0 : letter.value().length);
        bytes(node, "value", letter.value(), letter.cut() != null);
        return node.toString();
    }

    private static void bytes(ObjectNode node, String name, byte[] bytes, boolean cut) {
        if (bytes == null) {
            node.putNull(name);
            return;
        }
        Optional<String> text = utf8(bytes, cut);
        if (text.isPresent()) {
            node.put(name, text.get());
        } else {
            node.put(name + "_base64", Base64.getEncoder().encodeToString(bytes));
        }
    }

    /**
     * The bytes as text where they are UTF-8; a value cut at the record limit may end inside a
     * character, whose first bytes are then left out.
     */
    private static Optional<String> utf8(byte[] bytes, boolean cut) {
        Optional<int[]> invalid = Utf8Text.firstInvalid(bytes);
        if (invalid.isEmpty()) {
            return Optional.of(new String(bytes, StandardCharsets.UTF_8));
        }
        int at = invalid.get()[0];
        if (cut && at >= bytes.length - 3 && Utf8Text.firstInvalid(Arrays.copyOf(bytes, at)).isEmpty()) {
            return Optional.of(new String(bytes, 0, at, StandardCharsets.UTF_8));
        }
        return Optional.empty();
    }
}
