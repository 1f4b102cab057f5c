package io.explainstream.tokenize;

import java.util.List;

/**
 * A text and its tokens.
 *
 * @param text the text the character offsets point into (for chat input, the rendered template)
 * @param tokens the tokens, in order
 */
public record EncodedText(String text, List<Token> tokens) {

    public EncodedText {
        tokens = List.copyOf(tokens);
    }

    public long[] ids() {
        return tokens.stream().mapToLong(Token::id).toArray();
    }

    public int size() {
        return tokens.size();
    }
}
