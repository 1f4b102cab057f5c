package io.explainstream.stream.service;

import io.explainstream.attribution.AttributionCancelledException;
import io.explainstream.attribution.AttributionEngine;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.model.CpuThreads;
import io.explainstream.model.LlamaModel;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.stream.audit.AuditPolicy;
import io.explainstream.stream.audit.BacklogController;
import io.explainstream.stream.audit.InputEnds;
import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.KafkaClients;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import io.explainstream.stream.config.SinkTimes;
import io.explainstream.stream.config.TimestampWindow;
import io.explainstream.stream.config.TopicCollisions;
import io.explainstream.stream.config.TopicRetention;
import io.explainstream.stream.config.TopicTimes;
import io.explainstream.stream.ingest.EventValidator;
import io.explainstream.stream.ingest.InputDecoder;
import io.explainstream.stream.output.EngineExplainer;
import io.explainstream.stream.output.SourceTimestamp;
import io.explainstream.stream.topology.ExplainTopology;
import io.explainstream.stream.topology.Liveness;
import io.explainstream.stream.topology.Outcomes;
import io.explainstream.stream.topology.Scope;
import io.explainstream.stream.topology.ServiceMetrics;
import io.explainstream.tokenize.LlamaTokenizer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ExplainStream instance: loads the model, builds the topology, runs Kafka Streams and the
 * operations endpoint. One instance is one worker with one stream thread that owns the model;
 * scale out by starting more instances with the same application.id.
 */
