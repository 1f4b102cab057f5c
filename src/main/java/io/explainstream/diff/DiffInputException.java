package io.explainstream.diff;

/** Input a diff cannot work with (a missing topic, a replay id without records): the user can fix it; the message says how. */
public final class DiffInputException extends IllegalArgumentException {

    public DiffInputException(String message) {
        super(message);
    }
}
