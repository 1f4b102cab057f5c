package io.explainstream.dashboard;

import io.explainstream.schema.Explanation;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The last {@code keep} explanations the dashboard consumed, newest last, looked up by event id.
 * A replayed explanation shares its event id with the original; the newer one is what a lookup
 * by id returns and what the feed lists, once per event id. Listeners (the SSE streams) hear of
 * each event as it is added.
 */
final class EventStore {

    private final int keep;
    private final Deque<DashboardEvent> events = new ArrayDeque<>();
    private final Map<String, DashboardEvent> byId = new HashMap<>();
    /** How many of the held explanations are of each event id: more than one when it was re-explained. */
    private final Map<String, Integer> heldPerId = new HashMap<>();
    private final List<Consumer<DashboardEvent>> listeners = new CopyOnWriteArrayList<>();
    private long nextSequence = 1;

    EventStore(int keep) {
        if (keep < 1) {
            throw new IllegalArgumentException("--keep must be at least 1, not " + keep);
        }
        this.keep = keep;
    }

    DashboardEvent add(Explanation record) {
        DashboardEvent event;
        synchronized (this) {
            event = DashboardEvent.of(nextSequence++, record);
            events.addLast(event);
            byId.put(event.eventId(), event);
            heldPerId.merge(event.eventId(), 1, Integer::sum);
            while (events.size() > keep) {
                DashboardEvent dropped = events.removeFirst();
                byId.remove(dropped.eventId(), dropped);
                heldPerId.computeIfPresent(dropped.eventId(), (id, held) -> held == 1 ? null : held - 1);
            }
        }
        listeners.forEach(listener -> listener.accept(event));
        return event;
    }

    synchronized Optional<DashboardEvent> get(String eventId) {
        return Optional.ofNullable(byId.get(eventId));
    }

    /**
     * The newest explanation of each event id, newest first, where it matches; at most
     * {@code filter.limit()}. An older explanation of an id is passed over even when it alone
     * matches: the feed shows what a lookup by id shows.
     */
    synchronized List<DashboardEvent> newestFirst(EventFilter filter) {
        List<DashboardEvent> matching = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Iterator<DashboardEvent> it = events.descendingIterator(); it.hasNext() && matching.size() < filter.limit(); ) {
            DashboardEvent event = it.next();
            if (seen.add(event.eventId()) && filter.matches(event)) {
                matching.add(event);
            }
        }
        return matching;
    }

    /** How many explanations of {@code eventId} are held: 2 or more when it was explained again (a replay, a redelivery). */
    synchronized int explanationsHeld(String eventId) {
        return heldPerId.getOrDefault(eventId, 0);
    }

    /** Every event held, oldest first: what the trends are computed from. */
    synchronized List<DashboardEvent> all() {
        return List.copyOf(events);
    }

    synchronized int size() {
        return events.size();
    }

    int keep() {
        return keep;
    }

    /** Registers a listener; the returned handle removes it. */
    Runnable listen(Consumer<DashboardEvent> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }
}