public final class ExplainService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ExplainService.class);
    /** SIGTERM must stop the service within 10 s in every state: the engine is cancelled, Kafka Streams gets the rest. */
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(6);
    /** How often the input's ends are read for backlog control: a fraction of its shortest dwell time (1 s). */
    private static final Duration INPUT_ENDS_PERIOD = Duration.ofMillis(500);
    /** How often the cluster is asked whether it answers ({@link BrokerContact}). */
    private static final Duration BROKER_ASKED_EVERY = Duration.ofSeconds(2);
    /** How often the group's members are looked at for instances that left it: a take-over's wait for their transactions is about this. */
    private static final Duration LEFT_INSTANCES_LOOKED_AT_EVERY = Duration.ofSeconds(1);
    /** How long without an answer before the service warns: the session timeout it sets. */
    private static final Duration BROKER_SILENCE_WARNED = Duration.ofSeconds(10);
    /** Room for a record's headers (the reason is cut to 4,096 characters) when checking a topic's size limit. */
    private static final int HEADER_BYTES = 16_384;

    private final LlamaModel model;
    private final LlamaTokenizer tokenizer;
    private final KafkaStreams streams;
    private final OperationsServer operations;
    private final PrometheusMeterRegistry meters;
    private final StreamsMeters streamsMetrics;
    private final ServiceMetrics metrics;
    private final AttributionEngine engine;
    /** The input's ends for backlog control; null where it is off. */
    private final InputEndOffsets inputEnds;
    private final BrokerContact contact;
    /** Aborts the open transactions of instances that left the group; null without exactly-once. */
    private final LeftInstanceFencer fencer;

    private ExplainService(LlamaModel model, LlamaTokenizer tokenizer, KafkaStreams streams, OperationsServer operations,
            PrometheusMeterRegistry meters, StreamsMeters streamsMetrics, ServiceMetrics metrics, AttributionEngine engine, InputEndOffsets inputEnds,
            BrokerContact contact, LeftInstanceFencer fencer) {
        this.contact = contact;
        this.fencer = fencer;
        this.engine = engine;
        this.inputEnds = inputEnds;
        this.model = model;
        this.tokenizer = tokenizer;
        this.streams = streams;
        this.operations = operations;
        this.meters = meters;
        this.streamsMetrics = streamsMetrics;
        this.metrics = metrics;
    }

    public ServiceMetrics metrics() {
        return metrics;
    }

    /**
     * Starts the service. Configuration and model problems fail here, before anything runs.
     *
     * @param home the installation directory (for the bundled model)
     */
    public static ExplainService start(ServiceConfig config, Path home, Clock clock) throws IOException {
        return start(config, home, Scope.live(), clock);
    }

    /**
     * Starts the service for a scope: the live service, or a replay.
     *
     * @param home the installation directory (for the bundled model)
     */
    public static ExplainService start(ServiceConfig config, Path home, Scope scope, Clock clock) throws IOException {
        return start(config, home, scope, List.of(), clock);
    }

    /**
     * Starts the service for a scope, with extensions that the live service runs in its Kafka
     * Streams instance (the statistics: {@code StatsTopology.extension()}).
     *
     * @param home the installation directory (for the bundled model)
     */
    /**
     * RocksDB's Java binding passes a path to the file system in JNI's modified UTF-8, which writes
     * a character above U+FFFF (an emoji) as two surrogates, so its stores never open in such a
     * folder and the stream thread is replaced for ever while /health says UP. Refused at start.
     */
    public static void requireStateDirRocksDbCanOpen(String stateDir) {
        if (stateDir == null) {
            return;
        }
        String path = Path.of(stateDir).toAbsolutePath().toString();
        path.codePoints().filter(Character::isSupplementaryCodePoint).findFirst().ifPresent(character -> {
            throw new IllegalArgumentException("state.dir = " + path + " has the character " + new String(Character.toChars(character)) + " (U+"
                    + Integer.toHexString(character).toUpperCase(java.util.Locale.ROOT) + "), beyond U+FFFF, which the stream state's RocksDB"
                    + " stores cannot open a folder under: choose a folder without one (for the embedded broker, --data)");
        });
    }

    public static ExplainService start(ServiceConfig config, Path home, Scope scope, List<ServiceExtension> extensions, Clock clock)
            throws IOException {
        java.util.Objects.requireNonNull(scope, "scope: Scope.live() or Scope.replay(...)");
        requireStateDirRocksDbCanOpen(config.streamsProperties().getProperty(org.apache.kafka.streams.StreamsConfig.STATE_DIR_CONFIG));
        Path modelDir = config.modelDirectory(home);
        LlamaModel model = LlamaModel.load(modelDir, config.modelOptions());
        LlamaTokenizer tokenizer;
        try {
            tokenizer = LlamaTokenizer.load(modelDir);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        try {
            tokenizer.requireEmbeddingsFor(model.config().vocabSize(), modelDir);
        } catch (RuntimeException e) {
            tokenizer.close();
            model.close();
            throw e;
        }
        try {
            return start(config, model, tokenizer, modelDir, scope, extensions, clock);
        } catch (IOException | RuntimeException e) {
            tokenizer.close();
            model.close();
            throw e;
        }
    }

    private static ExplainService start(ServiceConfig config, LlamaModel model, LlamaTokenizer tokenizer, Path modelDir, Scope scope,
            List<ServiceExtension> extensions, Clock clock)
            throws IOException {
        SchemaRegistryClient registry = new SchemaRegistryClient(config.registryConfig());
        PrometheusMeterRegistry meters = StreamsMeters.prometheusRegistry();
        ServiceMetrics metrics = new ServiceMetrics(meters, config.metricsMetadataLabels());
        EventValidator validator = new EventValidator(config.validationPolicy(), tokenizer, model.config().maxPositions(), clock);
        AttributionEngine engine = new AttributionEngine(model, tokenizer);
        try {
            engine.check(config.attributionSettings());
        } catch (AttributionSettings.Refused e) {
            throw ServiceConfig.refused(e);
        }
        Liveness liveness = Liveness.from(config, clock);
        EngineExplainer explainer = new EngineExplainer(engine, config.attributionSettings(), config.summaryTopK(),
                new EngineExplainer.Identity(config.modelId(modelDir), model.checkpoint().fingerprint(), scope.replayId(),
                        config.bool(Setting.REDACT)), clock);
        ExplainTopology.Topics declared = new ExplainTopology.Topics(config.get(Setting.INPUT_TOPIC), config.get(Setting.OUTPUT_TOPIC),
                config.get(Setting.DLQ_TOPIC), config.batchPolicy(), scope, config.maxRecordBytes(), SinkTimes.ANY);
        if (scope instanceof Scope.Live && extensions.stream().anyMatch(extension -> extension.readsSkipNotices(config))) {
            declared = declared.withSkipNotices(config.skipNoticesTopic());
        }
        ConfluentAvroSerializer<Explanation> explanationSerializer =
                new ConfluentAvroSerializer<>(registry, config.subjectStrategy(), config.bool(Setting.AUTO_REGISTER), false);
        // A missing output subject, or one that refuses the contract, fails here with the registry's
        // message; an unreachable registry does not: writes wait for it, as during any outage.
        try {
            explanationSerializer.checkSubject(declared.outputTopic(), Explanation.getClassSchema());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage(), e);
        }
        AuditPolicy audit = config.auditPolicy();
        // Backlog control is off in a replay, whose events are old by design. Where it is on, it
        // counts the records that wait from the input's ends, read in the background.
        AuditPolicy inEffect = scope.countsOutcomes() ? audit.withMaxLagMs(0) : audit;
        if (inEffect.maxLagMs() > 0) {
            config.lagLimitUnderOneCall().ifPresent(LOG::warn);
        }
        Properties properties = config.streamsProperties();
        InputEndOffsets inputEnds = inEffect.maxLagMs() > 0 ? new InputEndOffsets(properties, config.get(Setting.INPUT_TOPIC), INPUT_ENDS_PERIOD, clock) : null;
        BacklogController backlog = BacklogController.of(inEffect, config.attributionSettings(), inputEnds != null ? inputEnds : InputEnds.UNKNOWN, clock);
        metrics.backlog(backlog);
        if (config.bool(Setting.TOPICS_CREATE)) {
            createTopics(properties, declared, config.integer(Setting.TOPICS_PARTITIONS), (short) config.integer(Setting.TOPICS_REPLICATION),
                    config.inputRetentionMs(), config.inputRecordBytes(), scope instanceof Scope.Replaying);
        }
        ExplainTopology.Topics topics = checkTopics(properties, declared, scope);
        Topology topology = ExplainTopology.build(topics,
                new InputDecoder(config.inputFormat(), ConfluentAvroDeserializer.specific(registry, LlmInteraction.class)), validator, explainer,
                explanationSerializer, metrics, liveness, backlog, clock);
        // Extensions join the live service only: a replay explains, it does not keep the audit trends.
        List<ServiceExtension.Part> parts = new java.util.ArrayList<>();
        if (scope instanceof Scope.Live) {
            for (ServiceExtension extension : extensions) {
                extension.addTo(topology, config, registry, meters, topics.times().changelogs()).ifPresent(parts::add);
            }
        }
        parts.forEach(part -> part.createTopics(properties));
        KafkaStreams streams = new KafkaStreams(topology, properties);
        // The processors route bad records themselves; what still escapes (a registry outage while
        // writing, say) replaces the thread, which resumes from the last committed transaction.
        // /health counts the replacements, so a thread that fails on every try is reported.
        streams.setUncaughtExceptionHandler(error -> {
            if (error instanceof AttributionCancelledException || error.getCause() instanceof AttributionCancelledException) {
                LOG.info("batch in flight aborted for shutdown; its events stay in the store for the next start");
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            }
            LOG.error("stream thread failed; replacing it (uncommitted work is redone)", error);
            liveness.threadReplaced(error);
            metrics.threadReplaced();
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        StreamsMeters streamsMetrics = StreamsMeters.bind(streams, meters, StreamsMeters.REFRESH);
        OperationsServer operations = null;
        int port = config.opsPort();
        if (port >= 0) {
            try {
                operations = OperationsServer.start(config.get(Setting.OPS_HOST), port, meters, () -> health(streams, liveness), () -> readiness(streams),
                        handlers(parts, streams));
            } catch (java.net.BindException e) {
                streamsMetrics.close();
                streams.close();
                // A replay started with the service's own configuration on the service's host meets its port; an
                // address not of this machine cannot be bound on any port.
                boolean inUse = e.getMessage() != null && e.getMessage().contains("in use");
                throw new ConfigException(Setting.OPS_PORT.key() + " = " + port + " cannot be used on " + Setting.OPS_HOST.key() + " = "
                        + config.get(Setting.OPS_HOST) + ": " + e.getMessage() + (inUse
                                ? " (another explainstream run or replay?); give another port, 0 for a free one, or -1 for none (replay: --set ops.port=0)"
                                : "; give an address of this machine as ops.host (127.0.0.1, or 0.0.0.0 for all), or ops.port = -1 for no endpoint"));
            }
        }
        int threads = CpuThreads.inEffect();
        LOG.info("starting: model {} ({}) on {} with {} CPU thread{}, topics {} → {}, dead letters {}, configuration {}", config.modelId(modelDir),
                model.checkpoint().fingerprint(), model.device(), threads, threads == 1 ? "" : "s", topics.inputTopic(), topics.outputTopic(), topics.dlqTopic(), config.describe());
        config.guaranteeWarning().ifPresent(LOG::warn);
        if (inputEnds != null) {
            inputEnds.begin();
        }
        BrokerContact contact = new BrokerContact(properties, BROKER_ASKED_EVERY, BROKER_SILENCE_WARNED, clock);
        metrics.brokerUnanswered(contact::unansweredSeconds);
        contact.begin();
        // Transactions are Kafka Streams' only where the guarantee is exactly-once.
        LeftInstanceFencer fencer = StreamsConfig.EXACTLY_ONCE_V2.equals(properties.getProperty(StreamsConfig.PROCESSING_GUARANTEE_CONFIG))
                ? new LeftInstanceFencer(properties, LEFT_INSTANCES_LOOKED_AT_EVERY, () -> ownConsumers(streams)) : null;
        streams.start();
        if (fencer != null) {
            fencer.begin();
        }
        return new ExplainService(model, tokenizer, streams, operations, meters, streamsMetrics, metrics, engine, inputEnds, contact, fencer);
    }

    /** This instance's stream threads' consumer client ids (throws while Kafka Streams is not running: the fencer then skips its look). */
    private static List<String> ownConsumers(KafkaStreams streams) {
        return streams.metadataForLocalThreads().stream().map(org.apache.kafka.streams.ThreadMetadata::consumerClientId).toList();
    }

    private static Map<String, com.sun.net.httpserver.HttpHandler> handlers(List<ServiceExtension.Part> parts, KafkaStreams streams) {
        Map<String, com.sun.net.httpserver.HttpHandler> handlers = new java.util.LinkedHashMap<>();
        parts.forEach(part -> handlers.putAll(part.handlers(streams)));
        return handlers;
    }

    /** Alive and making progress: not failed, and not stalled or failing over and over ({@link Liveness}). */
    private static OperationsServer.Health health(KafkaStreams streams, Liveness liveness) {
        KafkaStreams.State state = streams.state();
        if (state == KafkaStreams.State.ERROR || state == KafkaStreams.State.NOT_RUNNING) {
            return new OperationsServer.Health(false, "stream " + state);
        }
        Liveness.Verdict verdict = liveness.verdict();
        return new OperationsServer.Health(verdict.healthy(), "stream " + state + ", " + verdict.reason());
    }

    /** Ready to take traffic: the stream RUNNING (joined, partitions assigned and restored), the model loaded. */
    private static OperationsServer.Health readiness(KafkaStreams streams) {
        KafkaStreams.State state = streams.state();
        return new OperationsServer.Health(state == KafkaStreams.State.RUNNING, "stream " + state + ", model loaded");
    }

    /**
     * Creates the topics that do not exist. The input topic takes events of up to
     * limits.event.bytes and, when set, topics.input.retention.ms. The output and dead-letter topics
     * keep a record as long after its timestamp as the input keeps the event it comes from (an
     * explanation keeps its event's timestamp, so with the broker's default of 7 days the
     * explanations of a topic kept forever would be deleted a week after their events); a replay's
     * keep their records, whatever its events' age ({@code OutputRetention}).
     *
     * @param inputRecordBytes the input topic's max.message.bytes: an event at limits.event.bytes must fit
     */
    private static void createTopics(Properties properties, ExplainTopology.Topics topics, int partitions, short replication, String inputRetentionMs,
            int inputRecordBytes, boolean replaying) {
        try (Admin admin = KafkaClients.admin(properties)) {
            Set<String> existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
            String outputRetentionMs = replaying ? "-1"
                    : existing.contains(topics.inputTopic()) ? Optional.ofNullable(describe(admin, List.of(topics.inputTopic())).get(topics.inputTopic()))
                            .map(input -> TopicRetention.of(input).retentionMsValue()).orElse(null)
                    : inputRetentionMs;
            List<NewTopic> missing = List.of(topics.inputTopic(), topics.outputTopic(), topics.dlqTopic()).stream().distinct()
                    .filter(topic -> !existing.contains(topic))
                    .map(topic -> {
                        NewTopic created = new NewTopic(topic, Optional.of(partitions), replication < 0 ? Optional.empty() : Optional.of(replication));
                        Map<String, String> configs = new HashMap<>();
                        if (topic.equals(topics.inputTopic())) {
                            configs.put(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(inputRecordBytes));
                            if (inputRetentionMs != null) {
                                configs.put(TopicConfig.RETENTION_MS_CONFIG, inputRetentionMs);
                            }
                        } else if (outputRetentionMs != null) {
                            configs.put(TopicConfig.RETENTION_MS_CONFIG, outputRetentionMs);
                        }
                        return created.configs(configs);
                    })
                    .collect(Collectors.toList());
            if (!missing.isEmpty()) {
                admin.createTopics(missing).all().get(60, TimeUnit.SECONDS);
                LOG.info("created topics {}", missing.stream().map(created -> created.name() + created.configs()).toList());
            }
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
                throw new ConfigException("cannot create topics on " + properties.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG) + ": "
                        + e.getCause().getMessage(), e.getCause());
            }
        } catch (InterruptedException | TimeoutException e) {
            throw new ConfigException("cannot reach the Kafka cluster at " + properties.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG)
                    + " to check the topics: " + e, e);
        }
    }

    /**
     * Reads the configurations of the topics the service reads and writes, and returns {@code topics}
     * with the output and dead-letter topics' retention and accepted timestamps, which every record
     * written is checked against, and the changelogs' accepted timestamps. Refuses to start when the
     * output or dead-letter topic takes smaller records than record.max.bytes: every write over the
     * topic's limit would fail its transaction, again on every retry, and stop the partitions; and
     * when the transaction timeout is over the broker's limit. Warns when the live service's output or dead-letter
     * topic deletes records by their timestamp sooner than its input does: the explanations of the
     * oldest events the input still holds would be deleted once written.
     */
    private static ExplainTopology.Topics checkTopics(Properties properties, ExplainTopology.Topics topics, Scope scope) {
        List<String> names = List.of(topics.inputTopic(), topics.outputTopic(), topics.dlqTopic()).stream().distinct().toList();
        Map<String, Config> configs;
        Map<String, String> broker;
        try (Admin admin = KafkaClients.admin(properties)) {
            requireOwnNamespace(admin, properties, scope);
            configs = describe(admin, names);
            broker = brokerConfig(admin);
        } catch (InterruptedException | TimeoutException e) {
            throw new ConfigException("cannot reach the Kafka cluster at " + properties.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG)
                    + " to check the topics: " + e, e);
        }
        for (String written : List.of(topics.outputTopic(), topics.dlqTopic())) {
            ConfigEntry limit = configs.containsKey(written) ? configs.get(written).get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG) : null;
            if (limit != null && limit.value() != null && Long.parseLong(limit.value()) < (long) topics.maxRecordBytes() + HEADER_BYTES) {
                throw new ConfigException(Setting.RECORD_MAX_BYTES.key() + " = " + topics.maxRecordBytes() + " does not fit topic " + written
                        + ", whose max.message.bytes is " + limit.value() + " (records need " + HEADER_BYTES + " bytes more for headers): lower "
                        + Setting.RECORD_MAX_BYTES.key() + " or raise the topic's max.message.bytes");
            }
        }
        // A topic not described is taken as keeping its records and accepting any timestamp: nothing is counted or warned of that is not known.
        TopicTimes input = times(configs, topics.inputTopic());
        TopicTimes output = times(configs, topics.outputTopic());
        TopicTimes deadLetters = times(configs, topics.dlqTopic());
        if (scope instanceof Scope.Live && configs.containsKey(topics.inputTopic())) {
            warnIfShorter(topics.outputTopic(), output.retention(), topics.inputTopic(), input.retention());
            warnIfShorter(topics.dlqTopic(), deadLetters.retention(), topics.inputTopic(), input.retention());
        }
        sayIfNarrower(topics.outputTopic(), output.accepted(), input.accepted());
        sayIfNarrower(topics.dlqTopic(), deadLetters.accepted(), input.accepted());
        checkTransactionTimeout(broker, properties);
        checkSessionTimeout(broker, properties);
        Map<String, String> streams = new HashMap<>();
        properties.stringPropertyNames().forEach(key -> streams.put(key, properties.getProperty(key)));
        return topics.withTimes(new SinkTimes(output, deadLetters, TimestampWindow.ofInternalTopics(broker, streams)));
    }

    /** Refuses an application id whose internal topics would collide with another application's ({@link TopicCollisions}). */
    private static void requireOwnNamespace(Admin admin, Properties properties, Scope scope) throws InterruptedException, TimeoutException {
        String applicationId = properties.getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
        Set<String> existing;
        try {
            existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            LOG.warn("cannot list the topics to check that {}'s internal topics are free to make: {}", applicationId, e.getCause().getMessage());
            return;
        }
        if (scope instanceof Scope.Replaying replaying) {
            TopicCollisions.requireNone(existing, applicationId, "--replay-id = " + replaying.replay().id(), "another --replay-id");
        } else {
            TopicCollisions.requireNone(existing, applicationId, StreamsConfig.APPLICATION_ID_CONFIG + " = " + applicationId, "another application.id");
        }
    }

    /**
     * The configuration of one broker, defaults included: the store changelogs inherit its
     * timestamp bounds, and it caps the transaction timeout. A client without the right to describe
     * it cannot check; it says so, and the service goes on.
     */
    private static Map<String, String> brokerConfig(Admin admin) throws InterruptedException, TimeoutException {
        Map<String, String> broker = new HashMap<>();
        try {
            var nodes = admin.describeCluster().nodes().get(60, TimeUnit.SECONDS);
            if (!nodes.isEmpty()) {
                ConfigResource resource = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(nodes.iterator().next().id()));
                admin.describeConfigs(List.of(resource)).values().get(resource).get(60, TimeUnit.SECONDS).entries()
                        .forEach(entry -> broker.put(entry.name(), entry.value()));
            }
        } catch (ExecutionException e) {
            LOG.warn("cannot check the broker's timestamp bounds (log.message.timestamp.*), which the store changelogs inherit, and its"
                    + " transaction.max.timeout.ms: {}", e.getCause().getMessage());
        }
        return broker;
    }

    /**
     * A transaction timeout over the broker's transaction.max.timeout.ms fails the producer's
     * initialization, on every thread replacement for ever, with the reason deep in a stack trace:
     * refused here, naming the settings.
     */
    private static void checkTransactionTimeout(Map<String, String> broker, Properties properties) {
        String limit = broker.get("transaction.max.timeout.ms");
        String timeout = properties.getProperty(StreamsConfig.producerPrefix(org.apache.kafka.clients.producer.ProducerConfig.TRANSACTION_TIMEOUT_CONFIG));
        if (limit == null || timeout == null) {
            return;
        }
        try {
            if (Long.parseLong(timeout.trim()) > Long.parseLong(limit.trim())) {
                throw new ConfigException("the transaction timeout of " + timeout.trim() + " ms (producer.transaction.timeout.ms; unless set, 3 x "
                        + Setting.BATCH_MAX_SECONDS.key() + ", at least 60 s) is over the broker's transaction.max.timeout.ms = " + limit.trim()
                        + ": lower " + Setting.BATCH_MAX_SECONDS.key() + " to at most " + Long.parseLong(limit.trim()) / 3000
                        + ", or raise the broker's transaction.max.timeout.ms");
            }
        } catch (NumberFormatException e) {
            // Not numbers: Kafka's own checks name them.
        }
    }

    /**
     * A session timeout outside the broker's group.min/max.session.timeout.ms fails every join of
     * the group: the stream thread was replaced several times a second for ever. Refused here.
     */
    private static void checkSessionTimeout(Map<String, String> broker, Properties properties) {
        String name = org.apache.kafka.clients.CommonClientConfigs.SESSION_TIMEOUT_MS_CONFIG;
        String timeout = ServiceConfig.mainConsumerSetting(properties, name);
        String min = broker.get("group.min.session.timeout.ms");
        String max = broker.get("group.max.session.timeout.ms");
        if (timeout == null || min == null || max == null) {
            return;
        }
        try {
            long ms = Long.parseLong(timeout.trim());
            if (ms < Long.parseLong(min.trim()) || ms > Long.parseLong(max.trim())) {
                throw new ConfigException(name + " = " + ms + " is outside what the broker allows (group.min.session.timeout.ms = " + min.trim()
                        + ", group.max.session.timeout.ms = " + max.trim() + "): the consumer could never join its group");
            }
        } catch (NumberFormatException e) {
            // Not numbers: Kafka's own checks name them.
        }
    }

    /**
     * Says so at start when a written topic may refuse timestamps its input took: any bound on the
     * past (the input took its records when they were new), or a tighter one on the future (Kafka's
     * default of an hour on both topics changes nothing).
     */
    private static void sayIfNarrower(String written, TimestampWindow accepted, TimestampWindow input) {
        if (accepted.beforeMaxMs() != Long.MAX_VALUE || accepted.afterMaxMs() < input.afterMaxMs()) {
            LOG.info("topic {} refuses record timestamps outside {} of the broker's clock: explanations and dead letters of events outside that (a"
                    + " backlog, a replay of old traffic) are written with the time they are written, their events' time kept in the value's"
                    + " event_time and the input record's in the {} header, and counted in explainstream_records_timestamp_moved_total", written,
                    accepted.described(), SourceTimestamp.HEADER);
        }
    }

    private static void warnIfShorter(String written, TopicRetention retention, String inputTopic, TopicRetention input) {
        if (retention.shorterThan(input)) {
            LOG.warn("topic {} keeps records for {} after their timestamp, less than the input topic {} ({}): explanations and dead letters keep their"
                    + " events' timestamps, so those of events older than that when they are written may be deleted by the broker at once"
                    + " (counted in explainstream_records_past_retention_total); raise {}'s retention.ms to the input's", written, retention.described(),
                    inputTopic, input.described(), written);
        }
    }

    private static TopicTimes times(Map<String, Config> configs, String topic) {
        return configs.containsKey(topic) ? TopicTimes.of(configs.get(topic)) : TopicTimes.ANY;
    }

    private static ConfigResource topic(String name) {
        return new ConfigResource(ConfigResource.Type.TOPIC, name);
    }

    /**
     * The configurations, defaults included, of those of the topics that exist and may be
     * described: a topic that does not exist yet is created with the broker's defaults on first
     * write, and a client without the right to describe configs cannot check; it says so, and the
     * service goes on.
     */
    private static Map<String, Config> describe(Admin admin, List<String> names) throws InterruptedException, TimeoutException {
        Map<ConfigResource, org.apache.kafka.common.KafkaFuture<Config>> futures = admin.describeConfigs(names.stream().map(ExplainService::topic).toList()).values();
        Map<String, Config> configs = new HashMap<>();
        for (var future : futures.entrySet()) {
            try {
                configs.put(future.getKey().name(), future.getValue().get(60, TimeUnit.SECONDS));
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)) {
                    LOG.warn("cannot check max.message.bytes, retention and timestamp bounds of topic {}: {}", future.getKey().name(), e.getCause().getMessage());
                }
            }
        }
        return configs;
    }

    public KafkaStreams.State state() {
        return streams.state();
    }

    /** Waits until the stream is RUNNING (it has joined its group and has its partitions); false if the time ran out first. */
    public boolean awaitRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (streams.state() != KafkaStreams.State.RUNNING) {
            if (System.nanoTime() >= deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    /**
     * Events waiting in the batch stores of this instance's tasks, read from the stores themselves
     * (interactive queries); empty while the stores cannot be read (not RUNNING, rebalancing).
     */
    public Optional<Long> pendingEvents() {
        try {
            ReadOnlyKeyValueStore<Long, byte[]> store = streams.store(
                    StoreQueryParameters.fromNameAndType(ExplainTopology.STORE, QueryableStoreTypes.<Long, byte[]>keyValueStore()));
            long count = 0;
            try (KeyValueIterator<Long, byte[]> all = store.all()) {
                while (all.hasNext()) {
                    all.next();
                    count++;
                }
            }
            return Optional.of(count);
        } catch (InvalidStateStoreException e) {
            return Optional.empty();
        }
    }

    /** A replay's outcome counts (explained, dead_lettered, skipped) over this instance's tasks; empty while not readable. */
    public Optional<Map<String, Long>> replayOutcomes() {
        try {
            ReadOnlyKeyValueStore<String, Long> store = streams.store(
                    StoreQueryParameters.fromNameAndType(Outcomes.STORE, QueryableStoreTypes.<String, Long>keyValueStore()));
            Map<String, Long> counts = new java.util.TreeMap<>();
            try (KeyValueIterator<String, Long> all = store.all()) {
                while (all.hasNext()) {
                    var entry = all.next();
                    if (Outcomes.isOutcome(entry.key)) {
                        counts.merge(entry.key, entry.value, Long::sum);
                    }
                }
            }
            return Optional.of(counts);
        } catch (InvalidStateStoreException e) {
            return Optional.empty();
        }
    }

    public PrometheusMeterRegistry meters() {
        return meters;
    }

    /** The operations endpoint's port, or -1 when disabled. */
    public int operationsPort() {
        return operations == null ? -1 : operations.port();
    }

    public LlamaModel model() {
        return model;
    }

    /**
     * Stops cleanly: the stream thread finishes the batch in flight and commits it, events still
     * waiting stay in the changelogged store for the next start.
     */
    @Override
    public void close() {
        LOG.info("stopping");
        // A batch in the engine stops at its next forward pass; its transaction is aborted and its
        // events stay in the store, to be explained after the next start.
        engine.cancel();
        // Leaving the group lets a restarted or surviving instance take the partitions at once,
        // instead of after the session timeout.
        boolean stopped = streams.close(CloseOptions.timeout(CLOSE_TIMEOUT).withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
        streamsMetrics.close();
        if (inputEnds != null) {
            inputEnds.close();
        }
        contact.close();
        if (fencer != null) {
            fencer.close();
        }
        // The once-a-minute warnings may still owe the last records written past retention or with a moved timestamp.
        metrics.owedWarnings().forEach(LOG::warn);
        if (operations != null) {
            operations.close();
        }
        if (!stopped) {
            // The stream thread is still blocked (in a call to the registry, say): leave the model's
            // native memory alone, the process is ending. An open transaction is aborted by the
            // broker, or fenced when the instance starts again; its events are explained then.
            LOG.warn("Kafka Streams did not stop within {} s; stopping anyway, uncommitted work will be redone", CLOSE_TIMEOUT.toSeconds());
            return;
        }
        tokenizer.close();
        model.close();
        LOG.info("stopped");
    }
}
