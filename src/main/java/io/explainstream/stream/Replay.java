package io.explainstream.stream;

/**
 * A re-explanation of the events whose record timestamps fall in [fromMs, toMs).
 *
 * @param id names the replay: its application id, the replay_id field and header of its output
 * @param fromMs first instant included, ms since the epoch
 * @param toMs first instant excluded
 */
public record Replay(String id, long fromMs, long toMs) {

    /** The output header that carries the replay id. */
    public static final String HEADER = "explainstream.replay.id";

    public Replay {
        if (id == null || !id.matches("[A-Za-z0-9._-]{1,100}")) {
            throw new ConfigException("--replay-id = '" + id + "' must be 1-100 letters, digits, '.', '_' or '-'");
        }
        if (fromMs >= toMs) {
            throw new ConfigException("--from must be before --to (got " + java.time.Instant.ofEpochMilli(fromMs) + " and "
                    + java.time.Instant.ofEpochMilli(toMs) + ")");
        }
    }

    public boolean includes(long timestampMs) {
        return timestampMs >= fromMs && timestampMs < toMs;
    }
}
