package io.explainstream.stats;

import com.sun.net.httpserver.HttpHandler;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.schema.AuditAlert;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.ExplanationStats;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.DurationText;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import io.explainstream.stream.config.TimestampWindow;
import io.explainstream.stream.service.ServiceExtension;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The statistics sub-topology, added to the live service's topology so that it runs in the same
 * Kafka Streams instance (same application id, exactly once, changelogged state that standbys can
 * replicate, scaled out with the service):
 *
 * <pre>
 *   explanations ─┐
 *   dead letters ─┴→ observe → observations topic (keyed by group, event time)
 *                                   │
 *                                   ▼
 *                  windows [stats-windows, stats-open-windows, stats-alerts] → stats topic (ExplanationStats)
 *                                                                             → alerts topic (AuditAlert)
 * </pre>
 *
 * The explanations are read as committed records (exactly once reads read_committed), so a
 * replay's output topic or another service's can be aggregated the same way. The observations
 * topic regroups them by group, so that each window and group is aggregated by exactly one task.
 */
public final class StatsTopology implements ServiceExtension.Part {

    static final String SOURCE = "stats-explanations-and-dead-letters";
    static final String OBSERVE = "stats-observe";
    static final String OBSERVATIONS_SINK = "stats-observations-out";
    static final String OBSERVATIONS_SOURCE = "stats-observations-in";
    static final String WINDOWS = "stats-windows";

    private static final Logger LOG = LoggerFactory.getLogger(StatsTopology.class);

    private final StatsSettings settings;
    private final ServiceConfig config;

    private StatsTopology(StatsSettings settings, ServiceConfig config) {
        this.settings = settings;
        this.config = config;
    }

    /** The serializers and deserializers the sub-topology uses: production's, from the registry, in tests as well. */
    public record Codecs(Deserializer<Explanation> explanations, Deserializer<LlmInteraction> interactions, Serializer<ExplanationStats> stats,
            Serializer<AuditAlert> alerts) {

        /** The registry's codecs; the stats and alerts subjects are registered (or checked) here, before anything runs. */
        public static Codecs of(SchemaRegistryClient registry, ServiceConfig config, StatsSettings settings) {
            ConfluentAvroSerializer<ExplanationStats> stats = new ConfluentAvroSerializer<>(registry, config.subjectStrategy(),
                    config.bool(Setting.AUTO_REGISTER), false);
            ConfluentAvroSerializer<AuditAlert> alerts = new ConfluentAvroSerializer<>(registry, config.subjectStrategy(),
                    config.bool(Setting.AUTO_REGISTER), false);
            try {
                stats.checkSubject(settings.statsTopic(), ExplanationStats.getClassSchema());
                alerts.checkSubject(settings.alertsTopic(), AuditAlert.getClassSchema());
            } catch (IllegalArgumentException e) {
                throw new ConfigException(e.getMessage(), e);
            }
            return new Codecs(ConfluentAvroDeserializer.specific(registry, Explanation.class),
                    ConfluentAvroDeserializer.specific(registry, LlmInteraction.class), stats, alerts);
        }
    }

    /**
     * Adds the statistics to the live service's topology when {@code stats.enabled}; every stats
     * setting and alert rule is checked here, and a bad one fails start naming its key.
     *
     * @return the added sub-topology (its topics and query handlers), empty when disabled
     */
    /** The statistics as an extension of the live service ({@code ExplainService.start}). */
    public static ServiceExtension extension() {
        return new ServiceExtension() {
            @Override
            public Optional<Part> addTo(Topology topology, ServiceConfig config, SchemaRegistryClient registry, MeterRegistry meters,
                    TimestampWindow accepted) {
                return StatsTopology.addTo(topology, config, registry, meters, accepted).map(added -> added);
            }

            /** The windows count the events skipped to stay within the budget beside those explained and dead-lettered. */
            @Override
            public boolean readsSkipNotices(ServiceConfig config) {
                return config.bool(Setting.STATS_ENABLED);
            }
        };
    }

