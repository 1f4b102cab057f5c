package io.explainstream.stream.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.stream.config.ClusterAnswers.Change;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each change of whether the cluster answers is said once, the first question without an answer included. */
class ClusterAnswersTest {

    @Test
    void eachChangeIsSaidOnce() {
        ClusterAnswers cluster = new ClusterAnswers();
        List<Change> said = new ArrayList<>();
        boolean[] outcomes = {true, true, false, false, true, false, true, true};
        for (int i = 0; i < outcomes.length; i++) {
            said.add(cluster.record(outcomes[i], Instant.ofEpochSecond(i)));
        }
        assertEquals(List.of(Change.NONE, Change.NONE, Change.STOPPED_ANSWERING, Change.NONE, Change.ANSWERS_AGAIN, Change.STOPPED_ANSWERING,
                Change.ANSWERS_AGAIN, Change.NONE), said);
        assertTrue(cluster.answering());
        assertEquals(Instant.ofEpochSecond(7), cluster.lastAnswer());
    }

    @Test
    void aClusterThatNeverAnsweredIsSaidSoAtTheFirstQuestion() {
        ClusterAnswers cluster = new ClusterAnswers();
        assertFalse(cluster.answering(), "before the first question");
        assertEquals(Change.STOPPED_ANSWERING, cluster.record(false, Instant.ofEpochSecond(1)));
        assertEquals(Change.NONE, cluster.record(false, Instant.ofEpochSecond(2)));
        assertNull(cluster.lastAnswer(), "never reached");
        assertEquals(Change.ANSWERS_AGAIN, cluster.record(true, Instant.ofEpochSecond(3)));
    }
}
