package io.explainstream.stream.audit;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.OptionalLong;

/**
 * When the records of one input partition reached it, as far as its end, sampled now and then,
 * says: each end seen, with the first and the last time it was seen, over at least the last
 * {@code keepMs}. A record's timestamp says when it was made, which for a mirror of a topic with
 * history is an hour before it reached this partition; the end says when it reached it, which is
 * when its wait for this service began.
 *
 * <p>Stream thread only.
 */
final class EndHistory {

    /** An end, and the first and last time it was seen. */
    private static final class Seen {
        final long end;
        final long firstMs;
        long lastMs;

        Seen(long end, long atMs) {
            this.end = end;
            this.firstMs = atMs;
            this.lastMs = atMs;
        }
    }

    /**
     * The most ends kept, whatever {@code keepMs}: read every half second, at least 68 minutes of
     * them. A limit of a day would otherwise keep 345,600 per partition; a record that waited longer
     * than what is kept is taken at its timestamp, as before the history began.
     */
    static final int MOST_KEPT = 8_192;

    private final long keepMs;
    /** Oldest first; the ends grow from each to the next. */
    private final ArrayDeque<Seen> seen = new ArrayDeque<>();
    /** The read of the ends last added. */
    private long lastReads = -1;

    /**
     * A history that keeps at least the last {@code keepMs}, in at most {@link #MOST_KEPT} ends: a
     * record that waited longer is taken at its timestamp.
     */
    EndHistory(long keepMs) {
        this.keepMs = keepMs;
    }

    /**
     * The partition ends at {@code end} now, as the {@code reads}-th read of the ends found it (-1:
     * read now). Only a new read says the end still stands: while the reads fail, the end last read
     * is kept, and a record past it came at some time since the last read that succeeded.
     */
    void add(long nowMs, long end, long reads) {
        Seen last = seen.peekLast();
        boolean fresh = reads < 0 || reads != lastReads;
        lastReads = reads;
        if (last != null && last.end == end) {
            // How long an end stood says when the records after it came: after it was last seen.
            if (fresh) {
                last.lastMs = nowMs;
            }
            return;
        }
        if (last != null && end < last.end) {
            // The partition was truncated or the topic made again: what was seen before says nothing now.
            seen.clear();
        }
        seen.addLast(new Seen(end, nowMs));
        while (seen.size() > MOST_KEPT || seen.size() > 2 && secondFirstMs() <= nowMs - keepMs) {
            seen.removeFirst();
        }
    }

    private long secondFirstMs() {
        Iterator<Seen> oldest = seen.iterator();
        oldest.next();
        return oldest.next().firstMs;
    }

    /** When the history begins: the first time its first end was seen; empty before the first. */
    OptionalLong startMs() {
        return seen.isEmpty() ? OptionalLong.empty() : OptionalLong.of(seen.peekFirst().firstMs);
    }

    /**
     * When the record at {@code offset} reached the partition: between the last time the end was
     * seen before it and the first time the end was seen past it, in proportion to its place among
     * the records that came between (they come at a steady rate as far as anything here can tell).
     * Empty where it came before the history begins; the last time the end was seen where no end
     * seen is past it yet (the ends are read every half second, the records sooner).
     */
    OptionalLong reachedMs(long offset) {
        Seen after = null;
        for (Iterator<Seen> newest = seen.descendingIterator(); newest.hasNext(); ) {
            Seen before = newest.next();
            if (before.end <= offset) {
                if (after == null) {
                    return OptionalLong.of(before.lastMs);
                }
                double place = (double) (offset - before.end + 1) / (after.end - before.end);
                return OptionalLong.of(before.lastMs + Math.round(place * (after.firstMs - before.lastMs)));
            }
            after = before;
        }
        return OptionalLong.empty();
    }
}
