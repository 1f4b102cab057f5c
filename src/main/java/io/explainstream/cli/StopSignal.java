package io.explainstream.cli;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stop signal (SIGTERM, or Ctrl-C's SIGINT) for a command that ends cleanly on it: the signal
 * sets {@link #requested}, the command sees it, says how far it got and returns its exit status,
 * and the JVM then exits with that status (the signal's own, 130 or 143, would hide it). The JVM
 * waits for the command, up to a limit, so that the command's clean-up (a batch in the engine
 * stopped, a scratch folder deleted) finishes first.
 */
final class StopSignal implements AutoCloseable {

    private final AtomicBoolean requested = new AtomicBoolean();
    /** The status the JVM exits with when the signal came: interrupted, unless the command said otherwise. */
    private final AtomicInteger status = new AtomicInteger(3);
    private final CountDownLatch returned = new CountDownLatch(1);
    private final Thread hook;

    private StopSignal(String name, Duration wait) {
        this.hook = new Thread(() -> {
            requested.set(true);
            try {
                returned.await(wait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Runtime.getRuntime().halt(status.get());
        }, name);
    }

    /** Installs the hook until {@link #close}; {@code wait} bounds how long a signal waits for the command to return. */
    static StopSignal install(String name, Duration wait) {
        StopSignal signal = new StopSignal(name, wait);
        Runtime.getRuntime().addShutdownHook(signal.hook);
        return signal;
    }

    /** Whether a stop signal came. */
    boolean requested() {
        return requested.get();
    }

    /** Returns {@code code}, which is also the JVM's exit status should a signal have come. */
    int exit(int code) {
        status.set(code);
        return code;
    }

    /** The command has returned: a signal's hook, waiting or to come, exits with its status at once. */
    @Override
    public void close() {
        returned.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // shutting down already: the hook exits with the status set
        }
    }
}
