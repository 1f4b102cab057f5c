package io.explainstream.stream;

import io.explainstream.schema.Explanation;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collects admitted events in a persistent, changelogged store and hands them to the engine in
 * batches: when {@code maxEvents} wait, when their tokens reach {@code maxTokens}, or when the
 * oldest has waited {@code maxWaitMs} (a wall-clock punctuator). The engine call, the writes of
 * its explanations and the removal of the events from the store happen in one Kafka transaction
 * under exactly-once, so a crash neither loses nor duplicates an explanation.
 *
 * <p>A batch the engine cannot explain is split in halves and each half retried; an event that
 * fails alone goes to the dead-letter topic with the reason.
 */
final class BatchingProcessor implements Processor<byte[], ValidationProcessor.Arrival, Object, Object> {

    private static final Logger LOG = LoggerFactory.getLogger(BatchingProcessor.class);

    private final String storeName;
    private final BatchPolicy policy;
    private final Explainer explainer;
    private final Replay replay;
    private final DeadLetters deadLetters;
    private final ServiceMetrics metrics;
    private final Clock clock;
    private ProcessorContext<Object, Object> context;
    private KeyValueStore<Long, PendingEvent> store;
    private long nextSequence;

    BatchingProcessor(String storeName, BatchPolicy policy, Explainer explainer, Replay replay, DeadLetters deadLetters, ServiceMetrics metrics,
            Clock clock) {
        this.storeName = storeName;
        this.policy = policy;
        this.explainer = explainer;
        this.replay = replay;
        this.deadLetters = deadLetters;
        this.metrics = metrics;
        this.clock = clock;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
        this.store = context.getStateStore(storeName);
        // Sequence numbers continue after the events restored from the changelog.
        List<PendingEvent> restored = pending();
        nextSequence = restored.isEmpty() ? 0 : restored.get(restored.size() - 1).sequence() + 1;
        long tick = Math.max(10, Math.min(250, policy.maxWaitMs() / 4));
        context.schedule(Duration.ofMillis(tick), PunctuationType.WALL_CLOCK_TIME, this::onWallClock);
    }

    @Override
    public void process(Record<byte[], ValidationProcessor.Arrival> record) {
        ValidationProcessor.Arrival arrival = record.value();
        // The context's wall clock: the punctuator measures waits on the same clock.
        PendingEvent event = new PendingEvent(nextSequence++, arrival.admission(), arrival.source(), arrival.rawKey(), arrival.rawValue(),
                context.currentSystemTimeMs());
        store.put(event.sequence(), event);
        flushWhileFull();
    }

    private void onWallClock(long nowMs) {
        List<PendingEvent> waiting = pending();
        metrics.pending(waiting.size());
        if (!waiting.isEmpty() && nowMs - waiting.get(0).enqueuedAtMs() >= policy.maxWaitMs()) {
            flush(nextBatch(waiting));
            flushWhileFull();
        }
    }

    private void flushWhileFull() {
        while (true) {
            List<PendingEvent> waiting = pending();
            metrics.pending(waiting.size());
            int tokens = waiting.stream().mapToInt(e -> e.admission().tokens()).sum();
            if (waiting.size() < policy.maxEvents() && tokens < policy.maxTokens()) {
                return;
            }
            flush(nextBatch(waiting));
        }
    }

    /** The oldest events up to the event count and token budget; at least one. */
    private List<PendingEvent> nextBatch(List<PendingEvent> waiting) {
        List<PendingEvent> batch = new ArrayList<>();
        int tokens = 0;
        for (PendingEvent event : waiting) {
            if (!batch.isEmpty() && (batch.size() >= policy.maxEvents() || tokens + event.admission().tokens() > policy.maxTokens())) {
                break;
            }
            batch.add(event);
            tokens += event.admission().tokens();
        }
        return batch;
    }

    private void flush(List<PendingEvent> batch) {
        // At debug level an operator (and the crash test) sees when a batch is in the engine.
        LOG.debug("batch started: {} events, first {}, last {}", batch.size(), batch.get(0).eventId(), batch.get(batch.size() - 1).eventId());
        explainSplitting(batch);
        LOG.debug("batch done: {} events", batch.size());
        for (PendingEvent event : batch) {
            store.delete(event.sequence());
        }
    }

    private void explainSplitting(List<PendingEvent> batch) {
        List<Explanation> explanations;
        long started = System.nanoTime();
        try {
            explanations = explainer.explain(batch);
        } catch (RuntimeException e) {
            if (batch.size() == 1) {
                PendingEvent event = batch.get(0);
                LOG.warn("event {} cannot be explained, sending it to the dead-letter topic: {}", event.eventId(), e.toString());
                deadLetter(event, DeadLetters.Stage.ATTRIBUTION, e);
                return;
            }
            LOG.warn("batch of {} events failed ({}); retrying its halves", batch.size(), e.toString());
            int half = batch.size() / 2;
            explainSplitting(batch.subList(0, half));
            explainSplitting(batch.subList(half, batch.size()));
            return;
        }
        metrics.batch(batch.size(), batch.stream().mapToInt(e -> e.admission().tokens()).sum(), Duration.ofNanos(System.nanoTime() - started));
        for (int i = 0; i < batch.size(); i++) {
            PendingEvent event = batch.get(i);
            byte[] key = outputKey(event);
            int bytes = key.length + AvroSize.of(explanations.get(i));
            if (bytes > deadLetters.maxRecordBytes()) {
                // A record over the producer's or the broker's limit would fail the transaction again
                // on every retry and stop the partition: the event goes to the dead-letter topic.
                deadLetter(event, DeadLetters.Stage.OUTPUT, new InvalidEventException("the explanation is " + bytes + " bytes, more than "
                        + Setting.RECORD_MAX_BYTES.key() + " = " + deadLetters.maxRecordBytes() + " (" + event.admission().tokens()
                        + " prompt and response tokens); raise it together with the broker's message.max.bytes, or lower limits.prompt.tokens"));
                continue;
            }
            Record<Object, Object> output = new Record<>(key, explanations.get(i), event.source().timestampMs());
            if (replay != null) {
                output.headers().add(Replay.HEADER, replay.id().getBytes(StandardCharsets.UTF_8));
            }
            context.forward(output, ExplainTopology.OUTPUT_SINK);
            metrics.eventOut(event.admission().event().timestampMs(), clock.millis());
        }
    }

    private void deadLetter(PendingEvent event, DeadLetters.Stage stage, RuntimeException reason) {
        metrics.deadLetter(stage);
        context.forward(deadLetters.record(event.rawKey(), event.rawValue(), event.source(), stage, reason, clock.millis()), ExplainTopology.DLQ_SINK);
    }

    /** The input's key; the event id for events produced without one. */
    private static byte[] outputKey(PendingEvent event) {
        return event.rawKey() != null ? event.rawKey() : event.eventId().getBytes(StandardCharsets.UTF_8);
    }

    private List<PendingEvent> pending() {
        List<PendingEvent> events = new ArrayList<>();
        try (KeyValueIterator<Long, PendingEvent> all = store.all()) {
            while (all.hasNext()) {
                KeyValue<Long, PendingEvent> entry = all.next();
                events.add(entry.value);
            }
        }
        return events;
    }
}