    /** @param accepted the record timestamps the broker accepts on the topics it creates (read at start) */
    public static Optional<StatsTopology> addTo(Topology topology, ServiceConfig config, SchemaRegistryClient registry, MeterRegistry meters,
            TimestampWindow accepted) {
        StatsSettings settings = check(config);
        if (!config.bool(Setting.STATS_ENABLED)) {
            return Optional.empty();
        }
        addTo(topology, settings, Codecs.of(registry, config, settings), meters, accepted);
        return Optional.of(new StatsTopology(settings, config));
    }

    /**
     * The statistics' settings and alert rules, each bad one refused naming its key (and the
     * environment variable that set it); {@code run} calls this before it waits for a broker.
     */
    public static StatsSettings check(ServiceConfig config) {
        StatsSettings settings;
        try {
            settings = StatsSettings.from(config);
        } catch (ConfigException e) {
            throw config.withSource(e);
        }
        if (!config.bool(Setting.STATS_ENABLED) && !settings.rules().isEmpty()) {
            // Alert rules are tested on the statistics windows: without them a rule would never fire, and nobody would know.
            throw new ConfigException(Setting.STATS_ENABLED.key() + " = false, but alert rules are set (" + settings.rules().stream()
                    .map(rule -> ServiceConfig.ALERT_PREFIX + rule.name() + ".when").sorted().collect(java.util.stream.Collectors.joining(", "))
                    + "): alerts are computed from the statistics windows; enable the statistics or remove the rules");
        }
        return settings;
    }

    /** Adds the sub-topology with the given settings and codecs, on a broker that accepts any timestamp (what tests drive). */
    public static void addTo(Topology topology, StatsSettings settings, Codecs codecs, MeterRegistry meters) {
        addTo(topology, settings, codecs, meters, TimestampWindow.ANY);
    }

