package io.explainstream.stream.audit;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/**
 * The tokens of the last events of some kind taken into the batch stores, and how many of them had
 * each length: the records not yet read are priced as the last events were, each at its own
 * length. Stream thread only.
 */
final class RecentLengths {

    private final int most;
    private final ArrayDeque<Integer> last = new ArrayDeque<>();
    private final Map<Integer, Integer> counts = new HashMap<>();

    /** The last {@code most} events. */
    RecentLengths(int most) {
        this.most = most;
    }

    void add(int tokens) {
        last.addLast(tokens);
        counts.merge(tokens, 1, Integer::sum);
        if (last.size() > most) {
            counts.computeIfPresent(last.removeFirst(), (length, count) -> count > 1 ? count - 1 : null);
        }
    }

    int size() {
        return last.size();
    }

    boolean isEmpty() {
        return last.isEmpty();
    }

    /** How many of them had each length. */
    Map<Integer, Integer> counts() {
        return Collections.unmodifiableMap(counts);
    }

    /** Their median length; -1 before the first. */
    int median() {
        if (last.isEmpty()) {
            return -1;
        }
        int[] sorted = last.stream().mapToInt(Integer::intValue).sorted().toArray();
        return sorted[sorted.length / 2];
    }
}
