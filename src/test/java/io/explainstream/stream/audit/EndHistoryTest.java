package io.explainstream.stream.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class EndHistoryTest {

    @Test
    void aRecordReachedThePartitionBetweenTheLastEndBeforeItAndTheFirstPastItInProportion() {
        EndHistory history = new EndHistory(60_000);
        history.add(1_000, 10, -1);
        history.add(3_000, 10, -1);
        // Records 10 to 19 came between 3 s (the end last seen at 10) and 8 s (first seen at 20).
        history.add(8_000, 20, -1);
        assertEquals(OptionalLong.of(3_500), history.reachedMs(10));
        assertEquals(OptionalLong.of(8_000), history.reachedMs(19));
        assertEquals(OptionalLong.of(5_500), history.reachedMs(14));
    }

    @Test
    void aRecordBeforeTheHistoryIsNotPlacedAndOnePastTheLastEndSeenCameAfterIt() {
        EndHistory history = new EndHistory(60_000);
        assertEquals(OptionalLong.empty(), history.reachedMs(0));
        history.add(1_000, 10, -1);
        history.add(2_000, 12, -1);
        assertEquals(OptionalLong.empty(), history.reachedMs(9));
        // The ends are read every half second; a record read since came after the last end seen.
        assertEquals(OptionalLong.of(2_000), history.reachedMs(12));
    }

    @Test
    void anEndThatNoNewReadFoundDoesNotSayThatItStillStands() {
        EndHistory history = new EndHistory(60_000);
        history.add(1_000, 10, 1);
        history.add(2_000, 10, 2);
        // The reads fail from here on: the end sampled is the one read at 2 s.
        history.add(3_000, 10, 2);
        history.add(9_000, 10, 2);
        assertEquals(OptionalLong.of(2_000), history.reachedMs(10));
        history.add(10_000, 10, 3);
        assertEquals(OptionalLong.of(10_000), history.reachedMs(10));
    }

    @Test
    void itKeepsAtLeastItsSpanAndStartsAgainWhereThePartitionShrank() {
        EndHistory history = new EndHistory(10_000);
        for (long second = 0; second <= 30; second++) {
            history.add(second * 1_000, second * 2, -1);
        }
        // Kept: the last 10 s, from 20 s (end 40) on; record 40 came between 20 s and 21 s, the first of two.
        assertEquals(OptionalLong.of(20_500), history.reachedMs(40));
        assertEquals(OptionalLong.empty(), history.reachedMs(39));
        history.add(31_000, 5, -1);
        assertEquals(OptionalLong.empty(), history.reachedMs(4));
        assertEquals(OptionalLong.of(31_000), history.reachedMs(5));
    }

    @Test
    void itKeepsAtMostItsCountOfEndsWhateverItsSpan() {
        EndHistory history = new EndHistory(Long.MAX_VALUE / 2);
        int ends = EndHistory.MOST_KEPT + 100;
        for (int read = 1; read <= ends; read++) {
            history.add(read * 500L, read, read);
        }
        assertEquals(OptionalLong.empty(), history.reachedMs(99), "dropped: taken at its timestamp");
        assertEquals(OptionalLong.of(ends * 500L), history.reachedMs(ends - 1));
    }

    @Test
    void aRecordBeforeTheFirstReadsEndHadReachedThePartitionByThatRead() {
        // Read at the start (1 s), end 50; the history begins at the first tick (19 s), end 68.
        EndHistory history = new EndHistory(60_000, Optional.of(new InputEnds.SeenEnd(50, 1_000)));
        assertEquals(OptionalLong.empty(), history.reachedByMs(0), "no history yet");
        history.add(19_000, 68, -1);
        assertEquals(OptionalLong.of(1_000), history.reachedByMs(49));
        // Records 50 to 67 came between the read and the first tick: by the tick, as far as is known.
        assertEquals(OptionalLong.of(19_000), history.reachedByMs(50));
        EndHistory unread = new EndHistory(60_000);
        unread.add(19_000, 68, -1);
        assertEquals(OptionalLong.of(19_000), unread.reachedByMs(49), "without the first read: by the first tick");
    }

    @Test
    void aPartitionTruncatedSinceTheFirstReadForgetsIt() {
        EndHistory shrunk = new EndHistory(60_000, Optional.of(new InputEnds.SeenEnd(50, 1_000)));
        shrunk.add(19_000, 30, -1);
        assertEquals(OptionalLong.of(19_000), shrunk.reachedByMs(10));
        EndHistory later = new EndHistory(60_000, Optional.of(new InputEnds.SeenEnd(50, 1_000)));
        later.add(19_000, 68, -1);
        later.add(20_000, 5, -1);
        assertEquals(OptionalLong.of(20_000), later.reachedByMs(2));
    }
}