    /** @param accepted the record timestamps the broker accepts on the topics the statistics write */
    public static void addTo(Topology topology, StatsSettings settings, Codecs codecs, MeterRegistry meters, TimestampWindow accepted) {
        warnOfPerEventGroups(settings);
        StatsMetrics metrics = new StatsMetrics(meters);
        topology.addSource(SOURCE, Serdes.ByteArray().deserializer(), Serdes.ByteArray().deserializer(), settings.explanationsTopic(),
                settings.deadLetterTopic(), settings.skipNoticesTopic());
        topology.addProcessor(OBSERVE, () -> new ObserveProcessor(settings, codecs.explanations(), codecs.interactions(), metrics, accepted), SOURCE);
        topology.addSink(OBSERVATIONS_SINK, settings.observationsTopic(), Serdes.String().serializer(), Serdes.ByteArray().serializer(), OBSERVE);
        topology.addSource(OBSERVATIONS_SOURCE, Serdes.String().deserializer(), Serdes.ByteArray().deserializer(), settings.observationsTopic());
        topology.addProcessor(WINDOWS, () -> new WindowProcessor(settings, codecs.stats(), codecs.alerts(), metrics, accepted), OBSERVATIONS_SOURCE);
        Duration retention = settings.retention();
        // The window stores keep their changelog offsets in checkpoint files (CheckpointedWindowStore says why): an empty one
        // cannot keep it in RocksDB, and every clean restart then wiped the task under exactly once.
        topology.addStateStore(Stores.windowStoreBuilder(CheckpointedWindowStore.persistent(WindowProcessor.WINDOWS_STORE, retention, settings.window()),
                Serdes.String(), Serdes.ByteArray()).withLoggingEnabled(Map.of()), WINDOWS);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(WindowProcessor.OPEN_STORE), Serdes.String(), Serdes.Long())
                .withLoggingEnabled(Map.of()), WINDOWS);
        // Alerts are stored by the wall-clock time they fired at, for /api/alerts?since=.
        topology.addStateStore(Stores.windowStoreBuilder(CheckpointedWindowStore.persistent(WindowProcessor.ALERTS_STORE, retention, Duration.ofMillis(1)),
                Serdes.String(), Serdes.ByteArray()).withLoggingEnabled(Map.of()), WINDOWS);
        topology.addSink(WindowProcessor.STATS_SINK, settings.statsTopic(), Serdes.String().serializer(), Serdes.ByteArray().serializer(), WINDOWS);
        topology.addSink(WindowProcessor.ALERTS_SINK, settings.alertsTopic(), Serdes.String().serializer(), Serdes.ByteArray().serializer(), WINDOWS);
        // Past stats.max.groups, observations go back to the observations topic under the overflow group's key.
        topology.addSink(WindowProcessor.OVERFLOW_SINK, settings.observationsTopic(), Serdes.String().serializer(), Serdes.ByteArray().serializer(),
                WINDOWS);
    }

    /**
     * Allowed, since a short investigation may want it, but said once at start: the overflow
     * warning comes only when a window fills, long after the setting was chosen.
     */
    private static void warnOfPerEventGroups(StatsSettings settings) {
        List<String> perEvent = settings.groupBy().perEventFields();
        if (perEvent.isEmpty()) {
            return;
        }
        LOG.warn("stats: {} = {} groups by {}, which {} a value per event or per user: each window keeps up to {} = {} groups per task for {} = {}"
                + " (state, changelog and standbys), and the events of further groups count in the overflow group {}; group by what a dashboard"
                + " plots (model, application, tenant), see docs/auditing.md", Setting.STATS_GROUP_BY.key(), String.join(",", settings.groupBy().fields()),
                String.join(" and ", perEvent), perEvent.size() == 1 ? "has" : "have", Setting.STATS_MAX_GROUPS.key(), settings.maxGroups(),
                Setting.STATS_RETENTION.key(), DurationText.format(settings.retention()), settings.groupBy().overflow().text());
    }

    public StatsSettings settings() {
        return settings;
    }

    /**
     * Creates the observations and skip notices topics (always: the sub-topology cannot run without them, like Kafka
     * Streams' own internal topics) and, with topics.create, the stats and alerts topics, with
     * the partitions of topics the service creates.
     */
    @Override
    public void createTopics(Properties clientProperties) {
        List<String> wanted = new ArrayList<>(List.of(settings.observationsTopic(), settings.skipNoticesTopic()));
        if (config.bool(Setting.TOPICS_CREATE)) {
            wanted.addAll(List.of(settings.statsTopic(), settings.alertsTopic()));
        }
        int partitions = config.integer(Setting.TOPICS_PARTITIONS);
        short replication = (short) config.integer(Setting.TOPICS_REPLICATION);
        try (Admin admin = KafkaClients.admin(clientProperties)) {
            Set<String> existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
            List<NewTopic> missing = wanted.stream().distinct().filter(t -> !existing.contains(t))
                    .map(t -> new NewTopic(t, Optional.of(partitions), replication < 0 ? Optional.empty() : Optional.of(replication))).toList();
            if (!missing.isEmpty()) {
                admin.createTopics(missing).all().get(60, TimeUnit.SECONDS);
                LOG.info("created topics {}", missing.stream().map(NewTopic::name).toList());
            }
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new ConfigException("cannot create the statistics topics on " + clientProperties.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG) + ": "
                        + e.getCause().getMessage(), e.getCause());
            }
        } catch (InterruptedException | TimeoutException e) {
            throw new ConfigException("cannot reach the Kafka cluster at " + clientProperties.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG)
                    + " to create the statistics topics: " + e, e);
        }
    }

    /** {@code /api/stats} and {@code /api/alerts}, answered from the stores of {@code streams} (forwarded to the instance that holds a key). */
    @Override
    public Map<String, HttpHandler> handlers(KafkaStreams streams) {
        StatsQueries queries = new StatsQueries(streams, settings, config.streamsProperties().getProperty(StreamsConfig.APPLICATION_SERVER_CONFIG));
        return Map.of(StatsQueries.STATS_PATH, queries::stats, StatsQueries.ALERTS_PATH, queries::alerts);
    }
}
