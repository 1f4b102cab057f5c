package io.explainstream.attribution;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.training.GradientCollector;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Opens DJL's gradient collector for one thread of the JVM at a time. DJL allows one open
 * collector per JVM and refuses a second ("A PtGradientCollector is already collecting"), so two
 * engines in one JVM that attribute at once (a replay run beside the service, test classes run
 * side by side) would each fail some of their batches. Here the second waits until the first's
 * backward passes end. Grad mode, which a collector turns on, is per thread in libtorch, so the
 * waiting engine's forward passes without gradients go on meanwhile. Whatever else in the JVM
 * collects gradients (a test, a profile) opens its collector here too.
 */
public final class GradientTurns {

    /**
     * The JVM's one turn at collecting gradients: static because DJL's own limit is static. Fair,
     * so that an engine with many short chunks cannot keep another waiting.
     */
    private static final ReentrantLock TURN = new ReentrantLock(true);

    private GradientTurns() {}

    /** A gradient collector, once this thread has the turn; closing it gives the turn back. Open and close it in one thread. */
    public static GradientCollector open() {
        TURN.lock();
        try {
            return new Turn(Engine.getEngine("PyTorch").newGradientCollector());
        } catch (RuntimeException | Error e) {
            TURN.unlock();
            throw e;
        }
    }

    /** The collector held during one turn. */
    private record Turn(GradientCollector collector) implements GradientCollector {

        @Override
        public void backward(NDArray target) {
            collector.backward(target);
        }

        @Override
        public void zeroGradients() {
            collector.zeroGradients();
        }

        @Override
        public void close() {
            try {
                collector.close();
            } finally {
                TURN.unlock();
            }
        }
    }
}
