package io.explainstream.stream.audit;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Where each input partition ends, as last read from the broker: the records between what a task
 * has read and the end are work that waits, which backlog control weighs before their lag shows it.
 */
@FunctionalInterface
public interface InputEnds {

    /** Nothing known: backlog control goes by the batch store and the lag alone (replays, tests). */
    InputEnds UNKNOWN = (topic, partition) -> OptionalLong.empty();

    /**
     * The offset the next record appended to the partition will get (its last stable offset: the
     * end of what a read-committed consumer may read), or empty when not known.
     */
    OptionalLong endOffset(String topic, int partition);

    /**
     * The offset the service's consumer group last committed for the partition: where a task that
     * has not read a record since it started reads from, so the records from it to the end wait
     * (after a restart or a failover, those that waited out the stopped instance). Empty when not
     * known. Asking marks the partition as wanted: a reader in the background may read the
     * committed offsets only of partitions asked about, and answer from its next read.
     */
    default OptionalLong committedOffset(String topic, int partition) {
        return OptionalLong.empty();
    }

    /**
     * The partition's end at the first read of it since the service started, and when that read
     * was answered: the records before that end had reached the partition by then. A service
     * restarted after an outage ticks its tasks only once the model is loaded and the group has
     * rebalanced, 15 to 20 s later; the records that waited out the outage waited at least since
     * this read, not only since the first tick. Empty when not read yet.
     */
    default Optional<SeenEnd> firstEnd(String topic, int partition) {
        return Optional.empty();
    }

    /**
     * The partition's ends as read since {@code sinceMs}, oldest first, as far back as they are
     * kept (about the last half minute); empty when none. The ends of every partition are read,
     * not only of those this instance's tasks hold, so the records arriving at a partition just
     * taken over, or at one whose task has just started after a restart, are known at its first
     * tick rather than a dwell time later.
     */
    default List<SeenEnd> endsSince(String topic, int partition, long sinceMs) {
        return List.of();
    }

    /**
     * How long before they reach the partition the records arriving at it are stamped: the newest
     * record's timestamp against the time it was read, as last measured (a reader may measure only
     * when records came since its previous read, and not at every read). About 0 for a producer that stamps each record as it sends it (and for
     * a topic that stamps records as they are appended), an hour for a mirror of a topic an hour
     * behind. It tells a record that waited out an outage longer than the limit from a mirror's
     * record that came old. Empty when not known.
     */
    default OptionalLong arrivalsStampedBeforeMs(String topic, int partition) {
        return OptionalLong.empty();
    }

    /** A partition's end ({@code end}: the offset the next record appended gets), as seen at {@code atMs}. */
    record SeenEnd(long end, long atMs) {
    }

    /**
     * How many times the ends have been read from the broker, or -1 where each call reads them.
     * An end that stands still between two reads says no record came; one that stands still because
     * no read succeeded says nothing, and a record past it may have come at any time since.
     */
    default long reads() {
        return -1;
    }
}
