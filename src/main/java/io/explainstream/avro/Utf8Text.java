package io.explainstream.avro;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Decodes the bytes of an Avro string without hiding what is wrong with them. Avro's own decoding
 * ({@code new String(bytes, UTF_8)}) turns every invalid sequence into U+FFFD, so a record with a
 * broken text would be explained as if it were fine. Here invalid UTF-8 is an error, except the
 * three-byte encoding of a surrogate (ED A0..BF xx, what a CESU-8 or WTF-8 writer emits for a lone
 * surrogate), which becomes that surrogate: the event validator then rejects it naming the field,
 * as it does for the same text arriving as JSON (whose parser keeps lone surrogates too).
 */
public final class Utf8Text {

    private Utf8Text() {}

    /**
     * Where the first byte sequence that is not UTF-8 starts, and how many bytes it spans (at
     * least 1), or empty when all of {@code bytes} is UTF-8. Overlong forms (C0 AF for '/'), code
     * points past U+10FFFF and cut-off sequences are not UTF-8, though lenient decoders (Jackson's
     * among them) read the first two as characters the writer never wrote. The three-byte encoding
     * of a surrogate is let through, as {@link #decode} does: it decodes to a lone surrogate,
     * which the event validator rejects naming the field.
     */
    public static Optional<int[]> firstInvalid(byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(Math.max(16, Math.min(bytes.length, 8192)));
        while (true) {
            CoderResult result = decoder.decode(in, out, true);
            if (result.isOverflow()) {
                out.clear();
            } else if (result.isUnderflow()) {
                return Optional.empty();
            } else if (isEncodedSurrogate(bytes, in.position(), bytes.length)) {
                in.position(in.position() + 3);
            } else {
                return Optional.of(new int[] {in.position(), result.length()});
            }
        }
    }

    /**
     * The text of {@code bytes}, each byte of a sequence that is not UTF-8 written as its escape
     * ({@code \xe9}): a header another producer wrote in another encoding shows which bytes it
     * holds, where {@code new String(bytes, UTF_8)} shows only replacement characters.
     */
    public static String escapingInvalid(byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(Math.max(16, bytes.length));
        StringBuilder text = new StringBuilder(bytes.length);
        while (true) {
            CoderResult result = decoder.decode(in, out, true);
            text.append(out.flip());
            out.clear();
            if (result.isUnderflow()) {
                return text.toString();
            }
            for (int i = 0; i < result.length(); i++) {
                text.append(String.format(java.util.Locale.ROOT, "\\x%02x", in.get() & 0xff));
            }
        }
    }

    /** The index of the first surrogate that is not half of a pair, or -1: text that has no UTF-8 form. */
    public static int loneSurrogateIndex(String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * {@code value} with each lone surrogate, control character (NUL, a line end) and bidirectional
     * control (U+202E turns the rest of a line around) written as its escape (backslash, u, four hex
     * digits): a text that quotes an input (a reason header, which is UTF-8 and read in terminals
     * and logs) would otherwise carry '?' where the input had a lone surrogate, or hide or reorder
     * the text around the others.
     */
    public static String printable(String value) {
        if (value.chars().noneMatch(Utf8Text::escaped)) {
            return value;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            boolean pair = Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1));
            if (pair) {
                out.append(c).append(value.charAt(++i));
            } else if (escaped(c)) {
                out.append(String.format("\\u%04X", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Whether {@link #printable} writes this UTF-16 unit as its escape, when it is not half of a surrogate pair. */
    private static boolean escaped(int c) {
        return Character.isSurrogate((char) c) || Character.isISOControl(c) || isBidiControl(c);
    }

    /** The characters that change the direction of the text around them (embeddings, overrides, isolates, marks). */
    private static boolean isBidiControl(int c) {
        return c >= 0x202A && c <= 0x202E || c >= 0x2066 && c <= 0x2069 || c == 0x200E || c == 0x200F || c == 0x061C;
    }

    static String decode(byte[] bytes, int length) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, 0, length))
                    .toString();
        } catch (CharacterCodingException e) {
            return decodeKeepingSurrogates(bytes, length);
        }
    }

    /** The slow path, only for a string that strict UTF-8 refused. */
    private static String decodeKeepingSurrogates(byte[] bytes, int length) {
        StringBuilder out = new StringBuilder(length);
        int start = 0;
        for (int i = 0; i < length; ) {
            if (isEncodedSurrogate(bytes, i, length)) {
                out.append(strict(bytes, start, i));
                out.append((char) (((bytes[i] & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f)));
                i += 3;
                start = i;
            } else {
                i++;
            }
        }
        out.append(strict(bytes, start, length));
        return out.toString();
    }

    private static boolean isEncodedSurrogate(byte[] bytes, int i, int length) {
        return i + 2 < length && (bytes[i] & 0xff) == 0xED && (bytes[i + 1] & 0xe0) == 0xA0 && (bytes[i + 2] & 0xc0) == 0x80;
    }

    private static CharBuffer strict(byte[] bytes, int from, int to) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, from, to - from));
        } catch (CharacterCodingException e) {
            throw new org.apache.avro.AvroRuntimeException("a string is not valid UTF-8 (bytes " + from + " to " + to + " of it: " + e.getMessage() + ")");
        }
    }
}
