package io.explainstream.stream.replay;

import io.explainstream.stream.config.ConfigException;
import java.util.Map;

/**
 * A re-explanation of the events whose record timestamps fall in [fromMs, toMs).
 *
 * @param id names the replay: its application id, the replay_id field and header of its output
 * @param fromMs first instant included, ms since the epoch
 * @param toMs first instant excluded
 * @param stopOffsets per partition of the input, the first offset not replayed (taken when the
 *     replay is planned); a record there or later is outside the replay even when its timestamp is
 *     in range, so that what a replay explains does not depend on when it stops. Empty: no bound.
 */
public record Replay(String id, long fromMs, long toMs, Map<Integer, Long> stopOffsets) {

    /** The output header that carries the replay id. */
    public static final String HEADER = "explainstream.replay.id";

    public Replay {
        requireId("--replay-id", id);
        if (fromMs >= toMs) {
            throw new ConfigException("--from must be before --to (got " + java.time.Instant.ofEpochMilli(fromMs) + " and "
                    + java.time.Instant.ofEpochMilli(toMs) + ")");
        }
        stopOffsets = Map.copyOf(stopOffsets);
    }

    /** A replay id as replay takes it; diff checks its ids the same way before it reads any topic. */
    public static void requireId(String option, String id) {
        if (id == null || !id.matches("[A-Za-z0-9._-]{1,100}")) {
            throw new ConfigException(option + " = '" + id + "' must be 1 to 100 ASCII letters, digits, '.', '_' or '-'"
                    + " (fewer with a long application.id: the replay's own, <application.id>-replay-<id>, holds at most 100)");
        }
    }

    public Replay(String id, long fromMs, long toMs) {
        this(id, fromMs, toMs, Map.of());
    }

    /** The same replay, bounded by the offsets a plan found. */
    public Replay withStopOffsets(Map<Integer, Long> offsets) {
        return new Replay(id, fromMs, toMs, offsets);
    }

    public boolean includes(long timestampMs) {
        return timestampMs >= fromMs && timestampMs < toMs;
    }

    /** Whether the record at this partition and offset, with this timestamp, is one the replay explains. */
    public boolean includes(int partition, long offset, long timestampMs) {
        Long stop = stopOffsets.get(partition);
        return includes(timestampMs) && (stop == null || offset < stop);
    }
}
