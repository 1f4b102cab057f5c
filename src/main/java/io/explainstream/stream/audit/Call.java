package io.explainstream.stream.audit;

import io.explainstream.attribution.GradientMethod;

/**
 * One kind of engine call: a method at its steps. Events batch only with events of the same call,
 * the engine's time is priced per call, and the cost of one call bounds another's only roughly.
 * Its events' passes are the points of a path (integrated gradients' steps) or one (a gradient
 * method, the cheap method).
 */
public record Call(GradientMethod method, int steps) {

    /** The engine passes of an event: the steps of a path, or one. */
    public int passes() {
        return method == GradientMethod.INTEGRATED_GRADIENTS ? steps : 1;
    }

    /** Whether it is one pass: its overhead is not spread over the points of a path. */
    public boolean onePass() {
        return passes() == 1;
    }

    @Override
    public String toString() {
        return method.optionName() + (onePass() ? "" : " at " + steps + " steps");
    }
}
