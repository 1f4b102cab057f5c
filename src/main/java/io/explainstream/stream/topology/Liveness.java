package io.explainstream.stream.topology;

import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import io.explainstream.text.Shortened;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the service is alive and making progress, for {@code /health}: unhealthy when its
 * stream thread has been replaced more than {@code health.thread.replacements.max} times within
 * {@code health.thread.replacements.window.ms}, or when a batch has been in the engine, or events
 * have waited without any batch finishing, for longer than the stall limit. Readiness (RUNNING,
 * model loaded) is a separate question, answered by {@code /ready}.
 */
public final class Liveness {

    private static final Logger LOG = LoggerFactory.getLogger(Liveness.class);
    /** Causes named in /health's reason, from the outermost. */
    private static final int MAX_CAUSES = 6;
    /** Characters of each cause's message named there. */
    private static final int MAX_MESSAGE_CHARS = 300;

    /** What /health reports. */
    public record Verdict(boolean healthy, String reason) {}

    private final int maxReplacements;
    private final long windowMs;
    private final long stallMs;
    private final Clock clock;
    private final Deque<Long> replacements = new ArrayDeque<>();
    private String lastFailure = "";
    private long engineSinceMs = -1;
    private long waitingSinceMs = -1;
    private boolean reportedUnhealthy;

    /**
     * @param maxReplacements thread replacements tolerated within the window
     * @param windowMs the window
     * @param stallMs the longest a batch may stay in the engine, or events may wait with no batch finishing
     */
    public Liveness(int maxReplacements, long windowMs, long stallMs, Clock clock) {
        this.maxReplacements = maxReplacements;
        this.windowMs = windowMs;
        this.stallMs = stallMs;
        this.clock = clock;
    }

    /** The liveness limits the configuration sets: {@code health.replacements.*} and the batch stall time. */
    public static Liveness from(ServiceConfig config, Clock clock) {
        return new Liveness(config.nonNegative(Setting.HEALTH_REPLACEMENTS_MAX), config.positive(Setting.HEALTH_REPLACEMENTS_WINDOW_MS),
                config.batchPolicy().stallMs(), clock);
    }

    public synchronized void threadReplaced(Throwable error) {
        replacements.addLast(clock.millis());
        lastFailure = describe(error);
    }

    /**
     * The error and its causes, each as its class and the first line of its message: the outermost
     * says where (Kafka Streams' "Exception caught in process. taskId=0_1, …"), the innermost what
     * (a registry that refuses connections). /health gave the outermost alone, which named neither.
     * Kafka Streams' messages carry a whole stack trace after ", stacktrace=": cut there. A cause
     * without a message that the line above already names ends the list: what it wraps is the
     * client's inside (Java's HTTP client gives a refused connection as a ConnectException without a
     * message around a ClosedChannelException, which reads as an open connection closed).
     */
    static String describe(Throwable error) {
        List<String> parts = new ArrayList<>();
        Set<Throwable> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Throwable cause = error; cause != null && seen.add(cause) && parts.size() < MAX_CAUSES; cause = cause.getCause()) {
            String message = cause.getMessage() == null ? "" : cause.getMessage().lines().findFirst().orElse("");
            if (message.isEmpty() && !parts.isEmpty() && parts.get(parts.size() - 1).contains(cause.getClass().getSimpleName())) {
                break;
            }
            int trace = message.indexOf(", stacktrace=");
            message = trace >= 0 ? message.substring(0, trace) : message;
            message = Shortened.cut(message, MAX_MESSAGE_CHARS);
            String part = cause.getClass().getName() + (message.isEmpty() ? "" : ": " + message);
            if (parts.isEmpty() || !parts.get(parts.size() - 1).equals(part)) {
                parts.add(part); // a wrapper that says nothing new (ConnectException around ConnectException) once
            }
        }
        return String.join("; caused by ", parts);
    }

    synchronized void engineEntered() {
        engineSinceMs = clock.millis();
    }

    synchronized void engineLeft() {
        engineSinceMs = -1;
        waitingSinceMs = -1;
    }

    /** The batch store was looked at: events wait in it, or none. */
    synchronized void waiting(boolean eventsWaiting) {
        if (!eventsWaiting) {
            waitingSinceMs = -1;
        } else if (waitingSinceMs < 0) {
            waitingSinceMs = clock.millis();
        }
    }

    public synchronized Verdict verdict() {
        long now = clock.millis();
        while (!replacements.isEmpty() && replacements.peekFirst() < now - windowMs) {
            replacements.removeFirst();
        }
        Verdict verdict;
        if (replacements.size() > maxReplacements) {
            verdict = new Verdict(false, "stream thread replaced " + replacements.size() + " times in the last " + windowMs / 1000
                    + " s (health.thread.replacements.max = " + maxReplacements + "); last error: " + lastFailure);
        } else if (engineSinceMs >= 0 && now - engineSinceMs > stallMs) {
            verdict = new Verdict(false, "a batch has been in the engine for " + (now - engineSinceMs) / 1000 + " s, more than " + stallMs / 1000 + " s");
        } else if (waitingSinceMs >= 0 && now - waitingSinceMs > stallMs) {
            verdict = new Verdict(false, "events have waited " + (now - waitingSinceMs) / 1000 + " s with no batch finishing, more than " + stallMs / 1000 + " s");
        } else {
            verdict = new Verdict(true, "making progress");
        }
        if (!verdict.healthy() && !reportedUnhealthy) {
            LOG.error("unhealthy: {}", verdict.reason());
        } else if (verdict.healthy() && reportedUnhealthy) {
            LOG.info("healthy again");
        }
        reportedUnhealthy = !verdict.healthy();
        return verdict;
    }
}
