package io.explainstream.stream;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-explains a time range of a topic and stops by itself: the service with its own application id
 * (derived from the replay id, so the live service's offsets and state are never touched), start
 * offsets committed from {@code offsetsForTimes}, done when every partition has passed the range
 * and no event waits in the batch store. Interrupted and run again with the same replay id, it
 * resumes from its committed offsets; exactly-once makes every event in range explained once.
 */
public final class ReplayRunner {

    private static final Logger LOG = LoggerFactory.getLogger(ReplayRunner.class);
    private static final Duration CHECK_EVERY = Duration.ofMillis(500);

    /** Receives progress: records of the range done, the total, seconds elapsed. */
    public interface Progress {
        void update(long done, long total, double seconds);
    }

    /** How a replay ended. */
    public record Outcome(boolean finished, long recordsInRange, boolean resumed, double seconds) {}

    private ReplayRunner() {}

    /**
     * The replay's configuration: its own application id, the chosen topics; everything else
     * (model, attribution settings, security) as in {@code base}.
     *
     * @param outputTopic null for the default {@code explanations-replay}
     */
    public static ServiceConfig configure(ServiceConfig base, Replay replay, String inputTopic, String outputTopic) {
        String baseId = base.streamsProperties().getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
        String output = outputTopic != null ? outputTopic : "explanations-replay";
        Map<String, String> overrides = new HashMap<>();
        overrides.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId(baseId, replay));
        overrides.put(Setting.INPUT_TOPIC.key(), inputTopic != null ? inputTopic : base.get(Setting.INPUT_TOPIC));
        overrides.put(Setting.OUTPUT_TOPIC.key(), output);
        overrides.put(Setting.DLQ_TOPIC.key(), output + "-dlq");
        return base.with(overrides);
    }

    static String applicationId(String baseId, Replay replay) {
        return baseId + "-replay-" + replay.id();
    }

    public static ReplayPlan plan(ServiceConfig config, Replay replay) {
        return ReplayPlan.make(clientConfig(config), config.get(Setting.INPUT_TOPIC), replay);
    }

    public static Outcome run(ServiceConfig config, Path home, Replay replay, Progress progress, BooleanSupplier stopRequested, Clock clock)
            throws Exception {
        ReplayPlan plan = plan(config, replay);
        String group = config.streamsProperties().getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
        boolean fresh = plan.prepareGroup(group);
        LOG.info("replay {}: {} records in range on {} partitions, {}", replay.id(), plan.recordsInRange(), plan.start().size(),
                fresh ? "starting" : "resuming from committed offsets");
        long started = System.nanoTime();
        boolean finished = false;
        try (ExplainService service = ExplainService.start(config, home, replay, clock)) {
            long checksAtStart = service.metrics().pendingChecks();
            while (!stopRequested.getAsBoolean()) {
                long done = plan.done(group);
                progress.update(done, plan.recordsInRange(), (System.nanoTime() - started) / 1e9);
                // The store's count is trusted once the stream runs (restored) and has looked at it since.
                boolean storeChecked = service.state() == org.apache.kafka.streams.KafkaStreams.State.RUNNING
                        && service.metrics().pendingChecks() > checksAtStart + 1;
                if (done >= plan.recordsInRange() && storeChecked && service.metrics().pendingEvents() == 0) {
                    finished = true;
                    break;
                }
                Thread.sleep(CHECK_EVERY.toMillis());
            }
        }
        return new Outcome(finished, plan.recordsInRange(), !fresh, (System.nanoTime() - started) / 1e9);
    }

    private static Map<String, Object> clientConfig(ServiceConfig config) {
        Map<String, Object> clients = new HashMap<>();
        config.streamsProperties().forEach((key, value) -> clients.put(key.toString(), value));
        return clients;
    }
}
