package io.explainstream.stream.topology;

import io.explainstream.stream.config.TimestampWindow;
import java.time.Clock;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * The first node after the source. A store write carries the timestamp of the record being
 * processed, and a broker that bounds how old a timestamp may be
 * ({@code log.message.timestamp.before.max.ms}) refuses the changelog record of an event older
 * than that (a backlog, a replay of last month): its transaction failed on every retry and the
 * partition stopped. Such a record goes on stamped with the time it arrives, its own timestamp
 * kept in the value, and the nodes after it take the event's time from there: a replay's range,
 * the backlog's lag, the timestamps of the explanation and the dead letter.
 */
final class TimestampIntake implements Processor<byte[], byte[], byte[], TimestampIntake.Received> {

    private final TimestampWindow changelogs;
    private final Clock clock;
    private ProcessorContext<byte[], Received> context;

    /** An input record's value and its own timestamp. */
    record Received(byte[] value, long timestampMs) {}

    TimestampIntake(TimestampWindow changelogs, Clock clock) {
        this.changelogs = changelogs;
        this.clock = clock;
    }

    @Override
    public void init(ProcessorContext<byte[], Received> context) {
        this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        long nowMs = clock.millis();
        context.forward(new Record<>(record.key(), new Received(record.value(), record.timestamp()), changelogs.acceptable(record.timestamp(), nowMs),
                record.headers()));
    }
}
