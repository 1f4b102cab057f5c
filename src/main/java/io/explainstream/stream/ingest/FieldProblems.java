package io.explainstream.stream.ingest;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The problems found in one event's fields, so that its dead letter names them all at once: a
 * producer that fixes only the first problem it was told of would have the event refused again
 * for the next. Each check that fails adds its {@link InvalidEventException}; {@link #throwIfAny}
 * throws one exception for all of them. One per event, never shared.
 */
final class FieldProblems {

    /** The most problems a reason lists; past it, "and N more" (an event with a thousand unknown fields). */
    static final int LISTED = 8;

    private final List<InvalidEventException> found = new ArrayList<>();
    /** Problems past the first {@link #LISTED}, counted only. */
    private int more;
    /** The fields whose reading failed: their values are not checked on top of that. */
    private final Set<String> failed = new HashSet<>();

    /** The field's value, or null when reading it failed: its problem is then kept, and the field is one of {@link #failed}. */
    <T> T read(String field, Supplier<T> reading) {
        try {
            return reading.get();
        } catch (InvalidEventException e) {
            add(e);
            failed.add(field);
            return null;
        }
    }

    void check(Runnable check) {
        try {
            check.run();
        } catch (InvalidEventException e) {
            add(e);
        }
    }

    void add(InvalidEventException problem) {
        if (found.size() < LISTED) {
            found.add(problem);
        } else {
            more++;
        }
    }

    boolean any() {
        return !found.isEmpty();
    }

    /** Whether reading {@code field} failed (its shape was wrong). */
    boolean failed(String field) {
        return failed.contains(field);
    }

    /**
     * Throws the one problem found as it is, or several as one: "3 problems: field 'model' is
     * missing; field 'timestamp' = 'noon' is not …; unknown field 'top_p', found number 0.9".
     */
    void throwIfAny() {
        if (found.size() == 1) {
            throw found.get(0);
        }
        if (found.size() > 1) {
            StringBuilder reason = new StringBuilder().append(found.size() + more).append(" problems: ");
            for (int i = 0; i < found.size(); i++) {
                reason.append(i == 0 ? "" : "; ").append(found.get(i).getMessage());
            }
            if (more > 0) {
                reason.append("; and ").append(more).append(" more");
            }
            throw new InvalidEventException(reason.toString(), found.get(0));
        }
    }
}
