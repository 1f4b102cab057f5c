package io.explainstream.stream.audit;

import io.explainstream.attribution.GradientMethod;
import io.explainstream.attribution.AttributionSettings;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Honest degradation under backlog. Fed the lag of each batch (how long its oldest input record has
 * waited since it reached Kafka), by source (a task: its input partition), it steps down when a
 * source's lag is over half of {@code audit.max.lag.ms} and, moving as it has over the last dwell
 * time, will be over the limit within two dwell times, as far as the lag's growth says the service
 * falls short; it steps back up one level when every source's lag is under half the limit, at most
 * one change per {@code dwellMs} (a step needs time to show in the lag; a step down for the work
 * that waits, below, needs only a quarter of that since the last). Where the input's arrival rate
 * is known, the records arriving also price each level: a growing lag's step stops at the first
 * level that keeps up with them and publishes the waiting records within the limit, and a lag over
 * half the limit that grows at a level that does not keep up steps there before the growth
 * projects over the limit (while the engine is in a long batch no lag is measured, and the growth
 * of a lag measured across one reads about 1 s per s).
 *
 * <p>It is also fed the work that waits: how many input records of each source are not yet
 * explained (in its batch store, and produced but not yet read), their tokens where known, and the
 * engine time of each batch. The last of those records will be published once all of them are
 * explained, so when the engine needs longer than the limit for them at its recent time per token,
 * it steps down at once, to the first level that drains them within the limit. The
 * lag shows such a backlog only later: a lag series has its dwell time of measurements after a
 * few batches, and the lag of a burst produced at once is over half the limit only once half the
 * limit has passed. A step back up also needs the waiting records to drain within half the limit
 * at the level above, at the slowest recent time per token, and, where the level above ran in the
 * last five minutes, that level to explain more records per second than now arrive: its own
 * batches without forced events measured where it ran (pricing one level's batches from another's
 * by their shares of the configured passes was off by a factor of four), and forced events at the
 * configured method's measured time, in their share of the events taken.
 *
 * <p>A lag over the limit that falls fast enough is a backlog the service is draining, not one it
 * cannot keep up with: the partition of a crashed instance reaches the survivor with records that
 * waited for the session timeout (and up to the transaction timeout), and the survivor explains
 * them in seconds at the configured steps. So the lag's movement decides, measured per source
 * (the new partition's first lag, next to another's lag of a second, was read as growth of
 * seconds per second and sent every event to the cheap method) and only once a source has a
 * dwell time of measurements. Nor is a lag whose records all drain fast a reason to step down: with
 * every waiting record counted and needing under a quarter of the limit, a lower level would publish
 * them little sooner, and the lag is mostly their age (a mirror's old timestamps). For the same
 * reason such a lag does not hold a step up, where the waiting records need under a quarter of the
 * limit at the level above. The levels, in order:
 * the configured steps; halved steps down to {@code audit.min.steps} (integrated gradients only);
 * the cheap method for every event that is not forced; and then, on top, skipping (counted) the
 * events outside the sample. Forced events always get the configured method and steps.
 *
 * <p>One per instance (one model, one stream thread); the metrics read its level from another
 * thread, hence the volatile field. Pure apart from the clock it is given.
 */
public final class BacklogController {

    private static final Logger LOG = LoggerFactory.getLogger(BacklogController.class);

    /**
     * How much faster than keeping up a step aims for: a tenth, for a growth measured a little low.
     * Not more: the levels are coarse (halved steps, then the cheap method at a 16th or less), and a
     * larger margin sends a service that is twice too slow past halved steps to the cheap method.
     * Whether it also drains the backlog shows in the next dwell time's growth.
     */
    private static final double MARGIN = 1.1;
    /**
     * How much more of the engine's time than the top level's the arrivals may need at the level a
     * step goes to where no level keeps up: a tenth of it.
     */
    private static final double LEAST_NEED_SLACK = 0.1;
    /** The growth taken at most: at 1 s per s nothing is explained, and no level could be cheap enough. */
    private static final double MAX_GROWTH = 0.95;
    /**
     * The batches whose engine time per token bounds the drain: those of the last five minutes, at
     * most 64, so that a length seen a while ago (short events before a burst of long ones) still counts.
     */
    private static final long RATE_WINDOW_MS = 300_000;
    private static final int RATE_BATCHES = 64;
    /**
     * How many of the last batches of a kind (path or one-pass calls) price its work: their median
     * time per token, so that a batch slowed by a pause moves nothing, and a machine slowed by
     * another process shows within that many batches.
     */
    private static final int PRICE_BATCHES = 16;
    /** How many of the last batches of a kind, each slower than the median, price it at the least of them. */
    private static final int SHIFT_BATCHES = 3;
    /** How many of the last events taken stand for the records not yet read. */
    private static final int RECENTLY_TAKEN = 64;
    /** The batches of each level whose engine time per event says whether that level keeps up: at most 64 of the last five minutes. */
    private static final int LEVEL_BATCHES = 64;
    /**
     * How long after the engine's first batch a level's batches are not yet a measure of its rate:
     * the JIT compiles the service's code over its first minute, and a hostile test saw forced
     * events take 3.5 times their later time in the first seconds; judged by those, a drained service
     * was held a level too low for five minutes.
     */
    private static final long WARM_UP_MS = 60_000;
    /** How many of the last events taken give the share of forced ones (a few percent: 64 would hold two or three). */
    private static final int FORCED_SHARE_EVENTS = 1024;

    /** A level: the steps of sampled events, and whether they get the cheap method, and whether unsampled events are skipped. */
    record Level(int steps, boolean cheapForSampled, boolean skipNotSampled) {

        /**
         * The engine work per event, in passes of the configured method: sampled events at these
         * steps or the cheap method's one pass, unsampled ones at the cheap method's pass or none;
         * how the levels compare before any batch has priced their calls.
         */
        double cost(int fullSteps, int fullPasses, AuditPolicy policy) {
            double sampled = passShare(cheapForSampled, steps, fullSteps, fullPasses);
            boolean unsampledSkipped = skipNotSampled || policy.cheapMethod() == AuditPolicy.CheapMethod.SKIP;
            double unsampled = unsampledSkipped ? 0 : passShare(true, 1, fullSteps, fullPasses);
            return policy.sampleRate() * sampled + (1 - policy.sampleRate()) * unsampled;
        }

        String describe(GradientMethod cheap) {
            if (skipNotSampled) {
                return cheap.optionName() + " for events not forced, events outside the sample skipped";
            }
            return cheapForSampled ? cheap.optionName() + " for events not forced" : steps + " steps for sampled events";
        }
    }

    private final AuditPolicy policy;
    private final GradientMethod fullMethod;
    private final int fullSteps;
    /** The engine passes of an event at the configured method: its steps, or one for a gradient method, as the cheap method. */
    private final int fullPasses;
    private final long dwellMs;
    private final Clock clock;
    /** The engine work of a record taken: the share of the events that get each call. */
    record Work(Map<Call, Double> shares) {

        static final Work NONE = new Work(Map.of());

        static Work of(Tier tier) {
            return new Work(Map.of(tier.call(), 1.0));
        }

        Work times(double share) {
            Map<Call, Double> times = new HashMap<>();
            shares.forEach((call, own) -> times.put(call, own * share));
            return new Work(times);
        }

        Work plus(Work other) {
            Map<Call, Double> sum = new HashMap<>(shares);
            other.shares.forEach((call, share) -> sum.merge(call, share, Double::sum));
            return new Work(sum);
        }
    }

    /** Which waiting records a drain counts, and as what. */
    private enum Counted {
        /** Every record, the forced ones at the configured method. */
        ALL,
        /** Every record as one not forced: the level's own work. */
        AS_NOT_FORCED,
        /** The forced records only. */
        FORCED
    }

    /** How a drain is priced: at the recent batches' median time per token, or at the slowest of the last five minutes. */
    private enum Price {
        RECENT,
        SLOWEST
    }

    private final List<Level> levels = new ArrayList<>();
    private volatile int level;
    /** The engine time the waiting records need at the current level, as last estimated on the stream thread (for the metrics). */
    private volatile long projectedDrainMs = -1;
    private long lastChangeMs = Long.MIN_VALUE / 2;
    /** The engine time of the last batch (stream thread only). */
    private long lastBatchMs;
    /** The lag measurements of each source of batches (stream thread only). */
    private final Map<String, LagSeries> sources = new HashMap<>();
    /** The batches through the engine over the last {@link #RATE_WINDOW_MS}, at most {@link #RATE_BATCHES} (stream thread only). */
    private final LinkedList<EngineTime> engineTimes = new LinkedList<>();
    /** Where the input partitions end, for the records produced and not yet read. */
    private final InputEnds inputEnds;
    /** Whether the engine's first batch, its warm-up, has been seen (stream thread only). */
    private boolean warmedUp;
    /** From when batches measure the levels' rates: {@link #WARM_UP_MS} after the first batch (stream thread only). */
    private long levelsMeasuredFromMs = Long.MAX_VALUE;
    /** The tokens of the last events taken into batch stores, and their median (-1 before the first; stream thread only). */
    private final RecentLengths recentlyTaken = new RecentLengths(RECENTLY_TAKEN);
    /** The calls and length classes the engine has run since the start. */
    private final java.util.Set<Shape> shapesRun = new java.util.HashSet<>();
    private int medianTakenTokens = -1;
    /**
     * The tokens of the last forced events taken, and of the last others: the records not yet read
     * are priced at the most as each kind was, in the forced share. Taken as one, the lengths and the
     * choices were independent, and a stream with a quarter of long prompts and short forced events
     * priced a quarter of the forced ones as long at the configured method, at every level: no level
     * was taken to keep up with the arrivals, the top one included (a hostile test).
     */
    private final RecentLengths forcedTakenLengths = new RecentLengths(RECENTLY_TAKEN);
    private final RecentLengths notForcedTakenLengths = new RecentLengths(RECENTLY_TAKEN);
    /** What waits at each source, as its batcher last said (written by the stream thread, read by the metrics too). */
    private final Map<String, Waiting> waiting = new ConcurrentHashMap<>();
    /** Per input partition ("topic-partition"): its end offset as last seen, and since when it has stood there. */
    private final Map<String, long[]> endsSince = new ConcurrentHashMap<>();
    /**
     * The batches without a forced event explained at each level over the last {@link #RATE_WINDOW_MS},
     * at most {@link #LEVEL_BATCHES} each (stream thread only).
     */
    private final Map<Integer, LinkedList<EngineTime>> byLevel = new HashMap<>();
    /**
     * The batches explained with the configured method and steps over the last {@link #RATE_WINDOW_MS},
     * at most {@link #LEVEL_BATCHES}: what a forced event costs at any level (stream thread only).
     */
    private final LinkedList<EngineTime> configuredBatches = new LinkedList<>();
    /**
     * The batches of forced events only over the last four dwell times, each as (end, engine ms):
     * the wait they add to every record is no growth a step answers for (stream thread only).
     */
    private final ArrayDeque<long[]> forcedRuns = new ArrayDeque<>();
    /** Whether each of the last events taken was forced, and how many of them were (stream thread only). */
    private final ArrayDeque<Boolean> recentlyForced = new ArrayDeque<>();
    private int forcedTaken;
    /** The end of each source's input partition over the last two dwell times: (time, end) (stream thread only). */
    private final Map<String, Samples> ends = new HashMap<>();
    /** When each source's input records reached its partition, over at least twice the limit (stream thread only). */
    private final Map<String, EndHistory> reached = new HashMap<>();
    /** Whether a step up is being held back because the level above would not keep up (logged once per hold). */
    private boolean holding;
    /**
     * The engine seconds per second the forced events need (their arrival rate times the configured
     * method's time per event), as last estimated on the stream thread; -1 while not known (for the metrics).
     */
    private volatile double forcedLoad = -1;
    /** Whether the last measurement's lag over half the limit was said to be the records' age (stream thread only). */
    private Aged saidAged = Aged.NO;
    /** What has been said of the lag's passing the limit at the top level, since the service last reached it. */
    private TopWarning warnedAtTop = TopWarning.NONE;

    /** What the warning at the top level has said. */
    private enum TopWarning {
        NONE,
        /** Said before the forced events' need was measured (the first minute after a start measures nothing): said again once it is. */
        WITHOUT_THE_FORCED_LOAD,
        WITH_THE_FORCED_LOAD
    }

    /**
     * One batch through the engine: when it ended, its engine time, its events and their tokens,
     * its call (a batch never mixes calls), and whether it was the call's first at its length class
     * since the start (libtorch allocates for a new length: several times slower than the next).
     */
    private record EngineTime(long endedMs, long engineMs, int events, long tokens, Call call, boolean firstAtItsLength) {

        /** Its engine time per token and pass. */
        double msPerPassToken() {
            return (double) engineMs / (tokens * call.passes());
        }

        /** The mean tokens of its events. */
        double tokensPerEvent() {
            return (double) tokens / events;
        }
    }

    /**
     * A call at a length class (powers of two of its events' mean tokens): the engine's first batch
     * at each is slower than the next ones. Not TransactionBudget.lengthClass: the batch package
     * depends on this one.
     */
    private record Shape(Call call, int lengthClass) {

        static Shape of(Call call, long tokens, int events) {
            return new Shape(call, 64 - Long.numberOfLeadingZeros(Math.max(1, Math.round((double) tokens / events) - 1)));
        }
    }

    /** What some recent batches took: engine time and events. */
    private record Measured(long engineMs, long events, int batches) {

        double msPerEvent() {
            return (double) engineMs / events;
        }
    }

    /** An event a batch explained: its tier and its prompt and response tokens. */
    public record Explained(Tier tier, int tokens) {}

    /**
     * Events in a batch store: how many, their prompt and response tokens, and the audit choice
     * made for them where they entered (empty where the caller does not tell it: priced at the
     * recent shares of the choices among the events taken).
     */
    public record Stored(Optional<AuditPolicy.Choice> choice, long events, long tokens) {

        public static Stored of(AuditPolicy.Choice choice, long events, long tokens) {
            return new Stored(Optional.of(choice), events, tokens);
        }

        /** Events whose choices are not told. */
        public static Stored mixed(long events, long tokens) {
            return new Stored(Optional.empty(), events, tokens);
        }

        /** Their mean tokens. */
        double tokensEach() {
            return (double) tokens / events;
        }
    }

    /**
     * What waits at one source: the events in its batch store, and the input partition it reads
     * (null where not known) with the offset after the last record it read (-1 before the first).
     */
    private record Waiting(List<Stored> stored, String topic, int partition, long nextOffset) {

        long storedEvents() {
            return stored.stream().mapToLong(Stored::events).sum();
        }

        /**
         * The records produced to the partition and not yet read, where its end is known: after the
         * last one read, or before the first, after the offset the group committed. Uncounted, the
         * records that waited out a restart left the growth of their lag to decide alone, and it
         * sent the service to the top level (a hostile test).
         */
        OptionalLong unread(InputEnds ends) {
            if (topic == null) {
                return OptionalLong.empty();
            }
            OptionalLong next = nextOffset >= 0 ? OptionalLong.of(nextOffset) : ends.committedOffset(topic, partition);
            OptionalLong end = ends.endOffset(topic, partition);
            return end.isPresent() && next.isPresent() ? OptionalLong.of(Math.max(0, end.getAsLong() - next.getAsLong())) : OptionalLong.empty();
        }
    }

    /**
     * Measurements (time, value) over a window: the oldest is dropped once the next is a window
     * old, so at least two are kept and they span at least the window once it has passed.
     */
    private static class Samples {
        private final LinkedList<long[]> samples = new LinkedList<>();

        void add(long now, long value, long windowMs) {
            samples.addLast(new long[] {now, value});
            while (samples.size() > 2 && now - samples.get(1)[0] >= windowMs) {
                samples.removeFirst();
            }
        }

        long last() {
            return samples.getLast()[1];
        }

        /** Whether the measurements span {@code spanMs}: before, a jump between two of them would read as a slope. */
        boolean known(long spanMs) {
            return samples.getLast()[0] - samples.getFirst()[0] >= spanMs;
        }

        /**
         * The value's change in units per ms over the measurements, once they span {@code spanMs};
         * zero until then. For a lag (negative while a backlog drains): from batch to batch the lag
         * jumps (a batch of another length bucket has older events), so a slope over one second
         * read noise as tens of seconds per second.
         */
        double slope(long spanMs) {
            return slopeLess(spanMs, (fromMs, toMs) -> 0);
        }

        /**
         * The same, less {@code taken} ms of the change between the first and last measurement's
         * times (what no step takes back); never below the change's own slope where that falls, nor
         * below 0 where it grows.
         */
        double slopeLess(long spanMs, java.util.function.LongBinaryOperator taken) {
            long[] oldest = samples.getFirst();
            long[] newest = samples.getLast();
            if (!known(spanMs) || newest[0] <= oldest[0]) {
                return 0;
            }
            double slope = (double) (newest[1] - oldest[1]) / (newest[0] - oldest[0]);
            double less = (double) (newest[1] - oldest[1] - taken.applyAsLong(oldest[0], newest[0])) / (newest[0] - oldest[0]);
            return Math.max(Math.min(slope, 0), less);
        }
    }

    /**
     * The lag measurements of one source over its last dwell time, and since when its batch store
     * has been empty (MIN_VALUE while events wait).
     */
    private static final class LagSeries extends Samples {
        private long idleSinceMs = Long.MIN_VALUE;
        /** Its partition's end at the last tick that found its store empty (-1 where not known). */
        private long endAtLastIdleTick = -1;
        /** Whether its records' timestamps were last said to be older than their wait. */
        private boolean saidOld;
    }

    /**
     * @param fullMethod the configured method ({@code attribution.method})
     * @param fullSteps the configured steps ({@code attribution.steps})
     * @param dwellMs the least time between two changes of level
     */
    public BacklogController(AuditPolicy policy, GradientMethod fullMethod, int fullSteps, long dwellMs, Clock clock) {
        this(policy, fullMethod, fullSteps, dwellMs, InputEnds.UNKNOWN, clock);
    }

    /**
     * @param inputEnds where the input partitions end, for the records produced and not yet read
     *     ({@link InputEnds#UNKNOWN}: only the batch stores are counted)
     */
    public BacklogController(AuditPolicy policy, GradientMethod fullMethod, int fullSteps, long dwellMs, InputEnds inputEnds, Clock clock) {
        this.policy = policy;
        this.inputEnds = inputEnds;
        this.fullMethod = fullMethod;
        this.fullSteps = fullSteps;
        this.fullPasses = new Call(fullMethod, fullSteps).passes();
        this.dwellMs = dwellMs;
        this.clock = clock;
        levels.add(new Level(fullSteps, false, false));
        if (fullMethod == GradientMethod.INTEGRATED_GRADIENTS) {
            for (int steps = fullSteps / 2; steps > policy.minSteps(); steps /= 2) {
                levels.add(new Level(steps, false, false));
            }
            if (fullSteps > policy.minSteps()) {
                levels.add(new Level(policy.minSteps(), false, false));
            }
        }
        levels.add(new Level(1, true, false));
        levels.add(new Level(1, true, true));
    }

    /**
     * The controller for the configured method and steps.
     *
     * @param policy the audit policy; with {@code maxLagMs} 0 the controller never degrades
     */
    public static BacklogController of(AuditPolicy policy, AttributionSettings full, InputEnds inputEnds, Clock clock) {
        return new BacklogController(policy, full.method(), full.steps(), dwellFor(policy.maxLagMs()), inputEnds, clock);
    }

    /** The dwell time the service uses: a sixth of the limit, between 1 and 10 s. */
    public static long dwellFor(long maxLagMs) {
        return Math.max(1_000, Math.min(10_000, maxLagMs / 6));
    }

    /** Backlog control is off with audit.max.lag.ms = 0, and in replays, whose events are old by design. */
    public boolean enabled() {
        return policy.maxLagMs() > 0;
    }

    /**
     * Takes the lag of a batch about to be explained, whose oldest input record has this timestamp
     * (when the record reached Kafka: its producer's send time, or the broker's append time), as it
     * will be when the batch is published: its lag now on this controller's clock plus the engine
     * time of the batch before, the best estimate of this one's. Measured when the batch starts,
     * the lag alone let the published lag run over the limit by a batch's time before the service
     * degraded. The records' timestamps, not the events' own: an event logged a month ago and sent
     * now has not waited for the engine. Returns the level after it.
     */
    public int observeOldest(String source, long recordTimeMs) {
        return observeOldest(source, recordTimeMs, -1);
    }

    /**
     * The same, with the offset of the batch's first input record ({@code firstOffset}; -1 where
     * not known): where the partition's end says it reached the partition later than its timestamp
     * says, the batch's lag is the time since then. A mirror of a topic with history stamps its
     * records an hour before they reach it; taken at its timestamps, one long batch's 17.5 s read
     * as growth of a lag of an hour and sent the service to the top level, 12 of 160 events
     * skipped, where no record waited over 21.4 s (a hostile test).
     */
    public int observeOldest(String source, long recordTimeMs, long firstOffset) {
        LagSeries series = sources.computeIfAbsent(source, s -> new LagSeries());
        series.idleSinceMs = Long.MIN_VALUE;
        long now = clock.millis();
        return observe(source, waitedMs(source, series, Math.max(0, now - recordTimeMs), firstOffset, now), lastBatchMs);
    }

    /**
     * How long the batch's records have waited since they reached the input partition: their lag
     * by their timestamps, or less where the partition's end history says its first record came
     * later. Said once, while it holds, where the two differ by more than half the limit, so that
     * an operator who sees the published lag gauge at an hour knows why nothing degrades.
     */
    private long waitedMs(String source, LagSeries series, long lagMs, long firstOffset, long now) {
        EndHistory history = reached.get(source);
        if (firstOffset < 0 || history == null) {
            return lagMs;
        }
        OptionalLong reachedMs = history.reachedMs(firstOffset);
        long waited = reachedMs.isPresent() ? Math.min(lagMs, Math.max(0, now - reachedMs.getAsLong()))
                : stampedAsTheyArrive(source) ? lagMs : beforeTheHistory(history, firstOffset, lagMs, now);
        boolean old = lagMs - waited > policy.maxLagMs() / 2;
        if (old && !series.saidOld) {
            LOG.info("Input records of {} came older than their wait: the batch's oldest is stamped {} ms ago, and its first reached the"
                    + " partition {} ms ago (a mirror of a topic with history, or a producer that stamps old times); backlog control takes"
                    + " the lag at their wait", source, lagMs, waited);
        }
        series.saidOld = old;
        return waited;
    }

    /**
     * Whether the records arriving at the source's partition are stamped as they arrive, within
     * half the limit (read with its end: the newest record's timestamp): then a record's timestamp
     * says when it arrived, before the history of the end as after it, and a long wait is no age.
     * After an outage of 80 s, fresh records that had waited 98 s were taken for a mirror's, and
     * when their timestamps came within the limit of the time since the end was first read, the
     * jump read as growth and sent the service to the top level (a hostile test: 58 events skipped).
     */
    private boolean stampedAsTheyArrive(String source) {
        Waiting at = waiting.get(source);
        OptionalLong stampedBefore = at == null || at.topic() == null ? OptionalLong.empty()
                : inputEnds.arrivalsStampedBeforeMs(at.topic(), at.partition());
        return stampedBefore.isPresent() && stampedBefore.getAsLong() <= policy.maxLagMs() / 2;
    }

    /**
     * The wait of a record that reached its partition before the history of its end began (a start,
     * a restart, a partition taken over): at least the time since then, or since the service's
     * first read of the partition's end where it came before that (a restarted service's first tick
     * comes 15 to 20 s after it; counted from the tick, records that waited out a 31.5 s outage were
     * taken for a mirror's, and a hostile test saw 14 of them published over the limit while the
     * level held). Stamped older than that by
     * more than the limit, it is taken to have waited only that long: the rest is its age (a mirror's
     * hour), which no level takes back, and taken at its timestamp, the lag of a mirror restarted
     * mid-stream jumped between 25 s and 3,620 s as the batches of its length buckets took records
     * from before and after the restart, and that noise read as growth and stepped 2 -> 4 (a
     * hostile test). Within the limit of it, the timestamp stands: the records of a partition taken
     * over from a crashed instance waited for the session timeout, and that wait is real.
     */
    private long beforeTheHistory(EndHistory history, long firstOffset, long lagMs, long now) {
        long atLeast = Math.max(0, now - history.reachedByMs(firstOffset).orElse(now));
        return lagMs - atLeast > policy.maxLagMs() ? atLeast : lagMs;
    }

    /**
     * What waits at a source now: the events in its batch store and their tokens, and the offset of
     * the last input record it read from its partition (-1 before the first: then those after the
     * offset its group committed), after which the partition's records are unread. Told whenever
     * the store changes, so that the count is current when a batch starts.
     */
    public void waiting(String source, List<Stored> stored, String topic, int partition, long lastReadOffset) {
        if (enabled()) {
            List<Stored> some = stored.stream().filter(events -> events.events() > 0).toList();
            waiting.put(source, new Waiting(some, topic, partition, lastReadOffset < 0 ? -1 : lastReadOffset + 1));
            // At every record read, not only per batch: the end seen just before a record says when it came.
            OptionalLong end = topic == null ? OptionalLong.empty() : inputEnds.endOffset(topic, partition);
            if (end.isPresent()) {
                reachedBy(source, topic, partition, clock.millis(), end.getAsLong());
            }
            projectedDrainMs = drainMs(level);
        }
    }

    /**
     * The source has started (its task was initialized) but has not told what waits yet: its
     * records are not counted until it does. One stream thread serves every task, so after a
     * restart a task's first tick may come only after another's engine call; unnamed, its records
     * were left out of the count as if none waited.
     */
    public void started(String source) {
        if (enabled()) {
            waiting.putIfAbsent(source, new Waiting(List.of(), null, -1, -1));
        }
    }

    /** What waits at a source, its stored events' choices not told: priced at the recent shares of the events taken. */
    public void waiting(String source, long storedEvents, long storedTokens, String topic, int partition, long lastReadOffset) {
        waiting(source, List.of(Stored.mixed(storedEvents, storedTokens)), topic, partition, lastReadOffset);
    }

    /**
     * Nothing waits in the source's batch store. That is a lag of 0 only once nothing has waited for
     * a dwell time: between two polls of a backlogged input the store is empty for a moment, and
     * taking that as no lag sent the service back to full steps within seconds of each step down.
     * Nor while records of its partition came since its last tick and are not read yet: the one
     * stream thread may have been in another task's engine call, which polls nothing meanwhile, and
     * a lag of 0 read across it made the next real reading a growth of 3.9 s per s, which sent a
     * restarted service to the top level (a hostile test). (Not by the unread count alone: a
     * transactional producer's last commit marker is never read, and such a partition would never
     * be idle; its end stands still once traffic stops.)
     */
    public int idle(String source) {
        LagSeries series = sources.get(source);
        if (series == null) {
            return level;
        }
        long now = clock.millis();
        Waiting at = waiting.get(source);
        OptionalLong end = at == null || at.topic() == null ? OptionalLong.empty() : inputEnds.endOffset(at.topic(), at.partition());
        boolean cameUnread = end.isPresent() && end.getAsLong() != series.endAtLastIdleTick && at.unread(inputEnds).orElse(0) > 0;
        if (series.idleSinceMs == Long.MIN_VALUE || cameUnread) {
            series.idleSinceMs = now;
        }
        series.endAtLastIdleTick = end.orElse(-1);
        return now - series.idleSinceMs >= dwellMs ? observe(source, 0) : level;
    }

    /** The source is gone from this instance (its task moved or closed): its lag no longer counts. */
    public void forget(String source) {
        sources.remove(source);
        waiting.remove(source);
        ends.remove(source);
        reached.remove(source);
    }

    /**
     * The engine time of the batch just explained and what its events got, for the next projection
     * and the engine's measured rate.
     */
    public void batchTook(List<Explained> batch, long engineMs) {
        lastBatchMs = Math.max(0, engineMs);
        if (!warmedUp) {
            // The first batch pays for class loading and the first allocations (ten times the real
            // cost per event was seen): priced by it, the first burst after every start stepped down.
            warmedUp = true;
            levelsMeasuredFromMs = clock.millis() + WARM_UP_MS;
            return;
        }
        long now = clock.millis();
        if (batch.isEmpty()) {
            trim(engineTimes, RATE_BATCHES, now);
            return;
        }
        if (batch.stream().allMatch(event -> event.tier().reason() == Tier.Reason.FORCED)) {
            forcedRuns.addLast(new long[] {now, lastBatchMs});
        }
        while (!forcedRuns.isEmpty() && forcedRuns.peekFirst()[0] < now - 4 * dwellMs) {
            forcedRuns.removeFirst();
        }
        long tokens = batch.stream().mapToLong(Explained::tokens).sum();
        Call call = batch.get(0).tier().call();
        boolean firstAtItsLength = shapesRun.add(Shape.of(call, tokens, batch.size()));
        EngineTime took = new EngineTime(now, lastBatchMs, batch.size(), tokens, call, firstAtItsLength);
        if (tokens > 0) {
            engineTimes.addLast(took);
            // What a drain's price is made of, batch by batch, for an operator who asks why a level was chosen.
            LOG.debug("batch at level {}: {} events ({} forced), {} tokens, {}, {} ms: {} ms per token and pass", level, took.events(),
                    batch.stream().filter(event -> event.tier().reason() == Tier.Reason.FORCED).count(), tokens, took.call(), took.engineMs(),
                    String.format(Locale.ROOT, "%.3f", took.msPerPassToken()));
        }
        trim(engineTimes, RATE_BATCHES, now);
        if (now < levelsMeasuredFromMs) {
            return;
        }
        // Forced events get the configured method at every level, so a level's own rate is measured on
        // its batches without them, and theirs on every batch at the configured method and steps: a
        // few forced long prompts (8 s for a batch of two) among a level's first 23 cheap batches put
        // the cheap method at 15 events per second, and held the service at the top level for minutes.
        if (batch.stream().noneMatch(event -> event.tier().reason() == Tier.Reason.FORCED)) {
            // The tiers were chosen at this level when the batch started (nothing changes it meanwhile).
            LinkedList<EngineTime> atLevel = byLevel.computeIfAbsent(level, l -> new LinkedList<>());
            atLevel.addLast(took);
            trim(atLevel, LEVEL_BATCHES, now);
        }
        if (batch.stream().allMatch(event -> event.tier().kind() == Tier.Kind.FULL && event.tier().method() == fullMethod
                && event.tier().steps() == fullSteps)) {
            configuredBatches.addLast(took);
            trim(configuredBatches, LEVEL_BATCHES, now);
        }
    }

    /** Drops the batches beyond the last {@code most} and those older than {@link #RATE_WINDOW_MS}. */
    private static void trim(LinkedList<EngineTime> batches, int most, long now) {
        while (batches.size() > most || !batches.isEmpty() && now - batches.getFirst().endedMs() > RATE_WINDOW_MS) {
            batches.removeFirst();
        }
    }

    /**
     * What these batches (a level's, or those at the configured method) took over the last five
     * minutes: measured where they ran, not priced from another level's batches. Priced from the
     * configured method's time per token by the levels' shares of its passes, the cheap method's
     * batches put the configured method at a quarter of its real time (run T in docs/benchmarks.md):
     * a pass of a batch of a few events is mostly work outside the passes' arithmetic.
     */
    private static Optional<Measured> measured(LinkedList<EngineTime> batches, long now) {
        if (batches == null) {
            return Optional.empty();
        }
        trim(batches, LEVEL_BATCHES, now);
        if (batches.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Measured(batches.stream().mapToLong(EngineTime::engineMs).sum(),
                batches.stream().mapToLong(EngineTime::events).sum(), batches.size()));
    }

    /** The share of forced events among the last {@link #FORCED_SHARE_EVENTS} taken (0 before the first). */
    double forcedShare() {
        return recentlyForced.isEmpty() ? 0 : (double) forcedTaken / recentlyForced.size();
    }

    /**
     * The engine seconds per second the forced events need: their arrival rate (their share of the
     * events taken, of the records arriving) times the configured method's measured time per event.
     * Over 1, no level keeps up, since forced events get the configured method at every level.
     */
    private OptionalDouble forcedEngineLoad(long now) {
        OptionalDouble arriving = arrivingPerSecond();
        Optional<Measured> configured = measured(configuredBatches, now);
        if (arriving.isEmpty() || configured.isEmpty()) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(arriving.getAsDouble() * forcedShare() * configured.get().msPerEvent() / 1000);
    }

    /**
     * The lag will pass the limit at the top level, where only forced events get the configured
     * method: says so once (until the service leaves the top level), with what the forced events
     * need, and once more if that was not measured yet when it was first said. A steady share of
     * forced long prompts (8 s each at 50 steps) held the lag at four times the limit, and nothing
     * said why (a hostile test).
     */
    private void warnAtTop(long lagMs, long expectedMs) {
        double load = forcedLoad;
        warnedAtTop = load < 0 ? TopWarning.WITHOUT_THE_FORCED_LOAD : TopWarning.WITH_THE_FORCED_LOAD;
        String forced = load < 0 ? "the forced events' engine time is not measured yet"
                : String.format(Locale.ROOT, "forced events (%.0f%% of the events taken) need %.2f s of engine time per second at the"
                        + " configured method as they arrive%s", 100 * forcedShare(), load, load >= 1 ? ", more than the engine has" : "");
        // What waits, and the forced records' part of it: after a burst nothing arrives, and the
        // rate alone said the forced events "need 0.00 s" while their waiting work took most of the
        // engine's time (a hostile test). At the most they can take: at the recent price, a forced
        // long prompt not yet read counts as a median event.
        long drainMs = slowestDrainWithForcedMs(level);
        long forcedDrainMs = drainMs < 0 ? -1 : drainMs(level, Counted.FORCED, Price.SLOWEST);
        String waits = drainMs < 0 ? "" : String.format(Locale.ROOT, "; the %d input records waiting need at most %d ms of engine time, %d ms of"
                + " it for the forced ones", waitingRecords(), drainMs, forcedDrainMs);
        // Forced events that need well under the engine's time are not why no level keeps up (a hostile
        // test's warning said "need 0.00 s" and still told the operator to lower their share).
        boolean forcedWork = load >= 0.5 || forcedDrainMs > drainMs / 2;
        String advice = (load >= 0 || forcedDrainMs >= 0) && !forcedWork
                ? "So what waits is a backlog, or the engine is slower than it was (another process on the machine): add instances, or lower"
                        + " attribution.steps"
                : "Lower attribution.steps, or the share of forced events (audit.sample.always, metadata.audit=full), or add instances";
        LOG.warn("Input lag {} ms will be {} ms at the top audit level, over audit.max.lag.ms = {}: every event but the forced ones already gets"
                + " the cheap method, and {}{}. {}", lagMs, expectedMs, policy.maxLagMs(), forced, waits, advice);
    }

    /** The engine seconds per second the forced events need at the configured method, as last estimated; -1 while not known. */
    public double forcedEngineLoad() {
        return forcedLoad;
    }

    /** Takes each source's partition end now, where known (stream thread only). */
    private void sampleEnds(long now) {
        for (Map.Entry<String, Waiting> at : waiting.entrySet()) {
            Waiting source = at.getValue();
            OptionalLong end = source.topic() == null ? OptionalLong.empty() : inputEnds.endOffset(source.topic(), source.partition());
            if (end.isPresent()) {
                ends.computeIfAbsent(at.getKey(), s -> endsReadBefore(source, now)).add(now, end.getAsLong(), 2 * dwellMs);
                reachedBy(at.getKey(), source.topic(), source.partition(), now, end.getAsLong());
            }
        }
    }

    /**
     * A source's partition ends as read over the last two dwell times before its first sample: a
     * partition taken over, or a task started after a restart, has its arrivals measured from its
     * first tick, not a dwell time after it.
     */
    private Samples endsReadBefore(Waiting source, long now) {
        Samples series = new Samples();
        for (InputEnds.SeenEnd read : inputEnds.endsSince(source.topic(), source.partition(), now - 2 * dwellMs)) {
            if (read.atMs() < now) {
                series.add(read.atMs(), read.end(), 2 * dwellMs);
            }
        }
        return series;
    }

    /** The source's input partition ends at {@code end} now: the records before it have reached it. */
    private void reachedBy(String source, String topic, int partition, long now, long end) {
        EndHistory history = reached.get(source);
        if (history == null) {
            history = new EndHistory(2 * policy.maxLagMs(), inputEnds.firstEnd(topic, partition));
            // The ends read before the task's first tick (a partition taken over, a task started
            // after a restart): the arrivals since then are known, and a mirror's records that
            // waited out the take-over were taken to have waited only since the tick.
            for (InputEnds.SeenEnd read : inputEnds.endsSince(topic, partition, now - 2 * policy.maxLagMs())) {
                if (read.atMs() < now) {
                    history.add(read.atMs(), read.end(), -1);
                }
            }
            reached.put(source, history);
        }
        history.add(now, end, inputEnds.reads());
    }

    /**
     * The records per second produced to this instance's input partitions, over the last two dwell
     * times: the growth of their ends. Empty unless every source has its end measured over at least
     * a dwell time (a partition just taken over has none, where its ends were not read before, and
     * its records' count is no arrival).
     */
    OptionalDouble arrivingPerSecond() {
        if (waiting.isEmpty()) {
            return OptionalDouble.empty();
        }
        double perSecond = 0;
        for (String source : waiting.keySet()) {
            Samples series = ends.get(source);
            if (series == null || !series.known(dwellMs)) {
                return OptionalDouble.empty();
            }
            perSecond += 1000 * series.slope(dwellMs);
        }
        return OptionalDouble.of(perSecond);
    }

    /**
     * Why the level above should not be stepped up to, or empty: it would explain fewer records per
     * second of engine time than arrive, with {@link #MARGIN} to spare. Its events not forced at
     * its own batches' time per event, forced ones at the configured method's, in their share.
     * Without it, a service that the cheap method had caught up stepped back to the configured level
     * while the same overload still arrived, and down again a minute later (run S in
     * docs/benchmarks.md: 0, 2, 1, 0, 2 at 40 events/s). A level run fewer than
     * {@link #SHIFT_BATCHES} times in the last five minutes, or an arrival rate not known, holds
     * nothing back: the step is tried, and the lag shows whether it keeps up (one batch of one long
     * prompt, 20 s, said the configured level explained 0.1 events per second, and held a step up
     * while nothing waited: a hostile test).
     */
    private Optional<String> fallsShort(int atLevel, long now) {
        OptionalDouble arriving = arrivingPerSecond();
        Optional<Measured> own = measured(byLevel.get(atLevel), now).filter(batches -> batches.batches() >= SHIFT_BATCHES);
        Optional<Measured> forced = measured(configuredBatches, now);
        double forcedShare = forcedShare();
        if (arriving.isEmpty() || own.isEmpty() || forcedShare > 0 && forced.isEmpty()) {
            return Optional.empty();
        }
        // Per event: the forced ones at the configured method's time, the others at the level's own.
        double msPerEvent = forcedShare * (forcedShare > 0 ? forced.get().msPerEvent() : 0) + (1 - forcedShare) * own.get().msPerEvent();
        double perSecond = 1000 / msPerEvent;
        if (arriving.getAsDouble() * MARGIN <= perSecond) {
            return Optional.empty();
        }
        return Optional.of(String.format(Locale.ROOT,
                "%.1f input records per second arrive, %.0f%% of them forced, and level %d explains %.1f per second of engine time"
                        + " (%.1f ms per event not forced in its last %d batches%s)",
                arriving.getAsDouble(), 100 * forcedShare, atLevel, perSecond, own.get().msPerEvent(), own.get().batches(),
                forcedShare > 0 ? String.format(Locale.ROOT, ", %.1f ms per event at the configured method", forced.get().msPerEvent()) : ""));
    }

    /**
     * An event's engine passes, as a share of the configured method's: the cheap method's one pass,
     * or these steps of the configured method.
     */
    private static double passShare(boolean cheap, int steps, int fullSteps, int fullPasses) {
        return cheap ? 1.0 / fullPasses : (double) steps / fullSteps;
    }

    /**
     * An event not forced taken into a batch store, with its tokens: the recent ones stand for the
     * records not yet read.
     */
    public void taken(int tokens) {
        taken(tokens, false);
    }

    /** An event taken into a batch store, with its tokens, and whether it is forced (its share weighs a level's rate). */
    public void taken(int tokens, boolean forced) {
        if (!enabled()) {
            return;
        }
        recentlyForced.addLast(forced);
        forcedTaken += forced ? 1 : 0;
        if (recentlyForced.size() > FORCED_SHARE_EVENTS) {
            forcedTaken -= recentlyForced.removeFirst() ? 1 : 0;
        }
        recentlyTaken.add(tokens);
        (forced ? forcedTakenLengths : notForcedTakenLengths).add(tokens);
        medianTakenTokens = recentlyTaken.median();
    }

    /**
     * The time the waiting records will take at this level: each priced at the time per token and
     * pass the last batches of its call took at its length (the median of the last
     * {@link #PRICE_BATCHES}). The forced records among them, in their share of the events taken,
     * get the configured method at every level: left out, the top level's drain read 2.7 s for
     * 3,000 records whose forced events then took 277 s (a hostile test). Priced at the fastest
     * batch of the last five minutes, drains came out at a third to a tenth of what they took: a
     * one-pass call costs ten times a path point per token (priced as one, the cheap levels were
     * cheaper by that much than they were); the fastest of 64 batches is a lucky one; and under
     * another process that takes the cores, a burst was stepped down one level at a time and
     * published 16 s over the limit (a hostile test).
     */
    long drainMs(int atLevel) {
        return engineTimes.isEmpty() ? -1 : drainMs(atLevel, Counted.ALL, Price.RECENT);
    }

    /**
     * The time per token and pass of a call for events of {@code tokensPerEvent} tokens, measured on
     * its own batches where it ran at least {@link #SHIFT_BATCHES} times in five minutes, else on
     * those of its kind (one-pass calls, or paths at any steps), else on any: at {@link Price#RECENT}, the median over their last
     * {@link #PRICE_BATCHES} batches of events as short or shorter (a token's cost grows with the
     * length: attention), of those at least half as long where there are any (a short event's
     * token carries more of its call's overhead), or where every one is of longer events, theirs
     * scaled down by the ratio of the lengths (as if attention were all its cost); or the least of its last
     * {@link #SHIFT_BATCHES} at any length, so scaled, where that is more (each of them slower: the
     * machine is slower now); at {@link Price#SLOWEST}, the slowest of those batches of the last
     * five minutes at this length. A one-pass call costs ten times a path point per token (its
     * overhead is not spread over steps), and under a CPU hog a 50-step path's point cost twice an
     * 8-step one's (a hostile test).
     */
    private double msPerPassToken(Call call, double tokensPerEvent, Price price) {
        List<EngineTime> kind = engineTimes.stream().filter(batch -> batch.call().equals(call)).toList();
        if (kind.size() < SHIFT_BATCHES) {
            kind = engineTimes.stream().filter(batch -> batch.call().onePass() == call.onePass()).toList();
        }
        if (kind.isEmpty()) {
            kind = engineTimes;
        }
        // Each batch at this length: one of longer events scaled down by the ratio of the lengths.
        double[] scaled = kind.stream().mapToDouble(batch -> batch.msPerPassToken() * Math.min(1, tokensPerEvent / batch.tokensPerEvent())).toArray();
        List<EngineTime> shorter = kind.stream().filter(batch -> batch.tokensPerEvent() <= tokensPerEvent).toList();
        // The batches at least half as long, where there are any: a forced 512-token prompt behind a
        // stream of 30-token events was priced at the short batches' median, at a thirteenth of what
        // its own batches took; and at the most, a long prompt at the cheap method was priced at the
        // short events' one-pass calls, whose time per token is mostly the call's overhead (2.27 ms
        // against 0.27-0.62 at 512 tokens), and a lag stepped deeper than it needed (a hostile test).
        List<EngineTime> near = shorter.stream().filter(batch -> 2 * batch.tokensPerEvent() >= tokensPerEvent).toList();
        List<EngineTime> alikeBatches = !near.isEmpty() ? near : !shorter.isEmpty() ? shorter : kind;
        java.util.function.ToDoubleFunction<EngineTime> atThisLength = shorter.isEmpty()
                ? batch -> batch.msPerPassToken() * Math.min(1, tokensPerEvent / batch.tokensPerEvent()) : EngineTime::msPerPassToken;
        if (price == Price.SLOWEST) {
            // At this length too: the slowest batch of long prompts (12 times a short one's time per
            // token) priced the short events behind it as long, and held no lag cap (a hostile test).
            // Not a call's first at its length where later ones ran: a first 512-token call of the
            // cheap method took 5.1 ms per token, the next ones 0.3, and that one priced every long
            // prompt for five minutes, at up to 88 times the recent price (a hostile test).
            List<EngineTime> settled = alikeBatches.stream().filter(batch -> !batch.firstAtItsLength()).toList();
            return (settled.isEmpty() ? alikeBatches : settled).stream().mapToDouble(atThisLength).max().orElseThrow();
        }
        double[] alike = alikeBatches.stream().mapToDouble(atThisLength).toArray();
        // The least of the last few, at any length, is the price where each of them is slower than
        // the median: a machine slowed just now shows within SHIFT_BATCHES batches, not half of
        // PRICE_BATCHES. Taken only of batches as short, the last three under a CPU hog (36, 30.5 and
        // 111 tokens an event against 29 each waiting) were not seen, and the configured method
        // stayed priced at a fifth of its time (a hostile test).
        double leastOfLast = java.util.Arrays.stream(scaled, Math.max(0, scaled.length - SHIFT_BATCHES), scaled.length).min().orElseThrow();
        double[] last = java.util.Arrays.copyOfRange(alike, Math.max(0, alike.length - PRICE_BATCHES), alike.length);
        java.util.Arrays.sort(last);
        double median = last.length % 2 == 1 ? last[last.length / 2] : (last[last.length / 2 - 1] + last[last.length / 2]) / 2;
        return Math.max(median, leastOfLast);
    }

    /** The most time the waiting records can take at this level, at the slowest recent time per token and pass of each kind. */
    long slowestDrainMs(int atLevel) {
        return engineTimes.isEmpty() ? -1 : drainMs(atLevel, Counted.AS_NOT_FORCED, Price.SLOWEST);
    }

    /**
     * The most time the waiting records can take at this level with the forced ones, in their share
     * of the events taken, at the configured method: the age check must not read an overload of
     * forced events as records that came old.
     */
    private long slowestDrainWithForcedMs(int atLevel) {
        return engineTimes.isEmpty() ? -1 : drainMs(atLevel, Counted.ALL, Price.SLOWEST);
    }

    /** The calls an event that is not forced gets at a level: sampled ones the level's, the others the cheap method or none. */
    private Work levelWork(int atLevel) {
        Work unsampled = skipsAt(atLevel, AuditPolicy.Choice.NOT_SAMPLED) ? Work.NONE : Work.of(tierAt(atLevel, AuditPolicy.Choice.NOT_SAMPLED));
        return Work.of(tierAt(atLevel, AuditPolicy.Choice.SAMPLED)).times(policy.sampleRate()).plus(unsampled.times(1 - policy.sampleRate()));
    }

    /** The calls an event taken gets at a level, the forced ones at the configured method in their share. */
    private Work workWithForced(int atLevel) {
        double forced = forcedShare();
        return levelWork(atLevel).times(1 - forced).plus(Work.of(tierAt(atLevel, AuditPolicy.Choice.FORCED)).times(forced));
    }

    /**
     * The calls of waiting records at a level, as a drain counts them: records in a batch store whose
     * audit choice is known get that choice's call (events stored are explained, not skipped); the
     * others, the calls of the recent shares of the choices among the events taken.
     */
    private Work work(Optional<AuditPolicy.Choice> choice, int atLevel, Counted counted) {
        if (choice.isPresent()) {
            boolean forced = choice.get() == AuditPolicy.Choice.FORCED;
            return switch (counted) {
                case ALL -> Work.of(tierAt(atLevel, choice.get()));
                case AS_NOT_FORCED -> forced ? levelWork(atLevel) : Work.of(tierAt(atLevel, choice.get()));
                case FORCED -> forced ? Work.of(tierAt(atLevel, choice.get())) : Work.NONE;
            };
        }
        return switch (counted) {
            case ALL -> workWithForced(atLevel);
            case AS_NOT_FORCED -> levelWork(atLevel);
            case FORCED -> Work.of(tierAt(atLevel, AuditPolicy.Choice.FORCED)).times(forcedShare());
        };
    }

    /**
     * How long the engine needs for every source's waiting records: their tokens, times each call's
     * share, passes and time per token and pass for events of their length. The time per token grows with the length (attention): a long prompt's token costs
     * three times a short one's on the bundled model, so each length is priced by batches of its
     * length or shorter (priced at a batch of long prompts, 100 short events behind 4 long ones were
     * sent to fewer steps). A step down needs the recent price to be over the limit; a growing lag
     * is capped by the slowest, and a step up needs the slowest to be under half the limit at the
     * level above. The events in a batch store have their tokens counted. Records not yet read have
     * none known: for the recent price each is taken to be as long as the median of the last events
     * taken, a guess that a few long events do not move (priced as the events in their store, the
     * same 100 short events went to the cheap method); a burst of long ones moves it within a few
     * batches. For the most they can take, each costs what the last events taken cost on average,
     * each at its own length, long prompts in their share: at the median, 59 records of a stream with
     * a tenth of long prompts read as needing at most 5.3 s, and a lag of 41 s was held as their age
     * while it grew to the limit (a hostile test).
     */
    private long drainMs(int atLevel, Counted counted, Price price) {
        double ms = 0;
        long unread = 0;
        for (Waiting at : waiting.values()) {
            ms += storedMs(at, atLevel, counted, price);
            unread += at.unread(inputEnds).orElse(0);
        }
        return Math.round(ms + (unread > 0 ? unreadMs(unread, atLevel, counted, price) : 0));
    }

    /**
     * The engine time of {@code unread} records not read yet. At the recent price, each as long as
     * the median event. At the slowest, what that many of the last events taken would cost, each at
     * its own length and each call in its share, on average and two standard deviations of their sum
     * over it: the mean is a good figure for many records and a poor bound for a few, and a step up
     * said a stream with a tenth of long prompts needed "at most 9041 ms" where a sampled long
     * prompt not yet read took 26.4 s, and 3 events were published over the limit (a hostile test).
     */
    private double unreadMs(long unread, int atLevel, Counted counted, Price price) {
        if (price == Price.RECENT || recentlyTaken.isEmpty()) {
            double each = unreadTokensEach();
            return unread * each * msPerToken(work(Optional.empty(), atLevel, counted), each, price);
        }
        RecordCost cost = recordCost(atLevel, counted, price);
        return unread * cost.meanMs() + 2 * cost.deviationMs() * Math.sqrt(unread);
    }

    /** What one record costs, as the last events taken say: the mean and the standard deviation. */
    private record RecordCost(double meanMs, double deviationMs) {}

    /**
     * What one record costs at a level, as drains count them: a forced one, in the forced share of
     * the events taken, as the last forced events were, each at its length; another as the last
     * others were, each length at each call of the level in its share (a call skipped costs
     * nothing, in its share). A kind with no recent events is taken to be as long as all the last
     * events taken.
     */
    private RecordCost recordCost(int atLevel, Counted counted, Price price) {
        double forcedShare = forcedShare();
        Work forced = work(Optional.of(AuditPolicy.Choice.FORCED), atLevel, counted);
        Work notForced = counted == Counted.FORCED ? Work.NONE : levelWork(atLevel);
        Moments ofForced = moments(forcedTakenLengths.isEmpty() ? recentlyTaken : forcedTakenLengths, forced, price);
        Moments ofOthers = moments(notForcedTakenLengths.isEmpty() ? recentlyTaken : notForcedTakenLengths, notForced, price);
        double mean = forcedShare * ofForced.meanMs() + (1 - forcedShare) * ofOthers.meanMs();
        double squares = forcedShare * ofForced.meanSquareMs2() + (1 - forcedShare) * ofOthers.meanSquareMs2();
        return new RecordCost(mean, Math.sqrt(Math.max(0, squares - mean * mean)));
    }

    /** The mean cost of an event, and the mean of its square (ms squared). */
    private record Moments(double meanMs, double meanSquareMs2) {}

    /** The moments of the cost of one of these events for this work. */
    private Moments moments(RecentLengths lengths, Work work, Price price) {
        double sum = 0;
        double squares = 0;
        for (Map.Entry<Integer, Integer> length : lengths.counts().entrySet()) {
            for (Map.Entry<Call, Double> share : work.shares().entrySet()) {
                double ms = length.getKey() * share.getKey().passes() * msPerPassToken(share.getKey(), length.getKey(), price);
                double weight = length.getValue() * share.getValue();
                sum += weight * ms;
                squares += weight * ms * ms;
            }
        }
        return new Moments(sum / lengths.size(), squares / lengths.size());
    }

    /**
     * How long the engine needs for the events in a source's batch store: each choice's events at
     * their own call and length. Priced at the shares of the events taken, a forced 512-token
     * prompt among six waiting records came out at 5% of a mean event, and a step up said they
     * needed at most 4.95 s; the prompt alone took 23.5 s (a hostile test).
     */
    private double storedMs(Waiting at, int atLevel, Counted counted, Price price) {
        return at.stored().stream().mapToDouble(events -> events.tokens() * msPerToken(work(events.choice(), atLevel, counted), events.tokensEach(), price))
                .sum();
    }

    /** The engine time per token of this work, for events of {@code tokensPerEvent} tokens. */
    private double msPerToken(Work work, double tokensPerEvent, Price price) {
        return work.shares().entrySet().stream()
                .mapToDouble(share -> share.getValue() * share.getKey().passes() * msPerPassToken(share.getKey(), tokensPerEvent, price)).sum();
    }

    /** The tokens each record not read yet is taken to have: the median of the last events taken, else the recent batches' mean. */
    private double unreadTokensEach() {
        return medianTakenTokens >= 0 ? medianTakenTokens
                : (double) engineTimes.stream().mapToLong(EngineTime::tokens).sum() / Math.max(1, engineTimes.stream().mapToInt(EngineTime::events).sum());
    }

    /**
     * What a drain time was priced from, for the message of a step down it causes: a first burst
     * after a start was once priced at twice what such bursts took, and the message did not say why.
     */
    private String drainBasis() {
        long stored = waiting.values().stream().mapToLong(Waiting::storedEvents).sum();
        long unread = waiting.values().stream().mapToLong(at -> at.unread(inputEnds).orElse(0)).sum();
        double each = unreadTokensEach();
        String prices = workWithForced(level).shares().keySet().stream().sorted(java.util.Comparator.comparing(Call::toString))
                .map(call -> String.format(Locale.ROOT, "%.3f for %s", msPerPassToken(call, each, Price.RECENT), call))
                .collect(java.util.stream.Collectors.joining(", "));
        return String.format(Locale.ROOT, "%d in batch stores, %d not read yet, taken as %.0f tokens each, at the last batches' ms per token and pass:"
                + " %s", stored, unread, each, prices);
    }

    /** Takes one lag measurement of a single source (the service has one per task); returns the level after it. */
    public int observe(long lagMs) {
        return observe("", lagMs);
    }

    /**
     * Takes one lag measurement of a source; returns the level after it. It steps down when some
     * source's lag, over half the limit and moving as it has over the last dwell time, will be
     * over the limit two dwell times from now: one for this step to show, one for a further step
     * if this one is not enough. It steps down as far as {@link #levelFor} says that source's
     * growth needs: one level per dwell let the lag run past the limit whenever the capacity fell
     * faster than one level makes up (a loaded machine halving the engine's rate). It also steps
     * down, at once, when the waiting records need more engine time than the limit, to the first
     * level that explains them within it. It steps back up one level when every source's lag is
     * under half the limit, none grows, and the level above would explain the waiting records
     * within half the limit.
     */
    public int observe(String source, long lagMs) {
        return observe(source, lagMs, 0);
    }

    /**
     * One lag measurement of a source, and the engine time its batch is expected to take
     * ({@code batchMs}): the lag it will be published at is their sum. The lag's growth is measured
     * on the records' own lag: measured on the sum, every slow batch among fast ones (forced events
     * of long prompts at the configured steps, 4 s against 50 ms) read as seconds of growth per
     * second, and sent the service to the top level (a hostile test saw 0.7 to 2.1 s per s while the
     * published lag grew at most 0.2).
     */
    private int observe(String source, long lagMs, long lastBatchMs) {
        if (!enabled()) {
            return level;
        }
        long batchMs = nextBatchMs(source, lastBatchMs);
        long now = clock.millis();
        sources.computeIfAbsent(source, s -> new LagSeries()).add(now, lagMs, dwellMs);
        sampleEnds(now);
        forcedLoad = forcedEngineLoad(now).orElse(-1);
        long drainMs = drainMs(level);
        projectedDrainMs = drainMs;
        long lastWaitedMs = lastArrivalWaitedMs(now);
        if (now - lastChangeMs < dwellMs) {
            // A step down for the waiting work needs no dwell time for the lag to show it: the work
            // is priced at every batch. A quarter of it lets the new level's first batches price
            // their kind of call. Held for the dwell time, a burst under a CPU hog priced at the
            // engine's speed before the hog was stepped again only 10 s later, and was published
            // over the limit (a hostile test).
            if (now - lastChangeMs >= dwellMs / 4 && drainsOverTheLimit(drainMs, lastWaitedMs)) {
                change(levelToDrain(lastWaitedMs), drainWhy(drainMs, lastWaitedMs), now);
            }
            return level;
        }
        long slowestDrainMs = slowestDrainMs(level);
        long limit = policy.maxLagMs();
        long horizonMs = 2 * dwellMs;
        // With every waiting record counted, no lag grows for longer than the engine needs for them
        // all: a burst's oldest record waits 1 s more each second, but only until the burst is explained.
        // Every source that has a lag and every one that has started: a task not ticked yet has records too.
        boolean allCounted = slowestDrainMs >= 0 && sources.keySet().stream().allMatch(waiting::containsKey)
                && waiting.values().stream().allMatch(at -> at.unread(inputEnds).isPresent());
        // Every waiting record counted, and the engine explains them all, forced ones at the
        // configured method, within a quarter of the limit at this level: a lower level would then
        // publish them at most that much sooner, and a lag over half the limit is mostly the
        // records' age, which no level takes back: records that came old (a mirror of a topic with
        // history, a producer that stamps old times, records that waited out a stopped instance),
        // or the last of a backlog. While records arrive faster than the engine explains them, the
        // drain is longer than the oldest record's wait (drain / lag = arrival rate / capacity), so
        // this holds no overload. One hour-old record among fresh ones sent the service to the top
        // level, and a mirror's records, all an hour old, would have held it there.
        long drainWithForcedMs = slowestDrainWithForcedMs(level);
        boolean drainsFast = allCounted && drainWithForcedMs * MARGIN <= limit / 4;
        // The same at the level above: a lag over half the limit that is the records' age does not
        // hold a step up either, or a service degraded by a backlog and then fed only records that
        // came old stayed degraded for as long as they came.
        boolean drainsFastAbove = level > 0 && allCounted && slowestDrainWithForcedMs(level - 1) * MARGIN <= limit / 4;
        // A lag over the limit that does not grow, where no level would publish the waiting records
        // more than a quarter of the limit sooner, is the wait of records that no level takes back: a
        // batch of forced events at the configured method, or an outage before a restart. Judged by
        // the most the records could take at this level alone (drainsFast), a forced long prompt
        // among the last events taken, counted at its share among the records not read yet, made
        // that more than a quarter of the limit at every level, and the lag's rule stepped one level
        // for a lag that did not grow (a hostile test: 4 -> 5 at 63.5 s, where the 64 records
        // waiting needed 1.8 s, "at most 50297 ms" at that level and about as much at the top).
        long topSavesMs = allCounted ? slowestDrainWithForcedMs(level) - slowestDrainWithForcedMs(levels.size() - 1) : Long.MAX_VALUE;
        boolean noStepSavesMuch = topSavesMs * MARGIN <= limit / 4;
        boolean heldOverTheLimit = false;
        LagSeries worst = null;
        long worstExpectedMs = Long.MIN_VALUE;
        boolean allUnderHalf = true;
        boolean agedOverHalf = false;
        // Whether some lag over half the limit grows (a lag that holds there is kept up with).
        boolean growingOverHalf = false;
        // The longest lag any source will be published at: what the messages about the age name (the
        // lag of this measurement's source, 0 for an empty store, read "input lag 0 ms is over half").
        long longestPublishedMs = 0;
        // The longest lag now: the next batch is in the waiting records' drain at each level tried.
        long longestLagMs = 0;
        for (LagSeries series : sources.values()) {
            double growth = growth(series);
            long growthMs = Math.round(growth * horizonMs);
            long publishedMs = series.last() + batchMs;
            long expectedMs = publishedMs + (allCounted ? Math.min(growthMs, slowestDrainMs) : growthMs);
            agedOverHalf |= drainsFast && publishedMs > limit / 2;
            longestPublishedMs = Math.max(longestPublishedMs, publishedMs);
            longestLagMs = Math.max(longestLagMs, series.last());
            boolean waitedOverTheLimit = growth <= 0 && noStepSavesMuch && publishedMs > limit;
            heldOverTheLimit |= waitedOverTheLimit;
            if (!drainsFast && !waitedOverTheLimit && series.known(dwellMs) && publishedMs > limit / 2 && expectedMs > limit
                    && expectedMs > worstExpectedMs) {
                worst = series;
                worstExpectedMs = expectedMs;
            }
            allUnderHalf &= publishedMs < limit / 2 && growth <= 0;
            growingOverHalf |= series.known(dwellMs) && publishedMs > limit / 2 && growth > 0;
        }
        if (LOG.isDebugEnabled()) {
            // What each decision below reads, for an operator who asks why the level did or did not move.
            LagSeries at = sources.get(source);
            OptionalDouble need = arrivalsLoad(level, Price.RECENT);
            LOG.debug(String.format(Locale.ROOT, "lag of %s: %d ms as published, %.2f s per s over %s; %d records wait, %d ms at level %d"
                    + " (at most %d)%s; %s", source, at.last() + batchMs, growth(at), at.known(dwellMs) ? "the dwell time" : "less than it",
                    waitingRecords(), drainMs, level, drainWithForcedMs, allCounted ? "" : ", not all counted", need.isEmpty() ? "arrivals not known"
                            : String.format(Locale.ROOT, "%.1f records per s arrive, needing %.2f s per s here", arrivingPerSecond().orElse(0),
                                    need.getAsDouble())));
        }
        if (worst != null && level == levels.size() - 1
                && (warnedAtTop == TopWarning.NONE || warnedAtTop == TopWarning.WITHOUT_THE_FORCED_LOAD && forcedLoad >= 0)) {
            warnAtTop(worst.last() + batchMs, worstExpectedMs);
        }
        int next = level;
        String why = null;
        if (worst != null && level < levels.size() - 1) {
            double growth = growth(worst);
            next = levelFor(growth);
            OptionalInt keepsUp = allCounted ? levelKeepingUp(worst.last(), next) : OptionalInt.empty();
            OptionalInt least = allCounted && keepsUp.isEmpty() ? levelNeedingLeast(next) : OptionalInt.empty();
            OptionalInt nearTop = allCounted && keepsUp.isEmpty() && least.isEmpty() ? levelKeepingUpDrainingNearTheTop(next) : OptionalInt.empty();
            next = keepsUp.orElse(least.orElse(nearTop.orElse(next)));
            why = String.format(Locale.ROOT, "input lag %d ms is %s by %.1f s per s, %d ms in %d ms%s, over", worst.last() + batchMs,
                    growth >= 0 ? "growing" : "falling only", Math.abs(growth), worstExpectedMs, horizonMs, keepsUp.isPresent()
                            ? String.format(Locale.ROOT, " (level %d explains the %.1f input records arriving per second and the %d waiting within"
                                    + " the limit)", next, arrivingPerSecond().orElse(0), waitingRecords())
                            : least.isPresent() ? " (" + noLevelKeepsUp(next) + ")"
                                    : nearTop.isPresent() ? String.format(Locale.ROOT, " (no level publishes the %d waiting within the limit; level %d"
                                            + " explains the %.1f input records arriving per second and drains them within a quarter of the limit of"
                                            + " the top level)", waitingRecords(), next, arrivingPerSecond().orElse(0)) : "");
        } else if (allCounted && !drainsFast && growingOverHalf && level < levels.size() - 1) {
            // The arrivals' need, not the lag's growth, says this level falls behind: while the engine
            // is in a long batch no lag is measured, and the growth showed only at 48.7 s of a 60 s
            // limit, too late for any level but the top to publish what waits within it (a hostile
            // test's rerun: 60 of 160 events skipped, where 12 steps kept up).
            OptionalDouble need = arrivalsLoad(level, Price.RECENT);
            boolean fallsBehind = need.isPresent() && need.getAsDouble() * MARGIN > 1;
            OptionalInt keepsUp = fallsBehind ? levelKeepingUp(longestLagMs, levels.size()) : OptionalInt.empty();
            OptionalInt least = fallsBehind && keepsUp.isEmpty() ? levelNeedingLeast(levels.size()) : OptionalInt.empty();
            if (keepsUp.isPresent() || least.isPresent()) {
                next = keepsUp.orElse(least.orElse(next));
                why = String.format(Locale.ROOT, "input lag %d ms is over half the limit and growing, and the %.1f input records arriving per second need %.2f s"
                        + " of engine time per second at audit level %d (%s),", longestPublishedMs, arrivingPerSecond().orElse(0), need.getAsDouble(), level,
                        keepsUp.isPresent() ? String.format(Locale.ROOT, "level %d explains them and the %d waiting within the limit", next, waitingRecords())
                                : noLevelKeepsUp(next));
            }
        }
        int toDrain = drainsOverTheLimit(drainMs, lastWaitedMs) ? levelToDrain(lastWaitedMs) : level;
        if (toDrain > next) {
            next = toDrain;
            why = drainWhy(drainMs, lastWaitedMs);
        }
        // Their age holds no step up, but a step up must not carry records that would be published
        // within the limit over it: a hostile test's step up with a lag of 56.3 s and 12.6 s of work
        // at the level above published the next 8 events over the 60 s limit.
        boolean carriesOver = drainsFastAbove && longestPublishedMs <= limit && longestPublishedMs + slowestDrainWithForcedMs(level - 1) > limit;
        if (why == null && (allUnderHalf || drainsFastAbove && !carriesOver) && level > 0 && slowestDrainMs(level - 1) < limit / 2) {
            Optional<String> shortfall = fallsShort(level - 1, now);
            String under = allUnderHalf ? String.format(Locale.ROOT, "input lag %d ms is under half of", longestPublishedMs)
                    : String.format(Locale.ROOT, "input lag %d ms is %s, but the input records waiting (%d) need at most %d ms of"
                            + " engine time at audit level %d, under a quarter of", longestPublishedMs,
                            longestPublishedMs > limit / 2 ? "over half the limit" : "growing", waitingRecords(), slowestDrainWithForcedMs(level - 1),
                            level - 1);
            if (shortfall.isEmpty()) {
                next = level - 1;
                why = under;
            } else if (!holding) {
                LOG.info("Audit level {} held: {} audit.max.lag.ms = {}, but {}", level, under, limit, shortfall.get());
                holding = true;
            }
        }
        // Said of the level only where it holds: said before the decision, "level held" came a
        // millisecond before a step up (a hostile test). Nor of a lag whose records are all
        // published: the measurement stays until the next batch, and "0 input records" were said to
        // be published over the limit.
        boolean held = next == level && waitingRecords() > 0;
        sayAged(held && agedOverHalf ? Aged.DRAINS_FAST : held && heldOverTheLimit ? Aged.NOT_GROWING : Aged.NO, longestPublishedMs,
                drainWithForcedMs, topSavesMs, forcedMsBetween(now - dwellMs, now));
        if (next != level) {
            change(next, why, now);
        }
        return level;
    }

    /**
     * Whether the last waiting record will be published over the limit (its wait so far plus the
     * drain), with a drain of more than a quarter of the limit, which a lower level could shorten.
     * Where the drain is shorter, the lag is mostly the records' age, as for the lag's own rule: the
     * last 34 records of a burst under a CPU hog, drained in 1.3 s after a wait of 64 s, sent the
     * service back to the top level it had just left (a hostile test).
     */
    private boolean drainsOverTheLimit(long drainMs, long lastWaitedMs) {
        long limit = policy.maxLagMs();
        return lastWaitedMs + drainMs > limit && drainMs * MARGIN > limit / 4 && level < levels.size() - 1 && pathsMeasured(level);
    }

    /**
     * Whether a path has run in the last five minutes, where the waiting records get one at this
     * level. Priced from one-pass calls, whose time per token is mostly their overhead, a path is
     * taken to cost 2 to 10 times what it does: a forced long prompt priced at the cheap method's
     * time per token and pass, before any path had run, was taken to need 57 s, took 27.7 s, and
     * sent the service to the top level 6 s after its start, 97 of 160 events skipped (a hostile
     * test). Its own batch prices it; the lag still steps meanwhile. (A one-pass call priced from
     * paths comes out cheaper than it is, and steps nothing down that it should not.)
     */
    private boolean pathsMeasured(int atLevel) {
        if (engineTimes.stream().anyMatch(batch -> !batch.call().onePass())) {
            return true;
        }
        java.util.stream.Stream<Work> works = java.util.stream.Stream.concat(java.util.stream.Stream.of(workWithForced(atLevel)),
                waiting.values().stream().flatMap(at -> at.stored().stream()).map(events -> work(events.choice(), atLevel, Counted.ALL)));
        return works.noneMatch(work -> work.shares().entrySet().stream().anyMatch(share -> share.getValue() > 0 && !share.getKey().onePass()));
    }

    /**
     * The engine time of the source's next batch: the last batch's, but no more than its stored
     * events take at their price. After one long prompt's batch (26 s), the short events behind it
     * were taken to wait 26 s more, their lag read as twice what it was, and a steady stream was
     * sent to the top level with a tenth of its events skipped (a hostile test).
     */
    private long nextBatchMs(String source, long lastBatchMs) {
        Waiting at = waiting.get(source);
        if (at == null || at.storedEvents() == 0 || engineTimes.isEmpty()) {
            return lastBatchMs;
        }
        return Math.min(lastBatchMs, Math.round(storedMs(at, level, Counted.ALL, Price.RECENT)));
    }

    /** Why the waiting work steps down: how many records wait, what their drain was priced from, and how long the last has waited. */
    private String drainWhy(long drainMs, long lastWaitedMs) {
        return String.format(Locale.ROOT, "%d input records wait (%s), %d ms of engine time at this level%s, over", waitingRecords(), drainBasis(),
                drainMs, lastWaitedMs > 0 ? String.format(Locale.ROOT, ", after the last of them has waited %d ms", lastWaitedMs) : "");
    }

    /** Goes to level {@code next}, logged once per change (not per batch) with why. */
    private void change(int next, String why, long now) {
        LOG.info("{} audit.max.lag.ms = {}: audit level {} -> {} ({})", why, policy.maxLagMs(), level, next,
                next == 0 ? "as configured" : levels.get(next).describe(cheapMethod()));
        level = next;
        lastChangeMs = now;
        holding = false;
        if (level < levels.size() - 1) {
            warnedAtTop = TopWarning.NONE;
        }
    }

    /** Why a lag over half the limit holds the level: no lag of a level's making. */
    private enum Aged {
        /** Not said: no such lag, or the level changes. */
        NO,
        /** The waiting records need at most a quarter of the limit, forced ones and long prompts in their share included. */
        DRAINS_FAST,
        /** The lag is over the limit and does not grow, and no level would publish the waiting records more than a quarter of the limit sooner. */
        NOT_GROWING
    }

    /**
     * Says once, until no lag is over half the limit with the waiting records draining fast, why
     * the level is held, so that an operator who sees the lag gauge over the limit with the level
     * at 0 knows why the service does not degrade.
     */
    private void sayAged(Aged aged, long lagMs, long drainMs, long topSavesMs, long forcedMs) {
        if (aged != Aged.NO && aged != saidAged) {
            boolean top = level == levels.size() - 1;
            // At the top level no level is lower, and a backlog under a CPU hog can be over the limit
            // with a short drain: the message said "records that came old" of such a backlog (a hostile test).
            String over = lagMs + drainMs > policy.maxLagMs()
                    ? String.format(Locale.ROOT, "; the last of them will be published at about %d ms, over the limit", lagMs + drainMs) : "";
            String why = aged == Aged.DRAINS_FAST
                    ? String.format(Locale.ROOT, "is over half of audit.max.lag.ms = %d, but the %d input records waiting need at most %d ms of engine"
                            + " time at audit level %d: %s", policy.maxLagMs(), waitingRecords(), drainMs, level,
                            top ? "the top level, no level is cheaper" : "a lower level would publish them at most that much sooner")
                    : String.format(Locale.ROOT, "is over audit.max.lag.ms = %d and %s, and the %d input records waiting need at most %d ms"
                            + " of engine time at audit level %d, %d ms more than at the top level, the most a lower level would publish them sooner",
                            policy.maxLagMs(), notGrowing(forcedMs), waitingRecords(), drainMs, level, topSavesMs);
            LOG.info("Input lag {} ms {}, and the rest of the lag is how long they waited before (the last of a backlog, a batch of forced events,"
                    + " which every level explains at the configured method, or records that came old: a mirror's or a producer's old timestamps,"
                    + " records that waited for a stopped instance); level held{}", lagMs, why, over);
        }
        saidAged = aged;
    }

    /**
     * How a lag held over the limit moves: its growth is measured less the engine time of batches of
     * forced events, so where there were some it rises while "not growing", and an operator watching
     * it rise by 25 s read "does not grow" as false (helper-77).
     */
    private String notGrowing(long forcedMs) {
        return forcedMs <= 0 ? "does not grow"
                : String.format(Locale.ROOT, "grows only while the engine is in batches of forced events (%d ms of the last %d ms), which every"
                        + " level explains at the configured method", forcedMs, dwellMs);
    }

    /**
     * The input records not yet explained, now: in the batch stores, and produced and not yet read
     * where the partition's end is known. Safe from any thread (the metrics read it while the stream
     * thread is in the engine, when the records that arrive are the ones to watch).
     */
    public long waitingRecords() {
        return waiting.values().stream().mapToLong(at -> at.storedEvents() + at.unread(inputEnds).orElse(0)).sum();
    }

    /**
     * The median tokens (prompt and response) of the last events taken into the batch stores: what
     * the traffic is mostly made of. -1 before the first, and with backlog control off.
     */
    public int medianTakenTokens() {
        return medianTakenTokens;
    }

    /**
     * Whether records of the source's partition may wait unread behind the one at {@code offset}
     * (one this source has read): more than one produced and not read as of the last end read
     * from the broker (one may be a transactional producer's commit marker, which is never read),
     * or no end read since that record was produced. At the start of a burst the end last read
     * comes before its first record, and what came behind it is not known until the next read
     * (every half second); counted as nothing, a long prompt first in a burst went while the short
     * events behind it were still unread, and they waited for its engine time (a hostile test).
     * False where the partition's end is not known (backlog control off, or no end read yet).
     */
    public boolean mayBeUnreadBehind(String source, long offset) {
        Waiting at = waiting.get(source);
        if (at == null || at.topic() == null) {
            return false;
        }
        OptionalLong end = inputEnds.endOffset(at.topic(), at.partition());
        if (end.isEmpty()) {
            return false;
        }
        // reads() is -1 where every call reads the end: then it is never older than a record read.
        boolean endReadBefore = inputEnds.reads() >= 0 && end.getAsLong() <= offset;
        return endReadBefore || at.unread(inputEnds).orElse(0) > 1;
    }

    /**
     * The first level below the current one at which the waiting records drain within the limit,
     * with {@link #MARGIN} to spare. Where none does (forced events, which every level explains at
     * the configured method, need more), the first whose drain is within a quarter of the limit of
     * the top level's: a level below it would publish them little sooner and degrade more for
     * nothing (a forced long prompt sent the service to the top level, where the level below the
     * configured one drained the rest within a second).
     */
    private int levelToDrain(long lastWaitedMs) {
        long[] drains = new long[levels.size()];
        for (int candidate = level + 1; candidate < levels.size(); candidate++) {
            drains[candidate] = drainMs(candidate);
            if (lastWaitedMs + drains[candidate] * MARGIN <= policy.maxLagMs()) {
                return candidate;
            }
        }
        long topMs = drains[levels.size() - 1];
        for (int candidate = level + 1; candidate < levels.size(); candidate++) {
            if (drains[candidate] <= topMs + policy.maxLagMs() / 4) {
                return candidate;
            }
        }
        return levels.size() - 1;
    }

    /**
     * How long the last record produced to a partition that has unread records has waited: since
     * its end offset last moved, as this controller saw it (0 where the end moves at every look, as
     * in a steady stream). The last waiting record is published when the drain ends, so its lag is
     * this plus the drain: a burst that waited 16 s was stepped down to a level that drains it
     * within the limit from now, and published over it (a hostile test, one level at a time).
     */
    private long lastArrivalWaitedMs(long now) {
        long waited = 0;
        for (Waiting at : waiting.values()) {
            if (at.topic() == null) {
                continue;
            }
            OptionalLong end = inputEnds.endOffset(at.topic(), at.partition());
            if (end.isEmpty()) {
                continue;
            }
            long[] since = endsSince.compute(at.topic() + "-" + at.partition(),
                    (partition, seen) -> seen != null && seen[0] == end.getAsLong() ? seen : new long[] {end.getAsLong(), now});
            if (at.unread(inputEnds).orElse(0) > 0) {
                waited = Math.max(waited, now - since[1]);
            }
        }
        return waited;
    }

    /**
     * The first level below the current one cheap enough for the lag to fall. A lag growing g s
     * per s means the service explains 1 − g of what arrives, so it must explain 1 / (1 − g)
     * times faster to keep up, and {@link #MARGIN} more; without
     * growth (over the limit but steady) that is one level. The top when none is cheap enough.
     * The levels' costs per record are priced as the drain is, forced records included (a level of
     * the cheap method is not 1/steps of the configured one: its one pass costs several path
     * points), or before any batch by their shares of the configured passes.
     */
    private int levelFor(double growth) {
        double speedup = MARGIN / (1 - Math.min(MAX_GROWTH, Math.max(0, growth)));
        double budget = costPerRecord(level) / speedup;
        for (int candidate = level + 1; candidate < levels.size(); candidate++) {
            if (costPerRecord(candidate) <= budget) {
                return candidate;
            }
        }
        return levels.size() - 1;
    }

    /**
     * A source's lag growth over the dwell time, less the engine time of batches of forced events
     * only within it: every record waits while the engine is in one, and forced events get the
     * configured method at every level, so no step takes that wait back. Read as growth, one forced
     * long prompt's 14.5 s was 1.00 s per s and sent the service to the top level, where the level
     * it was at needed 0.40 s of engine time per second (a hostile test: 48 events skipped).
     */
    private double growth(LagSeries series) {
        return series.slopeLess(dwellMs, this::forcedMsBetween);
    }

    /** The engine time of batches of forced events only between {@code fromMs} and {@code toMs}. */
    private long forcedMsBetween(long fromMs, long toMs) {
        long ms = 0;
        for (long[] run : forcedRuns) {
            ms += Math.max(0, Math.min(run[0], toMs) - Math.max(run[0] - run[1], fromMs));
        }
        return ms;
    }

    /**
     * The first level below the current one, and above the growth's, at which the records arriving
     * need at most 1/{@link #MARGIN} of the engine's time, each at what the last events taken cost on
     * average at that level (long prompts in their share, at the slowest recent price), and the
     * waiting records, at the most they can take, are published within the limit after a lag of
     * {@code lagMs} (the lag now: the next batch is among the waiting records; taken at the lag it
     * would be published at with that batch at the current level, a long prompt's 20 s there was
     * counted twice, and ruled out every level but the top); empty where the arrival rate is not
     * known or no such level is milder. A lag's growth measured across one long batch reads as about
     * 1 s per s (every record waits while the engine is in it): a stream with a tenth of long
     * prompts, which 25 steps kept up with, was stepped to the top level and 55 of its 160 events
     * were skipped (a hostile test's rerun).
     */
    private OptionalInt levelKeepingUp(long lagMs, int below) {
        for (int candidate = level + 1; candidate < below; candidate++) {
            OptionalDouble need = arrivalsLoad(candidate, Price.SLOWEST);
            if (need.isEmpty()) {
                return OptionalInt.empty();
            }
            if (need.getAsDouble() * MARGIN <= 1 && lagMs + slowestDrainWithForcedMs(candidate) * MARGIN <= policy.maxLagMs()) {
                return OptionalInt.of(candidate);
            }
        }
        return OptionalInt.empty();
    }

    /**
     * Where no level publishes the waiting records within the limit (the lag is past it already, or
     * a forced long prompt waits, which costs the same at every level), the first level below the
     * current one, and above {@code below}, that keeps up with the arrivals (as
     * {@link #levelKeepingUp}) and whose drain of the waiting records at the most is within a
     * quarter of the limit of the top level's: a lower one would publish them little sooner, and
     * degrade more for nothing. Empty where the rate is not known or none does. Before, the step
     * went by the lag's growth alone, across one long call about 1 s per s: to the top level, where
     * the configured level's arrivals needed 0.27 s of engine time per second (a hostile test).
     */
    private OptionalInt levelKeepingUpDrainingNearTheTop(int below) {
        long topDrainMs = slowestDrainWithForcedMs(levels.size() - 1);
        for (int candidate = level + 1; candidate < below; candidate++) {
            OptionalDouble need = arrivalsLoad(candidate, Price.SLOWEST);
            if (need.isEmpty()) {
                return OptionalInt.empty();
            }
            if (need.getAsDouble() * MARGIN <= 1 && slowestDrainWithForcedMs(candidate) <= topDrainMs + policy.maxLagMs() / 4) {
                return OptionalInt.of(candidate);
            }
        }
        return OptionalInt.empty();
    }

    /**
     * Where no level keeps up with the arrivals (forced events, which every level explains at the
     * configured method, need more of the engine than it has), the first level below the current
     * one, and above {@code below}, whose arrivals need at most {@link #LEAST_NEED_SLACK} of the
     * engine's time more than the top level's: the lag grows at every level, and a lower one would
     * slow that growth little and degrade more for nothing. Empty where the top level keeps up (by
     * its need; some level then does, or the waiting records decide) or the rate is not known.
     * Before it, a stream whose forced long prompts alone needed 1.2 s of engine time per second
     * was left at the configured level until the lag's growth projected over the limit, at 57 s of
     * 60, and then sent to the top level: 46 events published over the limit (a hostile test).
     */
    private OptionalInt levelNeedingLeast(int below) {
        OptionalDouble top = arrivalsLoad(levels.size() - 1, Price.SLOWEST);
        if (top.isEmpty() || top.getAsDouble() * MARGIN <= 1) {
            return OptionalInt.empty();
        }
        for (int candidate = level + 1; candidate < below; candidate++) {
            if (arrivalsLoad(candidate, Price.SLOWEST).orElse(Double.MAX_VALUE) <= top.getAsDouble() + LEAST_NEED_SLACK) {
                return OptionalInt.of(candidate);
            }
        }
        return OptionalInt.empty();
    }

    /** Why a level was chosen that does not keep up: none does. */
    private String noLevelKeepsUp(int chosen) {
        return String.format(Locale.ROOT, "no level keeps up with them: they need %.2f s of engine time per second at the top level, where the forced"
                + " events' part is the same at every level, and level %d needs at most %.1f s per s more", arrivalsLoad(levels.size() - 1, Price.SLOWEST)
                        .orElse(0), chosen, LEAST_NEED_SLACK);
    }

    /**
     * The engine seconds per second the records arriving need at a level: the arrival rate times
     * what the last events taken cost on average at that level, each at its own length (forced
     * ones at the configured method); empty where the rate is not known.
     */
    private OptionalDouble arrivalsLoad(int atLevel, Price price) {
        OptionalDouble arriving = arrivingPerSecond();
        if (arriving.isEmpty() || engineTimes.isEmpty() || recentlyTaken.isEmpty()) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(arriving.getAsDouble() * recordCost(atLevel, Counted.ALL, price).meanMs() / 1000);
    }

    /** A level's engine time per record, priced as the drain is; before any batch, its share of the configured passes. */
    private double costPerRecord(int atLevel) {
        return engineTimes.isEmpty() ? levels.get(atLevel).cost(fullSteps, fullPasses, policy)
                : msPerToken(workWithForced(atLevel), unreadTokensEach(), Price.RECENT);
    }

    /** The engine time the waiting records need at the current level, as estimated when a batch store last changed; -1 before the first measure. */
    public long projectedDrainMs() {
        return projectedDrainMs;
    }

    public AuditPolicy policy() {
        return policy;
    }

    public int level() {
        return level;
    }

    /** The highest level: the cheap method for all but forced events, unsampled ones skipped. */
    public int maxLevel() {
        return levels.size() - 1;
    }

    public boolean degraded() {
        return level > 0;
    }

    /** Whether an event of this choice is skipped where it enters, at the current level. */
    public boolean skips(AuditPolicy.Choice choice) {
        return skipsAt(level, choice);
    }

    private boolean skipsAt(int atLevel, AuditPolicy.Choice choice) {
        return choice == AuditPolicy.Choice.NOT_SAMPLED && (policy.cheapMethod() == AuditPolicy.CheapMethod.SKIP || levels.get(atLevel).skipNotSampled());
    }

    /** The skip reason label: not_sampled when the configuration skips them, backlog when the lag does. */
    public String skipReason() {
        return policy.cheapMethod() == AuditPolicy.CheapMethod.SKIP ? "not_sampled" : "backlog";
    }

    /** What an event of this choice gets at the current level. */
    public Tier tier(AuditPolicy.Choice choice) {
        return tierAt(level, choice);
    }

    private Tier tierAt(int atLevel, AuditPolicy.Choice choice) {
        Level current = levels.get(atLevel);
        return switch (choice) {
            case FORCED -> new Tier(Tier.Kind.FULL, Tier.Reason.FORCED, fullMethod, fullSteps);
            case NOT_SAMPLED -> new Tier(Tier.Kind.CHEAP, Tier.Reason.NOT_SAMPLED, cheapMethod(), 1);
            case SAMPLED -> current.cheapForSampled() ? new Tier(Tier.Kind.CHEAP, Tier.Reason.BACKLOG, cheapMethod(), 1)
                    : atLevel == 0 ? new Tier(Tier.Kind.FULL, Tier.Reason.SAMPLED, fullMethod, fullSteps)
                    : new Tier(Tier.Kind.FULL, Tier.Reason.BACKLOG, fullMethod, current.steps());
        };
    }

    private GradientMethod cheapMethod() {
        return policy.cheapMethod().methodOrDefault();
    }
}
