package io.explainstream.stream.config;

import java.time.Instant;

/**
 * Whether a Kafka cluster answers a reader that asks it every few seconds, and when it last did. A
 * consumer whose brokers are gone polls nothing, without an error, so a reader must ask, and say
 * each change once: the dashboard in its log and on its page, {@code tail} on standard error.
 * Written by the reading thread; read from any.
 */
public final class ClusterAnswers {

    /** What one question's outcome changed. */
    public enum Change {
        NONE,
        /** No answer, after an answer or at the first question. */
        STOPPED_ANSWERING,
        /** An answer after a question that got none. */
        ANSWERS_AGAIN
    }

    private volatile boolean asked;
    private volatile boolean answering;
    private volatile Instant lastAnswer;

    /** Records whether the cluster answered a question asked {@code now}. */
    public Change record(boolean answers, Instant now) {
        Change change;
        if (answers) {
            lastAnswer = now;
            change = asked && !answering ? Change.ANSWERS_AGAIN : Change.NONE;
        } else {
            change = !asked || answering ? Change.STOPPED_ANSWERING : Change.NONE;
        }
        asked = true;
        answering = answers;
        return change;
    }

    /** Whether the latest question got an answer (false before the first). */
    public boolean answering() {
        return answering;
    }

    /** When a question last got an answer; null before the first. */
    public Instant lastAnswer() {
        return lastAnswer;
    }
}
