package io.explainstream.attribution;

/**
 * The engine stopped a call between two forward passes because its owner asked it to (the service
 * is shutting down). Says nothing about the events: they are to be explained again later.
 */
public final class AttributionCancelledException extends RuntimeException {

    public AttributionCancelledException() {
        super("attribution cancelled: the engine is shutting down");
    }
}
