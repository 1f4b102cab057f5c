package io.explainstream.stream.audit;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Optional;
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
     * The end read first since the service started, before the history began; null where none is
     * known, or the partition was truncated since.
     */
    private InputEnds.SeenEnd firstRead;

    /**
     * A history that keeps at least the last {@code keepMs}, in at most {@link #MOST_KEPT} ends: a
     * record that waited longer is taken at its timestamp.
     */
    EndHistory(long keepMs) {
        this(keepMs, Optional.empty());
    }

    /**
     * The same, where the partition's end was read at the service's start ({@code firstRead}),
     * before this history began: the records before it had reached the partition by then.
     */
    EndHistory(long keepMs, Optional<InputEnds.SeenEnd> firstRead) {
        this.keepMs = keepMs;
        this.firstRead = firstRead.orElse(null);
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
        if (last == null && firstRead != null && end < firstRead.end()
                || last != null && end < last.end) {
            // The partition was truncated or the topic made again: what was seen before says nothing now.
            seen.clear();
            firstRead = null;
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

    /**
     * A time by which the record at {@code offset}, which came before the history begins, had
     * reached the partition: the first read's, where it is before that read's end and earlier than
     * the history; else the history's start, the first time its first end was seen. Empty before
     * the first end.
     */
    OptionalLong reachedByMs(long offset) {
        if (seen.isEmpty()) {
            return OptionalLong.empty();
        }
        long startMs = seen.peekFirst().firstMs;
        return OptionalLong.of(firstRead != null && offset < firstRead.end() ? Math.min(startMs, firstRead.atMs()) : startMs);
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
