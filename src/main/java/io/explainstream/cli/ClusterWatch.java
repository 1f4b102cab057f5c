package io.explainstream.cli;

import java.io.PrintWriter;
import java.time.Duration;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.KafkaException;

/**
 * Says once, on standard error, when the Kafka cluster stops answering a command that reads from
 * it, and once when it answers again. A consumer whose broker is gone polls nothing, without an
 * error: {@code tail} printed only the client's own warnings through an outage (three a second), and
 * nothing of its own. Asked every few seconds on the reading thread, between polls.
 */
final class ClusterWatch {

    /** How often the cluster is asked. */
    private static final long EVERY_MS = 5_000;
    /** How long one question may take: nothing arrives meanwhile anyway while the cluster is gone. */
    private static final Duration ANSWER_WITHIN = Duration.ofSeconds(2);
    /** The Kafka client settings that space the client's own reconnect warnings while the cluster is gone: the first wait, and the most. */
    static final String RECONNECT_BACKOFF = "reconnect.backoff.ms";
    static final String RECONNECT_BACKOFF_MAX = "reconnect.backoff.max.ms";

    private final String command;
    private final String servers;
    private final PrintWriter err;
    private final java.time.Clock clock;
    private long nextAskMs;
    private boolean silent;

    ClusterWatch(String command, String servers, PrintWriter err) {
        this(command, servers, err, java.time.Clock.systemUTC());
    }

    ClusterWatch(String command, String servers, PrintWriter err, java.time.Clock clock) {
        this.command = command;
        this.servers = servers;
        this.err = err;
        this.clock = clock;
        this.nextAskMs = clock.millis() + EVERY_MS;
    }

    /** Asks the cluster through {@code consumer}, at most every few seconds, and says when its answer changed. */
    void check(Consumer<?, ?> consumer) {
        if (clock.millis() < nextAskMs) {
            return;
        }
        boolean answers;
        try {
            consumer.listTopics(ANSWER_WITHIN);
            answers = true;
        } catch (KafkaException e) {
            answers = false;
        }
        if (answers == silent) {
            err.println(command + ": the Kafka cluster at " + servers + (answers ? " answers again"
                    : " does not answer; waiting for it (reading goes on where it was when it answers)"));
            err.flush();
        }
        silent = !answers;
        nextAskMs = clock.millis() + EVERY_MS;
    }
}
