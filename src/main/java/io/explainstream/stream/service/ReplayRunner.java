package io.explainstream.stream.service;

import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.GradientMethod;
import io.explainstream.input.PlainNumber;
import io.explainstream.model.Checkpoint;
import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import io.explainstream.stream.config.TopicCollisions;
import io.explainstream.stream.replay.OutputRetention;
import io.explainstream.stream.replay.ReadTrail;
import io.explainstream.stream.replay.Replay;
import io.explainstream.stream.replay.ReplayLedger;
import io.explainstream.stream.replay.ReplayPlan;
import io.explainstream.stream.replay.ReplayRecord;
import io.explainstream.stream.replay.ReplayTerms;
import io.explainstream.stream.topology.Outcomes;
import io.explainstream.stream.topology.Scope;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-explains a time range of a topic and stops by itself: the service with its own application id
 * (derived from the replay id, so the live service's offsets and state are never touched), start
 * offsets committed from {@code offsetsForTimes}, stop offsets taken when the replay is planned.
 * It is finished only when every partition's committed offset has reached its stop offset and the
 * batch stores of every task are empty (read from the stores, not from a metric), so the last
 * partial batch is explained before it stops. Interrupted and run again with the same replay id,
 * it resumes from its committed offsets and its changelogged outcome counts; exactly-once makes
 * every event in range explained once.
 */
public final class ReplayRunner {

    /** Where a replay writes unless told otherwise; its dead letters go to this name with -dlq. */
    public static final String DEFAULT_OUTPUT_TOPIC = "explanations-replay";
    /** The longest application.id the service takes (ServiceConfig): the replay's is the base id, "-replay-" and the replay id. */
    private static final int APPLICATION_ID_LIMIT = 100;
    /** Beyond the session timeout, how long a killed run's member may take to be dropped. */
    private static final long MEMBER_GRACE_MS = 2_000;
    private static final Logger LOG = LoggerFactory.getLogger(ReplayRunner.class);
    private static final Duration CHECK_EVERY = Duration.ofMillis(500);
    /** How often a running replay's record gets its committed offsets. */
    private static final Duration SAVE_EVERY = Duration.ofSeconds(5);
    /**
     * Settings besides the model and the attribution's that decide which events are explained and
     * how: a replay id keeps them once it has explained anything. Batching, threads and the like
     * change only the speed.
     */
    private static final List<Setting> EXPLANATION_SETTINGS = List.of(Setting.MODEL_DTYPE, Setting.MODEL_ACCEPT, Setting.MODEL_OTHER,
            Setting.PROMPT_TOKEN_LIMIT, Setting.PROMPT_POLICY, Setting.RESPONSE_TOKEN_LIMIT, Setting.RESPONSE_POLICY, Setting.EVENT_BYTES_LIMIT,
            Setting.METADATA_ENTRIES_LIMIT, Setting.SAMPLE_RATE, Setting.REPLAY_OUT_OF_ORDER_MS,
            Setting.AUDIT_SAMPLE_RATE, Setting.AUDIT_SAMPLE_ALWAYS, Setting.AUDIT_CHEAP_METHOD, Setting.SUMMARY_TOP_K, Setting.REDACT);
    /** Of those, the ones whose values hold model names or metadata values, where case counts. */
    private static final Set<Setting> CASE_SENSITIVE = Set.of(Setting.MODEL_ACCEPT, Setting.AUDIT_SAMPLE_ALWAYS);

    /** Receives progress: records of the range done, the total, those done before this run, seconds elapsed in this run. */
    public interface Progress {
        void update(long done, long total, long doneBefore, double seconds);
    }

    /**
     * How a replay ended.
     *
     * @param finished every event in range explained, dead-lettered or skipped, and committed
     * @param recordsInRange records in the replay's offset ranges (some may be outside the time range)
     * @param explained events explained, over all runs of this replay
     * @param deadLettered events dead-lettered
     * @param skipped events skipped (other model, not sampled)
     * @param resumed this run continued an earlier one
     * @param seconds this run's duration
     * @param gaps parts of the range deleted by retention that this run found
     * @param skippedEarlier parts of the range that earlier runs of this replay skipped as gone, with
     *     --allow-gaps: missing from it as well
     * @param deletedWhileRunning parts of the range that retention deleted while this run went on,
     *     before it read them (its record keeps them as skipped)
     */
    public record Outcome(boolean finished, long recordsInRange, long explained, long deadLettered, long skipped, boolean resumed, double seconds,
            List<ReplayPlan.Gap> gaps, List<ReplayPlan.Gap> skippedEarlier, List<ReplayPlan.Gap> deletedWhileRunning) {

        /** Whether part of the range is missing from the replay: gone when it started, skipped by an earlier run, or deleted while it ran. */
        public boolean missesRecords() {
            return !gaps.isEmpty() || !skippedEarlier.isEmpty() || !deletedWhileRunning.isEmpty();
        }

        /** Events of the time range the replay has accounted for: each explained, dead-lettered or skipped once. */
        public long eventsInRange() {
            return explained + deadLettered + skipped;
        }
    }

    private ReplayRunner() {}

    /**
     * The replay's configuration: its own application id, the chosen topics; everything else
     * (model, attribution settings, security) as in {@code base}.
     *
     * @param outputTopic null for the default {@code explanations-replay}
     */
    public static ServiceConfig configure(ServiceConfig base, Replay replay, String inputTopic, String outputTopic) {
        String baseId = base.streamsProperties().getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
        int room = APPLICATION_ID_LIMIT - applicationId(baseId, "").length();
        if (replay.id().length() > room) {
            // Said of the option the user gave: the application.id it makes, which the user never set, was named instead (a hostile test).
            throw new ConfigException("--replay-id = '" + replay.id() + "' is " + replay.id().length() + " characters; with application.id = " + baseId
                    + " at most " + Math.max(0, room) + " fit: the replay's application.id, " + applicationId(baseId, "<id>") + ", names its consumer group"
                    + " and internal topics and holds at most " + APPLICATION_ID_LIMIT);
        }
        String output = outputTopic != null ? outputTopic : DEFAULT_OUTPUT_TOPIC;
        Map<String, String> overrides = new HashMap<>();
        overrides.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId(baseId, replay));
        overrides.put(Setting.INPUT_TOPIC.key(), inputTopic != null ? inputTopic : base.get(Setting.INPUT_TOPIC));
        overrides.put(Setting.OUTPUT_TOPIC.key(), output);
        overrides.put(Setting.DLQ_TOPIC.key(), deadLetterTopic(output));
        ServiceConfig config = base.with(overrides);
        refuseNonOutput(base, config.get(Setting.INPUT_TOPIC), output);
        return config;
    }

    /**
     * A replay's explanations and dead letters go to topics that hold nothing else the service or
     * Kafka reads: written into the input topic they are read as events by every later replay of
     * the range and by a live service on it (and Kafka cannot delete single records), into an
     * internal topic they break what owns it (a replay into __consumer_offsets failed on every
     * try, for ever). The live explanations topic is allowed: it holds explanations.
     */
    private static void refuseNonOutput(ServiceConfig base, String input, String output) {
        String baseId = base.streamsProperties().getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
        for (String topic : List.of(output, deadLetterTopic(output))) {
            String named = topic.equals(output) ? "--output-topic = " + output : "--output-topic = " + output + " (its dead letters go to " + topic + ")";
            String what = null;
            if (topic.equals(input) || topic.equals(base.get(Setting.INPUT_TOPIC))) {
                what = "the input topic of " + (topic.equals(input) ? "this replay" : "the live service") + ": every later replay of the range, and a live"
                        + " service reading it, would take the explanations for events, and Kafka cannot delete single records";
            } else if (List.of(Setting.DLQ_TOPIC, Setting.STATS_TOPIC, Setting.ALERTS_TOPIC).stream().anyMatch(s -> base.get(s).equals(topic))) {
                what = "a topic of the live service that holds other records (" + Setting.DLQ_TOPIC.key() + ", " + Setting.STATS_TOPIC.key() + " or "
                        + Setting.ALERTS_TOPIC.key() + ")";
            } else if (topic.equals(ReplayLedger.topicOf(baseId))) {
                what = "where the replays' records are kept";
            } else if (topic.startsWith("_")) {
                what = "an internal topic of Kafka or of the schema registry";
            } else if (topic.endsWith("-changelog") || topic.endsWith("-repartition")) {
                what = "an internal topic of Kafka Streams";
            }
            if (what != null) {
                throw new ConfigException(named + " is " + what + "; give a topic for explanations (default " + DEFAULT_OUTPUT_TOPIC + ")");
            }
        }
    }

    /** Where a replay writing its explanations to {@code outputTopic} writes its dead letters. */
    public static String deadLetterTopic(String outputTopic) {
        return outputTopic + "-dlq";
    }

    static String applicationId(String baseId, Replay replay) {
        return applicationId(baseId, replay.id());
    }

    private static String applicationId(String baseId, String replayId) {
        return baseId + "-replay-" + replayId;
    }

    /**
     * The terms replay {@code replayId} was run with under {@code base}'s application.id (its range
     * and output topic among them); empty when it has none there: never run under that
     * application.id, or finished with nothing in range.
     */
    public static Optional<ReplayTerms> recordedTerms(ServiceConfig base, String replayId) {
        return recorded(base, replayId).map(ReplayRecord::terms);
    }

    /**
     * What is recorded of replay {@code replayId} under {@code base}'s application.id: its record in
     * the replays topic, or for a replay run before records were kept, the terms its groups' offsets
     * keep (with no stop offsets or bound); empty when it has none there, or finished with nothing in range.
     */
    public static Optional<ReplayRecord> recorded(ServiceConfig base, String replayId) {
        Optional<ReplayRecord> record;
        try (ReplayLedger ledger = ledger(base, baseId(base))) {
            record = ledger.read(replayId);
        }
        if (record.isPresent()) {
            return record.filter(r -> !r.released());
        }
        return ReplayPlan.legacyTerms(clientConfig(base), applicationId(baseId(base), replayId))
                .map(terms -> ReplayRecord.starting(terms, Map.of(), OptionalLong.empty()).withSkipsUnknown().withFinish(ReplayRecord.Finish.UNKNOWN));
    }

    private static String baseId(ServiceConfig base) {
        return base.streamsProperties().getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
    }

    /** The replays topic of the service whose application.id is {@code baseId}. */
    private static ReplayLedger ledger(ServiceConfig config, String baseId) {
        return new ReplayLedger(clientConfig(config), ReplayLedger.topicOf(baseId), (short) config.integer(Setting.TOPICS_REPLICATION));
    }

    /** The replays topic of a replay's configuration ({@link #configure}): its base application.id's. */
    private static ReplayLedger ledger(ServiceConfig config, Replay replay) {
        String suffix = "-replay-" + replay.id();
        String group = group(config);
        return ledger(config, group.endsWith(suffix) ? group.substring(0, group.length() - suffix.length()) : group);
    }

    public static String group(ServiceConfig config) {
        return config.streamsProperties().getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
    }

    public static ReplayPlan plan(ServiceConfig config, Replay replay) {
        return ReplayPlan.make(clientConfig(config), config.get(Setting.INPUT_TOPIC), replay, config.replayOutOfOrderMs());
    }

    /**
     * Admits {@code planned} under the replay's terms ({@link ReplayPlan#admit}, which only reads):
     * what a run reads, and what --dry-run counts.
     *
     * @throws ConfigException when the replay id has explained events under other terms, or lost its
     *     progress, or its internal topics would collide with another's ({@link TopicCollisions})
     */
    public static ReplayPlan.Admission admit(ServiceConfig config, Path home, Replay replay, ReplayPlan planned) {
        String group = group(config);
        // One listing of the cluster's topics serves both checks.
        Set<String> topics = topics(config);
        TopicCollisions.requireNone(topics, group, "--replay-id = " + replay.id(), "another --replay-id");
        ReplayTerms terms = terms(config, home, replay).startingAt(planned.startOffsets());
        Optional<ReplayRecord> recorded;
        String ledgerTopic;
        try (ReplayLedger ledger = ledger(config, replay)) {
            recorded = ledger.read(replay.id());
            ledgerTopic = ledger.topic();
        }
        // The changelog of the replay's outcome counts, where it exists: the replay's application has run.
        Optional<String> countsChangelog = Optional.of(OutcomeChangelog.topicOf(group)).filter(topics::contains);
        return planned.admit(group, replay.id(), terms, recorded, ledgerTopic, countsChangelog);
    }

    /**
     * Refuses a replay id that is running now, in another process or on another host: two runs
     * share the consumer group and split its partitions, and each counted only its own (a hostile
     * test: one said "finished: 70 events in range" of 200, the other "(resumed)"). A run killed
     * moments ago stays a member until the session timeout drops it, so members are waited for
     * that long first: a resume right after a kill starts.
     *
     * @throws ConfigException when the group still has members after the session timeout
     */
    public static void requireNotRunning(ServiceConfig config, Replay replay) throws InterruptedException {
        String group = group(config);
        long deadline = System.nanoTime() + Duration.ofMillis(config.sessionTimeoutMs() + MEMBER_GRACE_MS).toNanos();
        boolean said = false;
        try (Admin admin = KafkaClients.admin(clientConfig(config))) {
            while (true) {
                List<String> hosts = members(admin, group);
                if (hosts.isEmpty()) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw new ConfigException("--replay-id = " + replay.id() + " is running now: its consumer group " + group + " has " + hosts.size()
                            + (hosts.size() == 1 ? " member" : " members") + " (" + String.join(", ", hosts) + "); two runs of one replay split its"
                            + " partitions and each counts only its own. Wait for that run to end, or stop it");
                }
                if (!said) {
                    LOG.info("replay {}: its consumer group {} has members ({}): waiting up to {} ms for them to leave (a run that was killed stays a"
                            + " member until the session timeout)", replay.id(), group, String.join(", ", hosts), config.sessionTimeoutMs() + MEMBER_GRACE_MS);
                    said = true;
                }
                Thread.sleep(CHECK_EVERY.toMillis());
            }
        }
    }

    /** The hosts of the group's members; none where the group is empty or does not exist. */
    private static List<String> members(Admin admin, String group) throws InterruptedException {
        try {
            return admin.describeConsumerGroups(List.of(group)).all().get(60, TimeUnit.SECONDS).get(group).members().stream()
                    .map(org.apache.kafka.clients.admin.MemberDescription::host).sorted().toList();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof org.apache.kafka.common.errors.GroupIdNotFoundException) {
                return List.of();
            }
            throw new IllegalStateException("cannot describe replay group " + group + ": " + e.getCause().getMessage(), e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("cannot describe replay group " + group + ": " + e, e);
        }
    }

    /** The cluster's topics. */
    private static Set<String> topics(ServiceConfig config) {
        try (Admin admin = KafkaClients.admin(clientConfig(config))) {
            return admin.listTopics().names().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot list the topics: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * Runs the replay until it is finished or {@code stopRequested}.
     *
     * @param allowGaps replay what is left when retention deleted part of the range; without it, such
     *     a replay does not start (its outcome lists the gaps, not finished)
     */
    public static Outcome run(ServiceConfig config, Path home, Replay replay, boolean allowGaps, Progress progress, BooleanSupplier stopRequested,
            Clock clock) throws Exception {
        ReplayPlan planned = plan(config, replay);
        String group = group(config);
        checkOutputs(config, replay, planned, clock);
        ReplayPlan.Admission found = admit(config, home, replay, planned);
        ReplayPlan plan = found.plan();
        // A part an earlier run skipped and the replay never got past is found again: it needs no --allow-gaps twice.
        List<ReplayPlan.Gap> gaps = found.record().notSkipped(plan.gaps(group, found));
        List<ReplayPlan.Gap> skippedEarlier = found.record().skipped();
        if (!gaps.isEmpty()) {
            LOG.warn("replay {}: part of the range is gone: {}", replay.id(), gaps);
            if (!allowGaps) {
                return new Outcome(false, plan.recordsInRange(), 0, 0, 0, false, 0, gaps, skippedEarlier, List.of());
            }
        }
        // The record keeps what this run skips, so that a later dry run or run lists it as missing, not read.
        ReplayPlan.Admission admitted = new ReplayPlan.Admission(plan, found.record().withSkipped(gaps), found.fresh(), found.restore());
        requireNotRunning(config, replay);
        try (ReplayLedger ledger = ledger(config, replay)) {
            admitted.restore().ifPresent(offsets -> LOG.warn("replay {}: its consumer group {} has no offsets (Kafka deletes an idle group's offsets after"
                    + " offsets.retention.minutes, and a deleted topic's); it resumes from those its record on {} kept", replay.id(), group, ledger.topic()));
            plan.prepare(group, replay.id(), admitted, ledger);
            return run(config, home, replay, plan, admitted, ledger, progress, stopRequested, clock, gaps, skippedEarlier);
        }
    }

    private static Outcome run(ServiceConfig config, Path home, Replay replay, ReplayPlan plan, ReplayPlan.Admission admitted, ReplayLedger ledger,
            Progress progress, BooleanSupplier stopRequested, Clock clock, List<ReplayPlan.Gap> gaps, List<ReplayPlan.Gap> skippedEarlier)
            throws Exception {
        String group = group(config);
        boolean fresh = admitted.fresh();
        ProgressSaver saver = new ProgressSaver(replay.id(), admitted.record(), ledger);
        Map<Integer, Long> positions = plan.positions(group);
        long doneBefore = plan.done(positions);
        // Resumed where an earlier run read something: one that recorded its terms and stopped before reading (ops.port in use,
        // say) leaves nothing to resume, and the next run said "(resumed)" of a replay that had not begun (helper-78).
        boolean resumed = !fresh && doneBefore > 0;
        LOG.info("replay {}: {} records in range on {} partitions, {}", replay.id(), plan.recordsInRange(), plan.start().size(),
                !resumed ? "starting" : "resuming from committed offsets (" + doneBefore + " records read before; those still waiting in the batch store are explained first)");
        long started = System.nanoTime();
        boolean finished = false;
        Map<String, Long> counts = Map.of();
        // A resumed replay's progress starts at the outcomes of the earlier runs, read before the
        // service starts: its store answers only once restored, and by then the events left in the
        // batch store may be explained already, so the bar started late (132 where 80 were done).
        long accountedBefore = fresh ? -1
                : OutcomeChangelog.read(clientConfig(config), OutcomeChangelog.topicOf(group)).map(ReplayRunner::total).orElse(-1L);
        if (accountedBefore >= 0) {
            progress.update(accountedBefore, plan.recordsInRange(), accountedBefore, 0);
        }
        // Where the stream reads, to find records retention deletes ahead of it (its consumer moves past them without a word).
        ReadTrail trail = new ReadTrail(positions);
        UnreadParts unread = new UnreadParts(replay.id(), saver);
        MarkerTails markerTails = new MarkerTails();
        try (ExplainService service = ExplainService.start(config, home, Scope.replay(replay.withStopOffsets(plan.stopOffsets()), config.exactlyOnce(), trail),
                clock)) {
            while (!stopRequested.getAsBoolean()) {
                // With the oldest offsets left now: records retention deleted while the replay ran, before it read them, are never read.
                ReplayPlan.Standing standing = plan.standing(group);
                unread.note(standing.deletedIn(trail.drain()));
                positions = standing.positions();
                saver.offer(positions);
                long done = standing.plan().done(markerTails.passed(plan, positions));
                // Progress counts events with an outcome, as the last line does: committed offsets
                // run ahead of them (events wait in the batch store), all the way on a resume.
                Optional<Long> accounted = service.replayOutcomes().map(ReplayRunner::total);
                if (accounted.isPresent()) {
                    accountedBefore = accountedBefore < 0 ? accounted.get() : accountedBefore;
                    progress.update(accounted.get(), plan.recordsInRange(), accountedBefore, (System.nanoTime() - started) / 1e9);
                }
                if (done >= plan.recordsInRange() && service.state() == KafkaStreams.State.RUNNING) {
                    // Every record is read and its offset committed; the last events may still wait
                    // for their batch. Done when no store holds any.
                    Optional<Long> pending = service.pendingEvents();
                    // Read again, after the store is seen empty: the progress reading above may
                    // predate the last batch's outcomes.
                    Optional<Map<String, Long>> outcomes = service.replayOutcomes();
                    if (pending.isPresent() && pending.get() == 0 && outcomes.isPresent()) {
                        counts = outcomes.get();
                        finished = true;
                        // The bar ends full: every event in range has its outcome. Its total was
                        // the records between the start and stop offsets, which can hold records
                        // whose timestamps are outside the range.
                        progress.update(total(counts), total(counts), Math.max(0, accountedBefore), (System.nanoTime() - started) / 1e9);
                        break;
                    }
                }
                Thread.sleep(CHECK_EVERY.toMillis());
            }
            if (!finished) {
                counts = service.replayOutcomes().orElse(Map.of());
            }
        }
        if (!finished) {
            // The close committed the last batch: what it committed is in the store's changelog.
            counts = OutcomeChangelog.read(clientConfig(config), OutcomeChangelog.topicOf(group)).filter(read -> !read.isEmpty()).orElse(counts);
        }
        // The stream is closed: its last commit is in. Saved in any case, so that the record knows
        // where the replay stopped should the group's offsets be deleted before it resumes; a save
        // that fails leaves the outcome as it is (the group's offsets hold it too), and says so.
        try {
            ReplayPlan.Standing last = plan.standing(group);
            unread.note(last.deletedIn(trail.drain()));
            if (finished) {
                // Every record it read is below its committed offsets now: below the oldest offsets
                // left, the rest went unread (a partition emptied to its end shows no jump).
                unread.note(last.deletedUnread());
                saver.finish();
            }
            saver.save(last.positions());
        } catch (IllegalStateException e) {
            LOG.warn("replay {}: {}; its consumer group still holds where it stopped, until Kafka deletes the offsets of an idle group"
                    + " (offsets.retention.minutes)", replay.id(), e.getMessage());
        }
        if (finished && total(counts) == 0) {
            // Nothing explained, dead-lettered or skipped (a range with no events, a wrong date):
            // the id holds nothing, so it is freed to take other terms.
            try {
                plan.forget(group, replay.id(), saver.last(), ledger);
            } catch (IllegalStateException e) {
                LOG.warn("replay {} finished with no events; it keeps its terms, as its record or groups could not be changed: {}", replay.id(),
                        e.getMessage());
            }
        }
        return new Outcome(finished, plan.recordsInRange(), counts.getOrDefault(Outcomes.EXPLAINED, 0L), counts.getOrDefault(Outcomes.DEAD_LETTERED, 0L),
                counts.getOrDefault(Outcomes.SKIPPED, 0L), resumed, (System.nanoTime() - started) / 1e9, gaps, skippedEarlier, unread.parts());
    }

    /**
     * Partitions whose committed offset stays below the stop offset with nothing left there for the
     * stream to read but transaction markers and aborted records: Kafka Streams commits no offset
     * where it processes no record, so their offsets never reached the stop offsets and the replay
     * waited for ever. A partition is looked at once its committed offset has not moved between two
     * checks, once per offset (a partition with records left answers with one poll).
     */
    private static final class MarkerTails {

        private Map<Integer, Long> before = Map.of();
        /** Per partition, the committed offset from which nothing but markers and aborted records are left. */
        private final Map<Integer, Long> passed = new java.util.HashMap<>();
        private final java.util.Set<String> looked = new java.util.HashSet<>();

        /** The committed offsets, with those of partitions left only markers moved to their stop offsets. */
        Map<Integer, Long> passed(ReplayPlan plan, Map<Integer, Long> positions) {
            Map<Integer, Long> seen = new java.util.HashMap<>(positions);
            positions.forEach((partition, offset) -> {
                long stop = plan.stopOffsets().getOrDefault(partition, offset);
                if (offset < stop && offset.equals(before.get(partition)) && looked.add(partition + "@" + offset)
                        && plan.holdsNoRecordFrom(partition, offset)) {
                    passed.put(partition, offset);
                }
                if (offset.equals(passed.get(partition))) {
                    seen.put(partition, stop);
                }
            });
            before = positions;
            return seen;
        }
    }

    /** The parts of the range retention deleted while the replay ran, before it read them: reported, and recorded as skipped. */
    private static final class UnreadParts {

        private final String replayId;
        private final ProgressSaver saver;
        private final List<ReplayPlan.Gap> parts = new java.util.ArrayList<>();

        UnreadParts(String replayId, ProgressSaver saver) {
            this.replayId = replayId;
            this.saver = saver;
        }

        /** Adds what of {@code found} the record does not hold yet (found twice, or skipped knowingly at the start). */
        void note(List<ReplayPlan.Gap> found) {
            List<ReplayPlan.Gap> fresh = saver.last().notSkipped(found);
            if (!fresh.isEmpty()) {
                LOG.warn("replay {}: retention deleted part of the range while the replay ran, before it read it: {}", replayId, fresh);
                saver.skip(fresh);
                parts.addAll(fresh);
            }
        }

        List<ReplayPlan.Gap> parts() {
            return List.copyOf(parts);
        }
    }

    /**
     * Keeps the replay's record up to date with its committed offsets while it runs, at most every
     * {@link #SAVE_EVERY}: a replay killed, then left until its group's offsets are deleted,
     * resumes from its last save, and explains again what it read after (seconds of work).
     */
    private static final class ProgressSaver {

        private final String replayId;
        private final ReplayLedger ledger;
        private ReplayRecord last;
        /** System.nanoTime() of the last save (or try). */
        private long savedAt;

        ProgressSaver(String replayId, ReplayRecord started, ReplayLedger ledger) {
            this.replayId = replayId;
            this.ledger = ledger;
            this.last = started;
            this.savedAt = System.nanoTime();
        }

        /** Saves the offsets if they moved and the last save is old enough; a failed save is logged, and tried again later. */
        void offer(Map<Integer, Long> positions) {
            if (!positions.equals(last.doneOffsets()) && System.nanoTime() - savedAt >= SAVE_EVERY.toNanos()) {
                try {
                    save(positions);
                } catch (IllegalStateException e) {
                    savedAt = System.nanoTime();
                    LOG.warn("replay {}: {}; tried again in {} s", replayId, e.getMessage(), SAVE_EVERY.toSeconds());
                }
            }
        }

        void save(Map<Integer, Long> positions) {
            ReplayRecord record = last.withDone(positions);
            ledger.save(replayId, record);
            last = record;
            savedAt = System.nanoTime();
        }

        ReplayRecord last() {
            return last;
        }

        /** Keeps the replay as finished, with the next save (diff tells a comparison with an unfinished one). */
        void finish() {
            last = last.withFinish(ReplayRecord.Finish.FINISHED);
        }

        /** Keeps these parts of the range as skipped, with the next save. */
        void skip(List<ReplayPlan.Gap> gaps) {
            last = last.withSkipped(gaps);
        }
    }

    /**
     * Refuses a replay whose output topics would delete its oldest event's records by retention
     * ({@link OutputRetention}): before it reads anything or records its terms.
     */
    public static void checkOutputs(ServiceConfig config, Replay replay, ReplayPlan plan, Clock clock) {
        plan.firstRecordMs().ifPresent(first -> OutputRetention.check(clientConfig(config), outputs(config), first, replay.toMs(), clock.instant()));
    }

    /** The topics a replay writes: its explanations' and its dead letters'. */
    private static List<OutputRetention.Target> outputs(ServiceConfig config) {
        String output = config.get(Setting.OUTPUT_TOPIC);
        String deadLetters = config.get(Setting.DLQ_TOPIC);
        String fresh = "give --output-topic a topic that does not exist yet (a replay creates its topics keeping their records)";
        return List.of(new OutputRetention.Target(output, "--output-topic = " + output, fresh),
                new OutputRetention.Target(deadLetters, "dead letters' topic " + deadLetters + " (of --output-topic = " + output + ")", fresh));
    }

    /**
     * The replay's terms under {@code config}: its records, its output, and what decides an
     * explanation's numbers, as the service will read it. The model is named by its fingerprint
     * (the same folder with other weights is another model; the bundled model is the same by any
     * path), and values by what they mean ({@code 050} steps are 50).
     */
    static ReplayTerms terms(ServiceConfig config, Path home, Replay replay) {
        SortedMap<String, String> settings = new TreeMap<>();
        Path modelDir = config.modelDirectory(home);
        settings.put("model.fingerprint", Checkpoint.open(modelDir).fingerprint());
        settings.put(Setting.MODEL_ID.key(), config.modelId(modelDir));
        AttributionSettings attribution = config.attributionSettings();
        settings.put(Setting.METHOD.key(), attribution.method().optionName());
        if (attribution.method() == GradientMethod.INTEGRATED_GRADIENTS) {
            // With adaptive steps, the rule that integrates (which the explanations report): Gauss–Legendre
            // was refined as the trapezoid before this version and as Clenshaw–Curtis since, and a
            // replay begun under one must not resume under the other.
            settings.put(Setting.INTEGRATION.key(), (attribution.adaptive() ? attribution.adaptiveIntegration() : attribution.integration()).optionName());
            settings.put(Setting.STEPS.key(), Integer.toString(attribution.steps()));
            settings.put(Setting.BASELINE.key(), attribution.baseline().optionName());
            settings.put(Setting.TARGET_DELTA.key(), Double.toString(attribution.targetDelta()));
            if (attribution.targetDelta() > 0) {
                settings.put(Setting.MAX_STEPS.key(), Integer.toString(attribution.maxSteps()));
            }
        }
        settings.put(Setting.INCLUDE_BOS.key(), Boolean.toString(attribution.includeBos()));
        settings.put(Setting.TOKEN_MATRIX.key(), Boolean.toString(attribution.tokenMatrix()));
        settings.put(Setting.NORMALIZE.key(), attribution.normalization().optionName());
        EXPLANATION_SETTINGS.forEach(setting -> settings.put(setting.key(), meaning(config.get(setting), CASE_SENSITIVE.contains(setting))));
        return new ReplayTerms(config.get(Setting.INPUT_TOPIC), config.get(Setting.OUTPUT_TOPIC), replay.fromMs(), replay.toMs(), settings,
                new TreeMap<>());
    }

    /** A setting's value as it is read: numbers by value (050 is 50, 0.50 is 0.5), choices in any case. */
    private static String meaning(String value, boolean caseSensitive) {
        String text = value.strip();
        if (PlainNumber.isDecimal(text)) {
            try {
                BigDecimal number = new BigDecimal(text).stripTrailingZeros();
                // As written for people (500, not 5E+2), unless its exponent would write a long run of zeros.
                return Math.abs(number.scale()) <= 30 ? number.toPlainString() : number.toString();
            } catch (NumberFormatException | ArithmeticException e) {
                return text; // an exponent past an int's range: refused where the setting is read
            }
        }
        return caseSensitive ? text : text.toLowerCase(Locale.ROOT);
    }

    private static long total(Map<String, Long> counts) {
        return counts.values().stream().mapToLong(Long::longValue).sum();
    }

    private static Map<String, Object> clientConfig(ServiceConfig config) {
        return new HashMap<>(config.clientSettings());
    }
}
