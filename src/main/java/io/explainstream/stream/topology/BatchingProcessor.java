package io.explainstream.stream.topology;

import io.explainstream.attribution.AttributionCancelledException;
import io.explainstream.attribution.AttributionTimeLimitException;
import io.explainstream.attribution.NonFiniteAttributionException;
import io.explainstream.avro.RegistryException;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.ExplanationTier;
import io.explainstream.schema.TierReason;
import io.explainstream.stream.audit.AuditPolicy;
import io.explainstream.stream.audit.BacklogController;
import io.explainstream.stream.audit.Call;
import io.explainstream.stream.audit.Tier;
import io.explainstream.stream.batch.Explainer;
import io.explainstream.stream.batch.PendingEvent;
import io.explainstream.stream.batch.PendingEventCodec;
import io.explainstream.stream.batch.TransactionBudget;
import io.explainstream.stream.config.BatchPolicy;
import io.explainstream.stream.config.Setting;
import io.explainstream.stream.ingest.Admission;
import io.explainstream.stream.ingest.Ingest;
import io.explainstream.stream.ingest.InvalidEventException;
import io.explainstream.stream.ingest.SourcePosition;
import io.explainstream.stream.output.DeadLetters;
import io.explainstream.stream.output.FiniteNumbers;
import io.explainstream.stream.output.SkipNotice;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.LongSummaryStatistics;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.Serializer;
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
 * batches of similar length ({@link #bucket}): when {@code maxEvents} of a bucket wait, when their
 * tokens reach {@code maxTokens}, or when the oldest event has waited {@code maxWaitMs} (a
 * wall-clock punctuator). The engine call, the writes of
 * its explanations and the removal of the events from the store happen in one Kafka transaction
 * under exactly-once, so a crash neither loses nor duplicates an explanation.
 *
 * <p>Every record this processor writes has a size known before it is written: a pending event is
 * stored in its compact form ({@link PendingEvent}) only when that fits {@code record.max.bytes},
 * and is otherwise explained at once, without waiting in the store; an explanation is serialized
 * here, and one that cannot be, or is too large, becomes a dead letter. So no single record can
 * fail a transaction over and over.
 *
 * <p>The engine time inside one transaction is bounded by the {@link TransactionBudget}: batches
 * are cut to what is left of it, and a batch that does not fit waits for the next transaction, as
 * does one that would hold up the explanations already written in the open transaction, which are
 * read only once it commits, for more than a tenth of their engine time ({@link TransactionBudget#joins}).
 * Until the engine's first batch has been measured, a batch is one event ({@link #flushNext}).
 * A batch the engine cannot explain is split in halves and each half retried; an event that fails
 * alone goes to the dead-letter topic with the reason.
 *
 * <p>Each event's audit choice ({@link AuditPolicy}) is made where it enters; its tier (method and
 * steps) follows from that and the {@link BacklogController}'s level when its batch is formed, and
 * events batch only with events of the same method and steps, so a cheap event never waits on an
 * integrated-gradients batch. The budget counts engine work (tokens times steps), not tokens.
 */
final class BatchingProcessor implements Processor<byte[], ValidationProcessor.Arrival, Object, Object> {

    private static final Logger LOG = LoggerFactory.getLogger(BatchingProcessor.class);
    /**
     * How much of the oldest due batch's engine time the quicker due batches may take before it:
     * they delay it by at most a tenth, where behind it they would wait the whole of it. Oldest
     * first alone, six short events explained in 28 ms waited behind four forced long prompts of
     * 14 to 19 s each and were published at 117 s (a hostile test).
     */
    private static final double QUICK_SHARE = 0.1;
    /**
     * How long past batch.max.wait.ms a batch of long events waits for shorter ones (not read yet,
     * or in the store), in its own estimated engine time. In a burst, a long prompt that went when
     * due kept every short event read after it waiting for its engine time (bench pipeline --mix:
     * short events' p99 at 2.1 to 4.5 times their p99 without long prompts); waiting, it lets them
     * be read and batched first, and is published at most its own engine time later.
     */
    private static final double SHORTER_WAIT_SHARE = 1.0;

    private final String storeName;
    private final BatchPolicy policy;
    private final Explainer explainer;
    private final Ingest ingest;
    private final Serializer<Explanation> explanationSerializer;
    /** The topic the task's records come from: its partition is the task's (one source topic). */
    private final String inputTopic;
    private final String outputTopic;
    private final Scope scope;
    private final DeadLetters deadLetters;
    private final ServiceMetrics metrics;
    private final TransactionBudget budget;
    private final Liveness liveness;
    private final BacklogController backlog;
    private final Clock clock;
    private boolean noticesSkips;
    private ProcessorContext<Object, Object> context;
    private KeyValueStore<Long, byte[]> store;
    private Outcomes outcomes;
    private String task;
    private Metric threadCommits;
    private long nextSequence;
    /** The engine was cancelled for a shutdown: no batch starts again in this processor. */
    private boolean stopping;
    /**
     * The most events of the next batch after a batch was stopped at the transaction's engine time:
     * half the stopped one, down to one, so that a batch whose estimate was far off is retried
     * smaller until it fits or its lone event is known to take more than a transaction allows.
     */
    private int eventsAfterStop = Integer.MAX_VALUE;
    /** Where the latest input record this processor took came from; null until the first. */
    private SourcePosition lastRead;
    /** The store's events, decoded; null until first read after init (see {@link #waiting()}). */
    private NavigableMap<Long, PendingEvent> waiting;
    /**
     * The batch that last gave way to the explanations of an open transaction
     * ({@link TransactionBudget#joins}): its first event, and the thread's commit count then. It
     * gives way once: in a later transaction it goes whatever that holds, since every transaction
     * may begin with another batch (a backlog read behind it, each record a full batch), and a
     * long prompt gave way to 316 of 400 short events in a test run.
     */
    private GaveWay gaveWay;

    BatchingProcessor(String storeName, BatchPolicy policy, Explainer explainer, Ingest ingest, Serializer<Explanation> explanationSerializer,
            String inputTopic, String outputTopic, Scope scope, DeadLetters deadLetters, ServiceMetrics metrics, TransactionBudget budget,
            Liveness liveness, BacklogController backlog, Clock clock) {
        this.storeName = storeName;
        this.policy = policy;
        this.explainer = explainer;
        this.ingest = ingest;
        this.explanationSerializer = explanationSerializer;
        this.inputTopic = inputTopic;
        this.outputTopic = outputTopic;
        this.scope = scope;
        this.deadLetters = deadLetters;
        this.metrics = metrics;
        this.budget = budget;
        this.liveness = liveness;
        this.backlog = backlog;
        this.clock = clock;
    }

    /** Sends a notice of each event skipped to stay within the budget to {@link ExplainTopology#SKIP_SINK}, for the statistics to count. */
    BatchingProcessor noticingSkips(boolean notice) {
        this.noticesSkips = notice;
        return this;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
        this.store = context.getStateStore(storeName);
        this.outcomes = Outcomes.of(context, scope);
        this.task = context.taskId().toString();
        this.waiting = null;
        this.lastRead = null;
        // Its records are not counted until its first tick, which may come after another task's engine call.
        backlog.started(task);
        // Sequence numbers continue after the events restored from the changelog.
        try (KeyValueIterator<Long, byte[]> last = store.reverseAll()) {
            nextSequence = last.hasNext() ? last.next().key + 1 : 0;
        }
        long tick = Math.max(10, Math.min(250, policy.maxWaitMs() / 4));
        context.schedule(Duration.ofMillis(tick), PunctuationType.WALL_CLOCK_TIME, this::onWallClock);
    }

    @Override
    public void close() {
        metrics.pending(task, 0, clock.millis());
        backlog.forget(task);
        // A task that is revived after an aborted transaction is initialized again and reloads.
        waiting = null;
    }

    @Override
    public void process(Record<byte[], ValidationProcessor.Arrival> record) {
        ValidationProcessor.Arrival arrival = record.value();
        lastRead = arrival.source();
        AuditPolicy.Choice choice = backlog.policy().choose(arrival.admission().event());
        if (backlog.skips(choice)) {
            // Outside the sample, and either configured to be skipped or shed under backlog: counted, never stored.
            metrics.skipped(backlog.skipReason(), arrival.admission().event());
            outcomes.count(Outcomes.SKIPPED);
            if (noticesSkips) {
                // In the transaction of the record's offset: a notice for each skip, once. Stamped with the write time, which
                // the broker accepts whatever the event's age; the window is chosen by the event time inside, and the
                // statistics' stream time moves by the input record's time inside, as for an explanation (stamped with the
                // write time, a skip under backlog moved stream time past the windows of the events still waiting, and their
                // explanations, and the skips themselves, all counted as late).
                SkipNotice notice = SkipNotice.of(arrival.admission().event(), backlog.skipReason(), arrival.source().timestampMs());
                context.forward(new Record<Object, Object>(arrival.rawKey(), notice.toBytes(), context.currentSystemTimeMs()), ExplainTopology.SKIP_SINK);
            }
            return;
        }
        // The context's wall clock: the punctuator measures waits on the same clock.
        PendingEvent event = PendingEvent.of(nextSequence++, arrival.admission(), arrival.source(), arrival.rawKey(), arrival.rawValue(),
                context.currentSystemTimeMs(), choice);
        backlog.taken(event.tokens(), choice == AuditPolicy.Choice.FORCED);
        Storable stored = storable(event);
        if (stored == null) {
            // Its changelog record could not be written: explain it now, after the events before it.
            LOG.info("event {} is too large to wait in the batch store ({} metadata entries, {} value bytes); explaining it at once",
                    event.eventId(), event.metadata().size(), event.rawValueBytes());
            for (List<PendingEvent> waiting = pending(); !waiting.isEmpty(); waiting = pending()) {
                if (!flushNext(eligibleByBucket(waiting).get(bucketOf(waiting.get(0))), false)) {
                    // Shutting down: this event was never stored, so the transaction must not commit
                    // its offset. Failing here aborts it; the event is read again after the restart.
                    throw new AttributionCancelledException();
                }
            }
            // Cancelled here, the exception aborts the transaction for the same reason. This event
            // cannot wait for a fresh transaction: past its time limit, it is a dead letter.
            explainSplitting(List.of(event), new ArrayList<>(), true);
            return;
        }
        keep(stored);
        flushWhileFull();
    }

    /** An event as it waits in the store, and its stored bytes. */
    private record Storable(PendingEvent event, byte[] bytes) {}

    /**
     * The form to store, or null when even the form without the raw value is over the record limit.
     * The raw value is kept only when it fits beside the rest, so that the common dead letter still
     * carries the original bytes.
     */
    private Storable storable(PendingEvent event) {
        int limit = deadLetters.maxRecordBytes() - Long.BYTES;
        byte[] full = PendingEventCodec.encode(event);
        if (full.length <= limit) {
            return new Storable(event, full);
        }
        PendingEvent compact = event.withoutRawValue();
        byte[] bytes = PendingEventCodec.encode(compact);
        return bytes.length <= limit ? new Storable(compact, bytes) : null;
    }

    /** Stores an event; the decoded copy keeps what the store keeps. */
    private void keep(Storable stored) {
        waiting().put(stored.event().sequence(), stored.event());
        store.put(stored.event().sequence(), stored.bytes());
    }

    private void release(long sequence) {
        waiting().remove(sequence);
        store.delete(sequence);
    }

    private void onWallClock(long nowMs) {
        List<PendingEvent> first = pending();
        if (first.isEmpty()) {
            // Nothing waits: no lag once that lasts, so a degraded service recovers when traffic stops.
            backlog.idle(task);
        }
        // Every batch whose oldest event has waited long enough, oldest first, the quick ones before
        // it; not those that wait for shorter events (Kafka Streams reads on meanwhile).
        double aheadSeconds = 0;
        for (List<PendingEvent> waiting = first; !waiting.isEmpty() && due(waiting.get(0), nowMs); waiting = pending()) {
            Collection<List<PendingEvent>> buckets = eligibleByBucket(waiting).values();
            List<List<PendingEvent>> ready = buckets.stream().filter(bucket -> due(bucket.get(0), nowMs) && !waitsForShorter(bucket, buckets, nowMs))
                    .toList();
            if (ready.isEmpty()) {
                break;
            }
            List<PendingEvent> oldest = ready.get(0);
            List<PendingEvent> next = budget.measured() ? quickBefore(oldest, ready, aheadSeconds, nowMs).orElse(oldest)
                    : shortestDue(ready, nowMs).orElse(oldest);
            aheadSeconds = next == oldest ? 0 : aheadSeconds + estimatedSeconds(next);
            if (!flushNext(next, true)) {
                return;
            }
        }
        // Also full batches that waited for the next transaction's budget.
        flushWhileFull();
    }

    /** Whether an event has waited {@code batch.max.wait.ms} for its batch to fill. */
    private boolean due(PendingEvent event, long nowMs) {
        return nowMs - event.enqueuedAtMs() >= policy.maxWaitMs();
    }

    /**
     * Whether a batch, due or full, waits for shorter events ({@link #SHORTER_WAIT_SHARE}): where
     * its events are longer than most (its longest in a length class above that of the median of
     * the last events taken), while records of this task's partition may wait unread behind its
     * events ({@link BacklogController#mayBeUnreadBehind}) or another of {@code buckets} holds
     * shorter events; until its first event has waited
     * batch.max.wait.ms and its own estimated engine time, and at most a quarter of
     * audit.max.lag.ms, so that waiting does not take it over the limit backlog control keeps. A
     * batch of events as long as most goes as before. The median and the partition's end are known
     * only under backlog control; before the engine's first measurement every estimate is 0 and
     * nothing waits.
     */
    private boolean waitsForShorter(List<PendingEvent> batch, Collection<List<PendingEvent>> buckets, long nowMs) {
        int median = backlog.medianTakenTokens();
        int lengthClass = TransactionBudget.lengthClass(longest(batch));
        if (median < 0 || lengthClass <= TransactionBudget.lengthClass(median)) {
            return false;
        }
        boolean shorterWait = backlog.mayBeUnreadBehind(task, newestOffset(batch))
                || buckets.stream().anyMatch(bucket -> bucket != batch && TransactionBudget.lengthClass(longest(bucket)) < lengthClass);
        if (!shorterWait) {
            return false;
        }
        long moreMs = Math.min(Math.round(SHORTER_WAIT_SHARE * estimatedSeconds(batch) * 1000), backlog.policy().maxLagMs() / 4);
        return nowMs - batch.get(0).enqueuedAtMs() < policy.maxWaitMs() + moreMs;
    }

    /** The offset of the batch's event read last from the input: the records behind it may still be unread. */
    private static long newestOffset(List<PendingEvent> events) {
        return events.stream().mapToLong(event -> event.source().offset()).max().orElse(-1);
    }

    private static int longest(List<PendingEvent> events) {
        return events.stream().mapToInt(PendingEvent::tokens).max().orElse(0);
    }

    /**
     * The first due bucket (in the order of their oldest events) whose next batch takes, with the
     * quick batches already run before {@code oldest} ({@code aheadSeconds}), at most
     * {@link #QUICK_SHARE} of {@code oldest}'s next batch, and after which {@code oldest}'s first
     * event still fits in the transaction: put off to the next one, it could be put off there again
     * for as long as quick batches come. None before the engine has measured a cost, when every
     * estimate is 0.
     */
    private Optional<List<PendingEvent>> quickBefore(List<PendingEvent> oldest, Collection<List<PendingEvent>> buckets, double aheadSeconds,
            long nowMs) {
        double oldestSeconds = estimatedSeconds(oldest);
        TransactionBudget.Work oldestFirst = work(oldest.subList(0, 1));
        return buckets.stream().filter(bucket -> bucket != oldest && due(bucket.get(0), nowMs)).filter(bucket -> {
            double ahead = aheadSeconds + estimatedSeconds(bucket);
            return oldestSeconds > 0 && ahead <= QUICK_SHARE * oldestSeconds && budget.fitsAfter(ahead, oldestFirst);
        }).findFirst();
    }

    /**
     * Before the engine's first measurement, the due bucket whose first event is the shortest: the
     * first batch, one event, warms the engine up, and measured by a long prompt at the configured
     * steps it took 24 s after a restart (the event the killed instance was explaining, first in
     * the store), while 61 records waited at the limit and backlog control, with nothing priced
     * yet, could not act (a hostile test). Measured by a short one, the short events' batches go
     * before the long one as quick batches.
     */
    private Optional<List<PendingEvent>> shortestDue(Collection<List<PendingEvent>> buckets, long nowMs) {
        return buckets.stream().filter(bucket -> due(bucket.get(0), nowMs)).min(Comparator.comparingInt(bucket -> bucket.get(0).tokens()));
    }

    /** The estimated engine seconds of the next batch of these events (one bucket's), at most what it can take; 0 before any measurement. */
    private double estimatedSeconds(List<PendingEvent> candidates) {
        List<PendingEvent> batch = nextBatch(candidates, false);
        return batch.isEmpty() ? 0 : budget.estimate(work(batch));
    }

    /**
     * Flushes every length bucket that holds a full batch, oldest bucket first, but for one of
     * longer events than most while shorter ones wait ({@link #waitsForShorter}): in a burst with
     * a fifth of long prompts, their full batches went at once, and the short events read after
     * each waited for its 7 s (a hostile test: short events' p99 7.5 to 9 times their p99 alone).
     */
    private void flushWhileFull() {
        long nowMs = context.currentSystemTimeMs();
        while (true) {
            Collection<List<PendingEvent>> buckets = eligibleByBucket(pending()).values();
            List<PendingEvent> full = buckets.stream()
                    .filter(events -> events.size() >= policy.maxEvents() || events.stream().mapToInt(PendingEvent::tokens).sum() >= policy.maxTokens())
                    .filter(events -> !waitsForShorter(events, buckets, nowMs))
                    .findFirst().orElse(null);
            if (full == null || !flushNext(full, true)) {
                return;
            }
        }
    }

    /**
     * The length bucket of an event: prompt and response tokens rounded up to a power of two, with
     * everything up to 64 tokens in one. A batch pads every event to its longest, so events batch
     * only with events of their bucket, and a long prompt neither pads short ones nor makes them
     * wait for its engine time.
     */
    static int bucket(PendingEvent event) {
        return TransactionBudget.lengthClass(event.tokens());
    }

    /**
     * The bucket an event batches in: its tier's method and steps, then its length bucket (none
     * with batch.by.length=false). A cheap event costs about 1/steps of an integrated-gradients one.
     */
    private Bucket bucketOf(PendingEvent event) {
        return new Bucket(backlog.tier(event.audit()).call(), policy.byLength() ? bucket(event) : 0);
    }

    /** Where an event batches: its engine call, and its length class (0 for every event with batch.by.length=false). */
    private record Bucket(Call call, int lengthClass) {}

    /** Engine work, in the budget's unit, of these events in one call: each is padded to the longest ({@link Explainer#work}). */
    private TransactionBudget.Work work(List<PendingEvent> events) {
        int length = longest(events);
        int targets = events.stream().mapToInt(event -> event.responseTokens().size()).max().orElse(0);
        Tier tier = backlog.tier(events.get(0).audit());
        return new TransactionBudget.Work(explainer.work(events.size(), length, targets, tier), length, tier.call());
    }

    /**
     * The waiting events that may be batched now, by bucket, in arrival order (buckets in the order
     * of their oldest event). An event whose key has an earlier event waiting in another bucket is
     * held back, so that the events of a key are explained in the order they were logged.
     */
    private Map<Bucket, List<PendingEvent>> eligibleByBucket(List<PendingEvent> waiting) {
        Map<Bucket, List<PendingEvent>> eligible = new LinkedHashMap<>();
        Map<ByteBuffer, Bucket> bucketOfKey = new HashMap<>();
        Set<ByteBuffer> heldBack = new HashSet<>();
        for (PendingEvent event : waiting) {
            ByteBuffer key = ByteBuffer.wrap(outputKey(event));
            Bucket bucket = bucketOf(event);
            Bucket earlier = bucketOfKey.putIfAbsent(key, bucket);
            if (heldBack.contains(key) || earlier != null && !earlier.equals(bucket)) {
                heldBack.add(key);
                continue;
            }
            eligible.computeIfAbsent(bucket, b -> new ArrayList<>()).add(event);
        }
        return eligible;
    }

    /**
     * Explains the next batch of {@code candidates} (see {@link #nextBatch}). Before the engine's
     * first measurement the cost of a batch is unknown, and a batch of many events at a large step
     * count could outlast the transaction timeout: its first event goes alone, and the cost it
     * measures cuts the rest, which follow in the same transaction where they are quick next to it,
     * and otherwise after its commit. False as for {@link #flush}.
     */
    private boolean flushNext(List<PendingEvent> candidates, boolean withinTransaction) {
        List<PendingEvent> batch = nextBatch(candidates, withinTransaction);
        if (batch.size() > 1 && !budget.measured()) {
            return flush(batch.subList(0, 1)) && flushNext(batch.subList(1, batch.size()), withinTransaction);
        }
        return flush(batch);
    }

    /**
     * The first of {@code candidates} (events of one bucket, in arrival order) up to the event
     * count, the token budget and, when {@code withinTransaction}, what is left of the
     * transaction's engine time. Empty when the transaction has no room left, or when the batch
     * would hold up the explanations already written in it for more than a fraction of the engine
     * time they took ({@link TransactionBudget#joins}): the events then wait for the next one. A
     * batch gives way so once ({@link #gaveWay}).
     */
    private List<PendingEvent> nextBatch(List<PendingEvent> candidates, boolean withinTransaction) {
        double commits = threadCommits();
        budget.commits(commits);
        List<PendingEvent> batch = new ArrayList<>();
        if (withinTransaction && !budget.fits(work(candidates.subList(0, 1)))) {
            return batch;
        }
        int tokens = 0;
        for (PendingEvent event : candidates) {
            int next = tokens + event.tokens();
            if (!batch.isEmpty() && (batch.size() >= Math.min(policy.maxEvents(), eventsAfterStop) || next > policy.maxTokens()
                    || !budget.batchFits(work(candidates.subList(0, batch.size() + 1))))) {
                break;
            }
            batch.add(event);
            tokens = next;
        }
        boolean gaveWayBefore = gaveWay != null && gaveWay.firstSequence() == batch.get(0).sequence() && gaveWay.commits() != commits;
        if (withinTransaction && !gaveWayBefore && !budget.joins(work(batch))) {
            // It would hold up the explanations already written in the open transaction for its engine time: it waits for the commit.
            gaveWay = new GaveWay(batch.get(0).sequence(), commits);
            return new ArrayList<>();
        }
        return batch;
    }

    /** A batch that gave way to an open transaction: its first event, and the thread's commit count at the time. */
    private record GaveWay(long firstSequence, double commits) {}

    /**
     * Explains a batch and removes it from the store. False when nothing was done: the batch was
     * empty (deferred to the next transaction), or the engine was cancelled for a shutdown, in which
     * case the events it had not explained stay in the store for the next start.
     */
    private boolean flush(List<PendingEvent> batch) {
        if (stopping) {
            // The engine is cancelled for good: the events wait in the store for the next start. Kafka
            // Streams still hands over the records it has polled, and each asked for a batch.
            return false;
        }
        if (batch.isEmpty()) {
            // Ask for the commit that ends this transaction, so the waiting events get a fresh budget soon.
            context.commit();
            return false;
        }
        // At debug level an operator (and the crash test) sees when a batch is in the engine.
        LOG.debug("batch started: {} events, first {}, last {}", batch.size(), batch.get(0).eventId(), batch.get(batch.size() - 1).eventId());
        List<PendingEvent> handled = new ArrayList<>();
        boolean cancelled = false;
        // How long the batch's records have waited since they reached Kafka, not how old their events
        // are: a backfill of last month's logs, sent now, has no backlog.
        backlog.observeOldest(task, batch.stream().mapToLong(event -> event.source().timestampMs()).min().getAsLong(),
                batch.stream().mapToLong(event -> event.source().offset()).min().getAsLong());
        List<Tier> tiers = batch.stream().map(event -> backlog.tier(event.audit())).toList();
        long engineStartedMs = clock.millis();
        try {
            // The level may have just changed: each run of events with the same method and steps is one engine call.
            int from = 0;
            for (int i = 1; i <= batch.size(); i++) {
                if (i == batch.size() || !tiers.get(i).call().equals(tiers.get(from).call())) {
                    explainSplitting(batch.subList(from, i), handled, false);
                    from = i;
                }
            }
            LOG.debug("batch done: {} events", batch.size());
            eventsAfterStop = Integer.MAX_VALUE;
            List<BacklogController.Explained> explained = new ArrayList<>();
            for (int i = 0; i < batch.size(); i++) {
                explained.add(new BacklogController.Explained(tiers.get(i), batch.get(i).tokens()));
            }
            backlog.batchTook(explained, clock.millis() - engineStartedMs);
        } catch (AttributionCancelledException e) {
            cancelled = true;
            stopping = true;
            LOG.info("batch of {} events stopped for shutdown after {} had an outcome; the others stay in the store for the next start",
                    batch.size(), handled.size());
        } catch (AttributionTimeLimitException e) {
            // The estimate was far off (a long prompt costs more per token than the short ones it was
            // measured on): what is done commits, the rest waits for the next transaction, cut smaller.
            eventsAfterStop = Math.max(1, batch.size() / 2);
            LOG.warn("batch of {} events ran past the engine time left in its transaction after {} had an outcome; the others wait for the next one",
                    batch.size(), handled.size());
        }
        // Only events whose explanation or dead letter was written leave the store, in the same transaction.
        for (PendingEvent event : handled) {
            release(event.sequence());
        }
        context.commit();
        return !cancelled;
    }

    /**
     * Explains a batch, splitting it on failure; adds each event that got an outcome to
     * {@code handled}. The engine gets what is left of the transaction's time
     * ({@link TransactionBudget#engineTimeLeft}): past it, the broker would abort the transaction
     * and the batch be redone for ever. A lone event that ran out of a whole transaction's time at
     * a length whose cost is known ({@link TransactionBudget#stopIsFinal}: not the warm-up, not the
     * first call at its length), or of what was left when it is the {@code lastChance}, can never
     * commit and is a dead letter; otherwise the exception leaves the batch's events for the next
     * transaction.
     */
    private void explainSplitting(List<PendingEvent> batch, List<PendingEvent> handled, boolean lastChance) {
        int tokens = batch.stream().mapToInt(PendingEvent::tokens).sum();
        TransactionBudget.Work work = work(batch);
        Tier tier = backlog.tier(batch.get(0).audit());
        if (batch.size() == 1 && budget.exceedsTransaction(work)) {
            deadLetter(batch.get(0), DeadLetters.Stage.ATTRIBUTION, new InvalidEventException(String.format(java.util.Locale.ROOT,
                    "explaining %d tokens is estimated at %.0f s of engine time or more, more than a transaction allows (%.0f s, %.0f%% of the"
                            + " transaction timeout, %.0f s)%s; lower limits.prompt.tokens or attribution.steps, or raise batch.max.seconds and"
                            + " producer.transaction.timeout.ms together",
                    tokens, budget.leastEstimate(work), budget.allowedSeconds(), TransactionBudget.ENGINE_SHARE * 100, budget.hardLimitSeconds(),
                    budget.lengthStoppedTwice(work) ? ", and the last two calls at its length were stopped there" : "")));
            handled.add(batch.get(0));
            return;
        }
        List<Explanation> explanations;
        boolean freshTransaction = budget.fresh();
        // The warm-up call pays for class loading and the first allocations, and the first call at a
        // length for libtorch's first run at its shapes: stopped, they are retried, not final.
        boolean finalStop = budget.stopIsFinal(work);
        Duration timeLimit = budget.engineTimeLeft();
        long started = System.nanoTime();
        liveness.engineEntered();
        try {
            explanations = explainer.explain(batch, tier, timeLimit);
        } catch (AttributionCancelledException e) {
            liveness.engineLeft();
            throw e;
        } catch (AttributionTimeLimitException e) {
            liveness.engineLeft();
            double seconds = (System.nanoTime() - started) / 1e9;
            budget.stopped(seconds, work); // the estimate learns that this work takes longer
            metrics.engineStopped();
            if (batch.size() == 1 && (freshTransaction && finalStop || lastChance)) {
                PendingEvent event = batch.get(0);
                LOG.warn("event {} ran past the engine time a transaction allows ({} s) and was stopped; sending it to the dead-letter topic",
                        event.eventId(), String.format(java.util.Locale.ROOT, "%.1f", seconds));
                deadLetter(event, DeadLetters.Stage.ATTRIBUTION, new InvalidEventException(String.format(java.util.Locale.ROOT,
                        "explaining %d tokens was stopped after %.0f s of engine time, what a transaction allows (%.0f%% of the transaction timeout,"
                                + " %.0f s, past which it could never commit); lower limits.prompt.tokens or attribution.steps, or raise"
                                + " batch.max.seconds and producer.transaction.timeout.ms together",
                        tokens, seconds, TransactionBudget.ENGINE_SHARE * 100, budget.hardLimitSeconds())));
                handled.add(event);
                return;
            }
            throw e;
        } catch (RuntimeException e) {
            liveness.engineLeft();
            if (batch.size() == 1) {
                PendingEvent event = batch.get(0);
                LOG.warn("event {} cannot be explained, sending it to the dead-letter topic: {}", event.eventId(), e.toString());
                deadLetter(event, DeadLetters.Stage.ATTRIBUTION, e);
                handled.add(event);
                return;
            }
            LOG.warn("batch of {} events failed ({}); retrying its halves", batch.size(), e.toString());
            int half = batch.size() / 2;
            explainSplitting(batch.subList(0, half), handled, lastChance);
            explainSplitting(batch.subList(half, batch.size()), handled, lastChance);
            return;
        }
        liveness.engineLeft();
        Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
        budget.spent(elapsed.toNanos() / 1e9, work);
        metrics.batch(batch.size(), tokens, elapsed);
        for (int i = 0; i < batch.size(); i++) {
            publish(batch.get(i), explanations.get(i));
            handled.add(batch.get(i));
        }
    }

    /** Writes one explanation, or dead-letters its event when the explanation cannot be written. */
    private void publish(PendingEvent event, Explanation explanation) {
        Optional<NonFiniteAttributionException> notFinite = FiniteNumbers.problem(explanation);
        if (notFinite.isPresent()) {
            // NaN serializes like a number: published, it would read as a score and pass every
            // faithfulness threshold. The event waits in the dead-letter topic for a mended model.
            LOG.warn("event {} cannot be explained, sending it to the dead-letter topic: {}", event.eventId(), notFinite.get().getMessage());
            deadLetter(event, DeadLetters.Stage.ATTRIBUTION, notFinite.get());
            return;
        }
        byte[] key = outputKey(event);
        Tier tier = backlog.tier(event.audit());
        explanation.setTier(ExplanationTier.valueOf(tier.kind().name()));
        explanation.setTierReason(TierReason.valueOf(tier.reason().name()));
        byte[] value;
        try {
            value = explanationSerializer.serialize(outputTopic, explanation);
        } catch (RuntimeException e) {
            if (causedByRegistry(e)) {
                // The registry is down or refuses the contract: not this event's fault. The thread
                // fails, is replaced and redoes the uncommitted work (and /health counts it).
                throw e;
            }
            deadLetter(event, DeadLetters.Stage.OUTPUT, e);
            return;
        }
        int bytes = key.length + value.length;
        if (bytes > deadLetters.maxRecordBytes()) {
            // A record over the producer's or the broker's limit would fail the transaction again
            // on every retry and stop the partition: the event goes to the dead-letter topic.
            deadLetter(event, DeadLetters.Stage.OUTPUT, new InvalidEventException("the explanation is " + bytes + " bytes, more than "
                    + Setting.RECORD_MAX_BYTES.key() + " = " + deadLetters.maxRecordBytes() + " (" + event.tokens()
                    + " prompt and response tokens, " + event.metadata().size() + " metadata entries); raise it together with the broker's "
                    + "message.max.bytes, or lower limits.prompt.tokens"));
            return;
        }
        Record<Object, Object> output = new Record<>(key, value, event.source().timestampMs());
        scope.stamp(output.headers());
        context.forward(output, ExplainTopology.OUTPUT_SINK);
        outcomes.count(Outcomes.EXPLAINED);
        metrics.eventOut(event, clock.millis());
        metrics.tiered(tier, event);
    }

    private static boolean causedByRegistry(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof RegistryException) {
                return true;
            }
        }
        return false;
    }

    private void deadLetter(PendingEvent event, DeadLetters.Stage stage, RuntimeException reason) {
        metrics.deadLetter(stage, event);
        outcomes.count(Outcomes.DEAD_LETTERED);
        Record<byte[], byte[]> record = event.rawValue() != null || event.rawValueBytes() == 0
                ? deadLetters.record(event.rawKey(), event.rawValue(), event.source(), stage, reason, context.applicationId(), clock.millis())
                : deadLetters.withoutValue(event.rawKey(), event.rawValueBytes(), event.source(), stage, reason, context.applicationId(),
                        clock.millis());
        scope.stamp(record.headers()); // a replay's dead letters say which replay, as its explanations do
        context.forward(record, ExplainTopology.DLQ_SINK);
    }

    /** The input's key; the event id for events produced without one. */
    private static byte[] outputKey(PendingEvent event) {
        return event.rawKey() != null ? event.rawKey() : event.eventId().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Replaces a legacy entry by its current form, from its raw bytes; an event the validator now
     * rejects or skips gets that outcome instead (null then).
     */
    private PendingEvent readmit(PendingEventCodec.Legacy old) {
        Admission admission = ingest.admit(old.source().topic(), old.rawValue());
        if (admission instanceof Admission.Reject reject) {
            store.delete(old.sequence());
            metrics.deadLetter(DeadLetters.Stage.VALIDATION, reject);
            outcomes.count(Outcomes.DEAD_LETTERED);
            Record<byte[], byte[]> deadLetter = deadLetters.record(old.rawKey(), old.rawValue(), old.source(), DeadLetters.Stage.VALIDATION,
                    reject.error(), context.applicationId(), clock.millis());
            scope.stamp(deadLetter.headers());
            context.forward(deadLetter, ExplainTopology.DLQ_SINK);
            return null;
        }
        if (admission instanceof Admission.Skip skip) {
            store.delete(old.sequence());
            metrics.skipped(skip.reason(), skip.event());
            outcomes.count(Outcomes.SKIPPED);
            return null;
        }
        PendingEvent event = PendingEvent.of(old.sequence(), (Admission.Explain) admission, old.source(), old.rawKey(), old.rawValue(),
                old.enqueuedAtMs(), backlog.policy().choose(admission.event()));
        Storable stored = storable(event);
        // A legacy entry was written, so its raw bytes fit; the current form without them is smaller.
        PendingEvent kept = stored != null ? stored.event() : event.withoutRawValue();
        store.put(old.sequence(), stored != null ? stored.bytes() : PendingEventCodec.encode(kept));
        LOG.info("pending event {} restored from the previous store format", event.eventId());
        return kept;
    }

    /** The stream thread's commit count, which ends a transaction; -1 where Kafka Streams does not report it. */
    private double threadCommits() {
        if (threadCommits == null) {
            String thread = Thread.currentThread().getName();
            for (var entry : context.metrics().metrics().entrySet()) {
                MetricName name = entry.getKey();
                if (name.name().equals("commit-total") && name.group().equals("stream-thread-metrics") && thread.equals(name.tags().get("thread-id"))) {
                    threadCommits = entry.getValue();
                }
            }
            if (threadCommits == null) {
                return -1;
            }
        }
        Object value = threadCommits.metricValue();
        return value instanceof Number number ? number.doubleValue() : -1;
    }

    /** The waiting events in arrival order; updates the pending-events gauge, liveness and backlog control's count. */
    private List<PendingEvent> pending() {
        List<PendingEvent> events = new ArrayList<>(waiting().values());
        metrics.pending(task, events.size(), clock.millis());
        // Backlog control counts the input records after the last one read here as waiting too:
        // records that became dead letters since the last event taken here count, a few more, never fewer.
        // Before the first read since a start, the task's own partition of the input (its one source
        // topic): its end's history then begins at once, so that restored events' lag is told from
        // their age (a mirror's restored events read as an hour of lag and sent a restarted service
        // to the top level), and the records after the group's committed offset count as waiting
        // (uncounted, those that waited out a stopped instance sent it there by their lag's growth).
        backlog.waiting(task, storedByChoice(events), lastRead != null ? lastRead.topic() : inputTopic,
                lastRead != null ? lastRead.partition() : context.taskId().partition(), lastRead == null ? -1 : lastRead.offset());
        liveness.waiting(!events.isEmpty());
        return events;
    }

    /**
     * The waiting events by the audit choice made where they entered (a forced event costs the
     * configured method at every level) and by length class (powers of two of their tokens): each
     * group is priced at its mean length, and a token of a long prompt costs many times a short
     * one's, so a long prompt priced with short events of its choice came out at a fraction of its
     * time (a sampled 500-token prompt among 24 records: "at most 3.7 s", where it alone took 14.4 s).
     */
    static List<BacklogController.Stored> storedByChoice(List<PendingEvent> events) {
        record Group(AuditPolicy.Choice choice, int lengthClass) {}
        Map<Group, LongSummaryStatistics> groups = events.stream().collect(Collectors.groupingBy(
                event -> new Group(event.audit(), TransactionBudget.lengthClass(event.tokens())), Collectors.summarizingLong(PendingEvent::tokens)));
        return groups.entrySet().stream().map(group -> BacklogController.Stored.of(group.getKey().choice(), group.getValue().getCount(),
                group.getValue().getSum())).toList();
    }

    /**
     * The store's events, decoded once: read at the first use after {@code init} (the store is
     * restored by then, and records may be forwarded, as readmitting a legacy entry needs), then
     * kept in step with every put and delete, so that a record costs no decoding of the others.
     */
    private NavigableMap<Long, PendingEvent> waiting() {
        if (waiting == null) {
            NavigableMap<Long, PendingEvent> loaded = new TreeMap<>();
            List<PendingEventCodec.Legacy> legacy = new ArrayList<>();
            try (KeyValueIterator<Long, byte[]> all = store.all()) {
                while (all.hasNext()) {
                    KeyValue<Long, byte[]> entry = all.next();
                    PendingEventCodec.Stored stored = PendingEventCodec.decode(entry.value);
                    if (stored instanceof PendingEventCodec.Current current) {
                        loaded.put(entry.key, current.event());
                    } else {
                        legacy.add((PendingEventCodec.Legacy) stored);
                    }
                }
            }
            // Written by a release whose stored form had no tokens: admitted again, once.
            for (PendingEventCodec.Legacy old : legacy) {
                PendingEvent event = readmit(old);
                if (event != null) {
                    loaded.put(old.sequence(), event);
                }
            }
            waiting = loaded;
        }
        return waiting;
    }
}
