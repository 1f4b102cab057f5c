package io.explainstream.stream.topology;

import io.explainstream.stream.replay.ReadTrail;
import io.explainstream.stream.replay.Replay;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Headers;

/**
 * What a running topology explains and how it marks what it writes: the live service (every
 * record, no marks) or one replay (the records of its range, its id on every explanation, and a
 * count of outcomes that decides when it is finished). The processors ask the scope and never
 * test for a replay themselves.
 */
public sealed interface Scope permits Scope.Live, Scope.Replaying {

    /** The live service. */
    static Scope live() {
        return new Live();
    }

    /**
     * A replay; {@code exactlyOnce}: processing.guarantee is exactly_once_v2; {@code trail} notes
     * every record read, for the runner to find what retention deleted ahead of the stream.
     */
    static Scope replay(Replay replay, boolean exactlyOnce, ReadTrail trail) {
        return new Replaying(replay, exactlyOnce, trail);
    }

    /** Whether the record at this partition and offset, with this timestamp, is to be explained. */
    boolean includes(int partition, long offset, long timestampMs);

    /** Notes that the stream read the record at this partition and offset, in range or not. */
    void read(int partition, long offset);

    /** Adds the scope's marks to an explanation's headers. */
    void stamp(Headers headers);

    /** The replay id written into each explanation; null for the live service (the Avro field is optional). */
    String replayId();

    /** Whether the topology keeps a changelogged count of outcomes ({@link Outcomes}). */
    boolean countsOutcomes();

    /**
     * Whether a record at or before the last offset read from its partition, as the changelogged
     * outcome store says, is skipped: a replay whose consumer group's offsets were deleted resumes
     * from its record's last save, seconds older than the commit the store went with. Only under
     * exactly-once, where the store commits with the offsets: under at-least-once a crash rereads
     * records whose store updates were written but whose offsets were not, and that reread is the
     * recovery.
     */
    boolean skipsRecordsReadBefore();

    /** The live service: everything, unmarked. */
    record Live() implements Scope {
        @Override
        public boolean includes(int partition, long offset, long timestampMs) {
            return true;
        }

        @Override
        public void read(int partition, long offset) {}

        @Override
        public void stamp(Headers headers) {}

        @Override
        public String replayId() {
            return null;
        }

        @Override
        public boolean countsOutcomes() {
            return false;
        }

        @Override
        public boolean skipsRecordsReadBefore() {
            return false;
        }
    }

    /** A replay: its range, marked with its id, its outcomes counted; under exactly-once, no record read twice. */
    record Replaying(Replay replay, boolean exactlyOnce, ReadTrail trail) implements Scope {
        @Override
        public boolean includes(int partition, long offset, long timestampMs) {
            return replay.includes(partition, offset, timestampMs);
        }

        @Override
        public void read(int partition, long offset) {
            trail.read(partition, offset);
        }

        @Override
        public void stamp(Headers headers) {
            headers.add(Replay.HEADER, replay.id().getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String replayId() {
            return replay.id();
        }

        @Override
        public boolean countsOutcomes() {
            return true;
        }

        @Override
        public boolean skipsRecordsReadBefore() {
            return exactlyOnce;
        }
    }
}
