package io.explainstream.attribution;

/**
 * A call to the engine ran past the time it was given and stopped at its next forward pass: the
 * caller decides what the events that got no result become.
 */
public final class AttributionTimeLimitException extends RuntimeException {

    public AttributionTimeLimitException() {
        super("attribution stopped: the call ran past its time limit");
    }
}
