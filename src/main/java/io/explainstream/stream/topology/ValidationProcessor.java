package io.explainstream.stream.topology;

import io.explainstream.stream.ingest.Admission;
import io.explainstream.stream.ingest.Ingest;
import io.explainstream.stream.ingest.SourcePosition;
import io.explainstream.stream.output.DeadLetters;
import java.time.Clock;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes and validates each input record. Valid events go on to the batcher; invalid ones go to
 * the dead-letter topic with their original bytes; skipped ones are counted. Nothing thrown here
 * reaches the stream thread.
 */
final class ValidationProcessor implements Processor<byte[], TimestampIntake.Received, Object, Object> {

    private static final Logger LOG = LoggerFactory.getLogger(ValidationProcessor.class);

    private final Ingest ingest;
    private final Scope scope;
    private final DeadLetters deadLetters;
    private final ServiceMetrics metrics;
    private final Clock clock;
    private ProcessorContext<Object, Object> context;
    private Outcomes outcomes;

    ValidationProcessor(Ingest ingest, Scope scope, DeadLetters deadLetters, ServiceMetrics metrics, Clock clock) {
        this.ingest = ingest;
        this.scope = scope;
        this.deadLetters = deadLetters;
        this.metrics = metrics;
        this.clock = clock;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
        this.outcomes = Outcomes.of(context, scope);
    }

    @Override
    public void process(Record<byte[], TimestampIntake.Received> record) {
        // The event's own timestamp: the record's may have been moved for the changelogs (TimestampIntake).
        SourcePosition source = source(record.value().timestampMs());
        byte[] value = record.value().value();
        scope.read(source.partition(), source.offset());
        if (!scope.includes(source.partition(), source.offset(), source.timestampMs())) {
            // A replay reads from the first offset at its start time; later records may carry
            // earlier (or later) timestamps: only the range is explained.
            metrics.skipped("out_of_range", null);
            return;
        }
        if (scope.skipsRecordsReadBefore() && outcomes.readBefore(source.partition(), source.offset())) {
            // Explained, dead-lettered or waiting in the batch store already, all committed with
            // the store: the group's offsets went back (deleted, then restored from the replay's
            // record), and reading it again would explain it twice and count it twice. Only records
            // in range are noted: a replay that had none is freed to take other terms, store and all.
            metrics.skipped("read_before", null);
            return;
        }
        Admission admission = ingest.admit(source.topic(), value);
        // Counted once decoded (or not), so that the counters carry the event's model and metadata.
        metrics.eventIn(admission);
        if (admission instanceof Admission.Reject reject) {
            metrics.deadLetter(DeadLetters.Stage.VALIDATION, reject);
            outcomes.count(Outcomes.DEAD_LETTERED);
            Record<byte[], byte[]> deadLetter = deadLetters.record(record.key(), value, source, DeadLetters.Stage.VALIDATION, reject.error(),
                    context.applicationId(), clock.millis());
            scope.stamp(deadLetter.headers()); // a replay's dead letters say which replay, as its explanations do
            context.forward(deadLetter, ExplainTopology.DLQ_SINK);
        } else if (admission instanceof Admission.Skip skip) {
            metrics.skipped(skip.reason(), skip.event());
            outcomes.count(Outcomes.SKIPPED);
        } else {
            // What fails downstream is not this event's fault. The batcher guards its engine call
            // itself; a sink that cannot write (the registry down when an explanation is serialized)
            // fails the thread, and Kafka Streams redoes the uncommitted work from the last commit.
            context.forward(record.withValue(new Arrival((Admission.Explain) admission, source, record.key(), value)),
                    ExplainTopology.BATCHER);
        }
    }

    private SourcePosition source(long timestampMs) {
        RecordMetadata metadata = context.recordMetadata().orElse(null);
        return metadata == null
                ? new SourcePosition("unknown", -1, -1, timestampMs)
                : new SourcePosition(metadata.topic(), metadata.partition(), metadata.offset(), timestampMs);
    }

    /** A valid event on its way to the batcher. */
    record Arrival(Admission.Explain admission, SourcePosition source, byte[] rawKey, byte[] rawValue) {}
}
