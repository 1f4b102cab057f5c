package io.explainstream.stream.topology;

import io.explainstream.attribution.GradientMethod;
import io.explainstream.schema.Explanation;
import io.explainstream.stream.audit.AuditPolicy;
import io.explainstream.stream.audit.BacklogController;
import io.explainstream.stream.batch.Explainer;
import io.explainstream.stream.batch.TransactionBudget;
import io.explainstream.stream.config.BatchPolicy;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.SinkTimes;
import io.explainstream.stream.ingest.EventValidator;
import io.explainstream.stream.ingest.Ingest;
import io.explainstream.stream.ingest.InputDecoder;
import io.explainstream.stream.output.DeadLetters;
import java.time.Clock;
import java.util.Map;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * The processing graph:
 *
 * <pre>
 *   input (bytes) → intake → validate ─invalid→ dlq (original bytes + reason headers)
 *                               │
 *                               ▼
 *                            batcher [pending-events store] → output (Avro Explanation, input's key and timestamp)
 *                               └─ failed alone after splitting, or not writable → dlq
 *
 *   the intake stamps a record the changelogs would refuse with its arrival time, keeping its own in the value
 *   a replay also counts each event's outcome [replay-outcomes store]
 *   every record written passes a timestamp watch on its way to its topic (refused timestamps moved, past retention counted)
 * </pre>
 *
 * The topology does no I/O of its own: decoding, validation, the engine and the output serializer
 * are passed in, so tests run the very code production runs.
 */
public final class ExplainTopology {

    static final String SOURCE = "input";
    static final String INTAKE = "intake";
    static final String VALIDATE = "validate";
    static final String BATCHER = "batcher";
    /** Where processors send explanations: the output topic's timestamp watch, in front of its sink. */
    static final String OUTPUT_SINK = "explanations";
    /** Where processors send dead letters: the dead-letter topic's timestamp watch, in front of its sink. */
    static final String DLQ_SINK = "dead-letters";
    static final String SKIP_SINK = "skip-notices";
    public static final String STORE = "pending-events";

    /**
     * The topic names and batching rule.
     *
     * @param inputTopic logged interactions
     * @param outputTopic explanations
     * @param dlqTopic dead letters
     * @param batch when batches are flushed
     * @param scope the live service, or a replay's range and id
     * @param maxRecordBytes the most key and value bytes of any record the topology writes
     *     ({@code record.max.bytes}): longer dead letters are cut, larger explanations dead-lettered
     * @param times what the output and dead-letter topics and the store changelogs do with record
     *     timestamps, read at start
     */
    public record Topics(String inputTopic, String outputTopic, String dlqTopic, BatchPolicy batch, Scope scope, int maxRecordBytes,
            SinkTimes times, String skipNoticesTopic) {

        /** Kafka's default limits are 1 MiB (producer) and 1 MiB + 12 bytes (broker): this leaves room for headers. */
        public static final int DEFAULT_MAX_RECORD_BYTES = 1_000_000;

        public Topics(String inputTopic, String outputTopic, String dlqTopic, BatchPolicy batch) {
            this(inputTopic, outputTopic, dlqTopic, batch, Scope.live(), DEFAULT_MAX_RECORD_BYTES, SinkTimes.ANY, null);
        }

        public Topics(String inputTopic, String outputTopic, String dlqTopic, BatchPolicy batch, Scope scope, int maxRecordBytes, SinkTimes times) {
            this(inputTopic, outputTopic, dlqTopic, batch, scope, maxRecordBytes, times, null);
        }

        public Topics withMaxRecordBytes(int bytes) {
            return new Topics(inputTopic, outputTopic, dlqTopic, batch, scope, bytes, times, skipNoticesTopic);
        }

        public Topics withTimes(SinkTimes times) {
            return new Topics(inputTopic, outputTopic, dlqTopic, batch, scope, maxRecordBytes, times, skipNoticesTopic);
        }

        /** Where a {@link io.explainstream.stream.output.SkipNotice} goes for each event skipped to stay within the budget: for the statistics. */
        public Topics withSkipNotices(String topic) {
            return new Topics(inputTopic, outputTopic, dlqTopic, batch, scope, maxRecordBytes, times, topic);
        }

        /** The largest record, headers included, that the producer and every topic written must accept. */
        public int maxRecordBytesWithHeaders() {
            return maxRecordBytes + ServiceConfig.HEADER_ROOM_BYTES;
        }
    }

    private ExplainTopology() {}

    /**
     * @param explanationSerializer used by the batcher itself, so that a record that cannot be
     *     written is known before it is sent and becomes a dead letter
     * @param liveness told when batches enter and leave the engine, for /health
     */
    public static Topology build(Topics topics, InputDecoder decoder, EventValidator validator, Explainer explainer,
            Serializer<Explanation> explanationSerializer, ServiceMetrics metrics, Liveness liveness, Clock clock) {
        return build(topics, decoder, validator, explainer, explanationSerializer, metrics, liveness,
                new BacklogController(AuditPolicy.DEFAULTS.withMaxLagMs(0), GradientMethod.INTEGRATED_GRADIENTS, 1, 0, clock),
                clock);
    }

    /**
     * @param backlog the instance's audit policy and backlog level (one per instance: one model);
     *     a replay's topology turns backlog control off, since its events are old by design
     */
    public static Topology build(Topics topics, InputDecoder decoder, EventValidator validator, Explainer explainer,
            Serializer<Explanation> explanationSerializer, ServiceMetrics metrics, Liveness liveness, BacklogController backlog, Clock clock) {
        Topology topology = new Topology();
        topology.addSource(SOURCE, Serdes.ByteArray().deserializer(), Serdes.ByteArray().deserializer(), topics.inputTopic());
        DeadLetters deadLetters = new DeadLetters(topics.maxRecordBytes());
        // One stream thread, one transaction at a time: its processors share the engine-time budget.
        TransactionBudget budget = new TransactionBudget(topics.batch().maxSeconds(), topics.batch().transactionTimeoutMs() / 1000.0);
        Ingest ingest = new Ingest(decoder, validator);
        topology.addProcessor(INTAKE, () -> new TimestampIntake(topics.times().changelogs(), clock), SOURCE);
        topology.addProcessor(VALIDATE, () -> new ValidationProcessor(ingest, topics.scope(), deadLetters, metrics, clock), INTAKE);
        topology.addProcessor(BATCHER, () -> new BatchingProcessor(STORE, topics.batch(), explainer, ingest, explanationSerializer,
                topics.inputTopic(), topics.outputTopic(), topics.scope(), deadLetters, metrics, budget, liveness, backlog, clock)
                .noticingSkips(topics.skipNoticesTopic() != null), VALIDATE);
        // The changelog takes any record the batcher checked against record.max.bytes.
        Map<String, String> changelog = Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(topics.maxRecordBytesWithHeaders()));
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE), Serdes.Long(), Serdes.ByteArray())
                .withLoggingEnabled(changelog), BATCHER);
        if (topics.scope().countsOutcomes()) {
            topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(Outcomes.STORE), Serdes.String(), Serdes.Long())
                    .withLoggingEnabled(changelog), VALIDATE, BATCHER);
        }
        topology.addProcessor(OUTPUT_SINK, () -> new TimestampWatch(topics.outputTopic(), topics.times().output(), metrics, clock), BATCHER);
        topology.addProcessor(DLQ_SINK, () -> new TimestampWatch(topics.dlqTopic(), topics.times().deadLetters(), metrics, clock), VALIDATE, BATCHER);
        topology.addSink(OUTPUT_SINK + "-topic", topics.outputTopic(), Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer(), OUTPUT_SINK);
        topology.addSink(DLQ_SINK + "-topic", topics.dlqTopic(), Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer(), DLQ_SINK);
        if (topics.skipNoticesTopic() != null) {
            topology.addSink(SKIP_SINK, topics.skipNoticesTopic(), Serdes.ByteArray().serializer(), Serdes.ByteArray().serializer(), BATCHER);
        }
        return topology;
    }
}
