package io.explainstream.stream.ingest;

import io.explainstream.tokenize.EncodedText;
import io.explainstream.tokenize.Graphemes;
import io.explainstream.tokenize.Token;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * The token limits' cuts, one pure function each, so that the validator (which counts) and the
 * explainer (which re-tokenizes the stored text) cut at the same place.
 */
final class Truncation {

    private Truncation() {}

    /** Drops the oldest {@code dropped} prompt tokens after a leading BOS, which the model expects first. */
    static EncodedText promptLeft(EncodedText prompt, int dropped, long bosId) {
        if (dropped <= 0) {
            return prompt;
        }
        List<Token> tokens = prompt.tokens();
        boolean leadingBos = !tokens.isEmpty() && tokens.get(0).id() == bosId;
        List<Token> kept = new ArrayList<>();
        if (leadingBos) {
            kept.add(tokens.get(0));
        }
        int first = (leadingBos ? 1 : 0) + dropped;
        kept.addAll(tokens.subList(first, tokens.size()));
        return new EncodedText(prompt.text(), kept);
    }

    /**
     * How many of the oldest prompt tokens (after a leading BOS) to drop, at least {@code dropped},
     * so that the cut does not fall inside a character a reader sees. Two cases: the byte-fallback
     * pieces of one code point (an emoji is four) share its span, and keeping the last of them
     * would feed the model bytes that are not UTF-8 and list the whole character among the words;
     * and a grapheme cluster of several code points (👩‍💻 is woman, zero-width joiner, laptop; a
     * flag is two regional indicators; e + a combining accent) cut after its first would keep a
     * character the prompt never showed. The rest of a split character is dropped too.
     */
    static int promptDroppedWhole(EncodedText prompt, int dropped, long bosId) {
        if (dropped <= 0) {
            return dropped;
        }
        List<Token> tokens = prompt.tokens();
        int offset = !tokens.isEmpty() && tokens.get(0).id() == bosId ? 1 : 0;
        int first = offset + dropped;
        BitSet clusterStarts = null;
        while (first < tokens.size()) {
            Token kept = tokens.get(first);
            if (sameCharacter(tokens.get(first - 1), kept)) {
                first++;
                continue;
            }
            if (kept.start() >= kept.end() || kept.start() >= prompt.text().length()) {
                break; // a special token: no character to split
            }
            if (clusterStarts == null) {
                clusterStarts = Graphemes.starts(prompt.text());
            }
            if (clusterStarts.get(kept.start())) {
                break;
            }
            first++;
        }
        return first - offset;
    }

    private static boolean sameCharacter(Token before, Token after) {
        return before.start() < before.end() && before.start() == after.start() && before.end() == after.end();
    }

    /** Keeps the first {@code keep} response tokens. */
    static EncodedText responseRight(EncodedText response, int dropped) {
        if (dropped <= 0) {
            return response;
        }
        return new EncodedText(response.text(), response.tokens().subList(0, response.size() - dropped));
    }
}
