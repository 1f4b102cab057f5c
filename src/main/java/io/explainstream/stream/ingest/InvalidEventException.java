package io.explainstream.stream.ingest;

/** An input record that cannot be explained; the message names the field and what is wrong. */
public final class InvalidEventException extends RuntimeException {

    public InvalidEventException(String message) {
        super(message);
    }

    public InvalidEventException(String message, Throwable cause) {
        super(message, cause);
    }
}
