package io.explainstream.stream.replay;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Where a replay's stream read: per partition, the offset it expects next, and the offsets it
 * jumped over. Retention that deletes records of a partition while the replay reads it, ahead of
 * its consumer, makes the consumer move on to the oldest record left without a word (its offset
 * is out of range): the committed offsets then pass the hole, and only the jump shows it. A jump
 * alone is not a loss, though: transaction markers and aborted records take offsets a read-committed
 * consumer never sees. The replay's runner tells the two apart with the oldest offsets left
 * ({@link ReplayPlan.Standing#deletedIn}). Written by the stream thread, drained by the runner.
 */
public final class ReadTrail {

    /** Per partition, the offset after the last record read (at the start: where the replay resumes). */
    private final Map<Integer, Long> next = new ConcurrentHashMap<>();
    private final Queue<ReplayPlan.Gap> jumps = new ConcurrentLinkedQueue<>();

    /** @param resumesFrom per partition, the offset the replay's stream starts reading at (its group's committed offsets) */
    public ReadTrail(Map<Integer, Long> resumesFrom) {
        next.putAll(resumesFrom);
    }

    /** Notes a record the stream read; a record before the one expected (a task read again from its last commit) is no jump. */
    public void read(int partition, long offset) {
        Long expected = next.put(partition, offset + 1);
        if (expected != null && offset > expected) {
            jumps.add(new ReplayPlan.Gap(partition, expected, offset - expected, true));
        }
    }

    /** The offsets jumped over since the last call. */
    public List<ReplayPlan.Gap> drain() {
        List<ReplayPlan.Gap> drained = new ArrayList<>();
        for (ReplayPlan.Gap jump = jumps.poll(); jump != null; jump = jumps.poll()) {
            drained.add(jump);
        }
        return drained;
    }
}
