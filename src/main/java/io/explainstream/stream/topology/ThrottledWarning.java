package io.explainstream.stream.topology;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A warning of something that may happen on every record: logged at most once per interval, with
 * how many times it happened since the last one, so that a month's backfill gives a line a minute
 * and not a million. What is left at a stop is {@link #owed}.
 */
final class ThrottledWarning {

    private final long intervalMs;
    private final AtomicLong nextMs = new AtomicLong(Long.MIN_VALUE);
    private final AtomicLong unwarned = new AtomicLong();

    ThrottledWarning(long intervalMs) {
        this.intervalMs = intervalMs;
    }

    /** Counts one occurrence at {@code nowMs}; returns how many to warn of now (this one included), or 0 while the interval runs. */
    long occurred(long nowMs) {
        long count = unwarned.incrementAndGet();
        long next = nextMs.get();
        if (nowMs >= next && nextMs.compareAndSet(next, nowMs + intervalMs)) {
            unwarned.addAndGet(-count);
            return count;
        }
        return 0;
    }

    /** The occurrences not warned of yet; resets them. */
    long owed() {
        return unwarned.getAndSet(0);
    }
}
