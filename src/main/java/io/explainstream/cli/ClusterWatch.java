package io.explainstream.cli;

import io.explainstream.stream.config.ClusterAnswers;
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
    private final ClusterAnswers answers = new ClusterAnswers();
    private long nextAskMs;

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
        boolean answered;
        try {
            consumer.listTopics(ANSWER_WITHIN);
            answered = true;
        } catch (KafkaException e) {
            answered = false;
        }
        switch (answers.record(answered, clock.instant())) {
            case STOPPED_ANSWERING -> say("does not answer; waiting for it (reading goes on where it was when it answers)");
            case ANSWERS_AGAIN -> say("answers again");
            case NONE -> { }
        }
        nextAskMs = clock.millis() + EVERY_MS;
    }

    private void say(String what) {
        err.println(command + ": the Kafka cluster at " + servers + " " + what);
        err.flush();
    }
}
