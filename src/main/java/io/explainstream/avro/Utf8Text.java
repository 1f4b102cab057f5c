package io.explainstream.avro;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Decodes the bytes of an Avro string without hiding what is wrong with them. Avro's own decoding
 * ({@code new String(bytes, UTF_8)}) turns every invalid sequence into U+FFFD, so a record with a
 * broken text would be explained as if it were fine. Here invalid UTF-8 is an error, except the
 * three-byte encoding of a surrogate (ED A0..BF xx, what a CESU-8 or WTF-8 writer emits for a lone
 * surrogate), which becomes that surrogate: the event validator then rejects it naming the field,
 * as it does for the same text arriving as JSON (whose parser keeps lone surrogates too).
 */
final class Utf8Text {

    private Utf8Text() {}

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
