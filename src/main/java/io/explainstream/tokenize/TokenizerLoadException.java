package io.explainstream.tokenize;

/** A tokenizer directory that cannot be used; the message names the file and what is wrong. */
public final class TokenizerLoadException extends RuntimeException {

    public TokenizerLoadException(String message, Throwable cause) {
        super(message, cause);
    }

    public TokenizerLoadException(String message) {
        super(message);
    }
}
