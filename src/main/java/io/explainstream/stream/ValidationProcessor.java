package io.explainstream.stream;

import io.explainstream.avro.RegistryException;
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
final class ValidationProcessor implements Processor<byte[], byte[], Object, Object> {

    private static final Logger LOG = LoggerFactory.getLogger(ValidationProcessor.class);

    private final InputDecoder decoder;
    private final EventValidator validator;
    private final Replay replay;
    private final DeadLetters deadLetters;
    private final ServiceMetrics metrics;
    private final Clock clock;
    private ProcessorContext<Object, Object> context;

    ValidationProcessor(InputDecoder decoder, EventValidator validator, Replay replay, DeadLetters deadLetters, ServiceMetrics metrics, Clock clock) {
        this.decoder = decoder;
        this.validator = validator;
        this.replay = replay;
        this.deadLetters = deadLetters;
        this.metrics = metrics;
        this.clock = clock;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        SourcePosition source = source(record);
        if (replay != null && !replay.includes(record.timestamp())) {
            // A replay reads from the first offset at its start time; later records may carry
            // earlier (or later) timestamps: only the range is explained.
            metrics.skipped("out_of_range");
            return;
        }
        InputEvent event = null;
        Admission admission;
        try {
            event = decoder.decode(source.topic(), record.value());
            admission = validator.admit(event, record.value().length);
        } catch (RegistryException e) {
            // The registry is down (after the client's retries): the event is not at fault and must
            // not be dead-lettered. Failing the stream thread makes Kafka Streams replace it and redo
            // the uncommitted work, this record included, from the last commit.
            LOG.warn("schema registry unavailable while reading {}-{}@{}; the record will be read again", source.topic(), source.partition(),
                    source.offset());
            throw e;
        } catch (RuntimeException e) {
            // Invalid events, and anything unexpected in decoding: never let one record stop the stream thread.
            if (!(e instanceof InvalidEventException)) {
                LOG.warn("unexpected error validating {}-{}@{}", source.topic(), source.partition(), source.offset(), e);
            }
            // Counted once decoded (or not), so that the counters carry the event's model and metadata.
            metrics.eventIn(event);
            metrics.deadLetter(DeadLetters.Stage.VALIDATION, event);
            context.forward(deadLetters.record(record.key(), record.value(), source, DeadLetters.Stage.VALIDATION, e, clock.millis()),
                    ExplainTopology.DLQ_SINK);
            return;
        }
        metrics.eventIn(event);
        if (!admission.explain()) {
            metrics.skipped(admission.skipReason(), event);
            return;
        }
        // Outside the try: what fails downstream is not this event's fault. The batcher guards its
        // engine call itself; a sink that cannot write (the registry down when an explanation is
        // serialized) fails the thread, and Kafka Streams redoes the uncommitted work from the last
        // commit. Dead-lettering this event for it would both lose it and leave it in the batch.
        context.forward(record.withValue(new Arrival(admission, source, record.key(), record.value())), ExplainTopology.BATCHER);
    }

    private SourcePosition source(Record<byte[], byte[]> record) {
        RecordMetadata metadata = context.recordMetadata().orElse(null);
        return metadata == null
                ? new SourcePosition("unknown", -1, -1, record.timestamp())
                : new SourcePosition(metadata.topic(), metadata.partition(), metadata.offset(), record.timestamp());
    }

    /** A valid event on its way to the batcher. */
    record Arrival(Admission admission, SourcePosition source, byte[] rawKey, byte[] rawValue) {}
}
