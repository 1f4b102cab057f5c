package io.explainstream.model;

/**
 * A checkpoint directory that cannot be used: a missing file, a missing or misshapen tensor, an
 * unsupported setting. The message names the file, tensor or key and the value found, so that it
 * can be shown to the user as it is.
 */
public final class ModelLoadException extends RuntimeException {

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
