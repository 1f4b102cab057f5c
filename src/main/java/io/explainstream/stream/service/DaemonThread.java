package io.explainstream.stream.service;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/** The service's background work beside the stream thread: each on one named daemon thread, so that none keeps the JVM up. */
final class DaemonThread {

    private DaemonThread() {}

    /** A scheduler whose one thread is a daemon named {@code name}. */
    static ScheduledExecutorService scheduler(String name) {
        return Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, name);
            thread.setDaemon(true);
            return thread;
        });
    }
}
