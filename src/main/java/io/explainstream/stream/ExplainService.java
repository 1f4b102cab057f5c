package io.explainstream.stream;

import io.explainstream.attribution.AttributionEngine;
import io.explainstream.avro.ConfluentAvroDeserializer;
import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.model.LlamaModel;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.tokenize.LlamaTokenizer;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ExplainStream instance: loads the model, builds the topology, runs Kafka Streams and the
 * operations endpoint. One instance is one worker with one stream thread that owns the model;
 * scale out by starting more instances with the same application.id.
 */
public final class ExplainService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ExplainService.class);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(120);

    private final LlamaModel model;
    private final LlamaTokenizer tokenizer;
    private final KafkaStreams streams;
    private final OperationsServer operations;
    private final PrometheusMeterRegistry meters;
    private final KafkaStreamsMetrics streamsMetrics;
    private final ServiceMetrics metrics;

    private ExplainService(LlamaModel model, LlamaTokenizer tokenizer, KafkaStreams streams, OperationsServer operations,
            PrometheusMeterRegistry meters, KafkaStreamsMetrics streamsMetrics, ServiceMetrics metrics) {
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
     * @param replay null for the live service; the range and id of a replay otherwise
     */
    public static ExplainService start(ServiceConfig config, Path home, Replay replay, Clock clock) throws IOException {
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
            return start(config, model, tokenizer, modelDir, replay, clock);
        } catch (IOException | RuntimeException e) {
            tokenizer.close();
            model.close();
            throw e;
        }
    }

    private static ExplainService start(ServiceConfig config, LlamaModel model, LlamaTokenizer tokenizer, Path modelDir, Replay replay, Clock clock)
            throws IOException {
        SchemaRegistryClient registry = new SchemaRegistryClient(config.registryConfig());
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ServiceMetrics metrics = new ServiceMetrics(meters);
        EventValidator validator = new EventValidator(config.validationPolicy(), tokenizer, model.config().maxPositions(), clock);
        EngineExplainer explainer = new EngineExplainer(new AttributionEngine(model, tokenizer), validator, config.attributionSettings(),
                new EngineExplainer.Identity(config.modelId(modelDir), model.checkpoint().fingerprint(), replay == null ? null : replay.id(),
                        config.bool(Setting.REDACT)), clock);
        ExplainTopology.Topics topics = new ExplainTopology.Topics(config.get(Setting.INPUT_TOPIC), config.get(Setting.OUTPUT_TOPIC),
                config.get(Setting.DLQ_TOPIC), config.batchPolicy(), replay, config.maxRecordBytes());
        Topology topology = ExplainTopology.build(topics,
                new InputDecoder(config.inputFormat(), ConfluentAvroDeserializer.specific(registry, LlmInteraction.class)), validator, explainer,
                new ConfluentAvroSerializer<Explanation>(registry, config.subjectStrategy(), config.bool(Setting.AUTO_REGISTER), false), metrics, clock);
        Properties properties = config.streamsProperties();
        if (config.bool(Setting.TOPICS_CREATE)) {
            createTopics(properties, topics, config.integer(Setting.TOPICS_PARTITIONS), (short) config.integer(Setting.TOPICS_REPLICATION));
        }
        KafkaStreams streams = new KafkaStreams(topology, properties);
        // The processors route bad records themselves; what still escapes (a registry outage while
        // writing, say) replaces the thread, which resumes from the last committed transaction.
        streams.setUncaughtExceptionHandler(error -> {
            LOG.error("stream thread failed; replacing it (uncommitted work is redone)", error);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        KafkaStreamsMetrics streamsMetrics = new KafkaStreamsMetrics(streams);
        streamsMetrics.bindTo(meters);
        OperationsServer operations = null;
        int port = config.opsPort();
        if (port >= 0) {
            operations = OperationsServer.start(config.get(Setting.OPS_HOST), port, meters, () -> health(streams));
        }
        LOG.info("starting: model {} ({}) on {}, topics {} → {}, dead letters {}, configuration {}", config.modelId(modelDir),
                model.checkpoint().fingerprint(), model.device(), topics.inputTopic(), topics.outputTopic(), topics.dlqTopic(), config.describe());
        streams.start();
        return new ExplainService(model, tokenizer, streams, operations, meters, streamsMetrics, metrics);
    }

    private static OperationsServer.Health health(KafkaStreams streams) {
        KafkaStreams.State state = streams.state();
        return new OperationsServer.Health(state == KafkaStreams.State.RUNNING, "stream " + state + ", model loaded");
    }

    private static void createTopics(Properties properties, ExplainTopology.Topics topics, int partitions, short replication) {
        try (Admin admin = KafkaClients.admin(properties)) {
            Set<String> existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
            List<NewTopic> missing = List.of(topics.inputTopic(), topics.outputTopic(), topics.dlqTopic()).stream().distinct()
                    .filter(topic -> !existing.contains(topic))
                    .map(topic -> new NewTopic(topic, Optional.of(partitions), replication < 0 ? Optional.empty() : Optional.of(replication)))
                    .collect(Collectors.toList());
            if (!missing.isEmpty()) {
                admin.createTopics(missing).all().get(60, TimeUnit.SECONDS);
                LOG.info("created topics {}", missing.stream().map(NewTopic::name).toList());
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
        // Leaving the group lets a restarted or surviving instance take the partitions at once,
        // instead of after the session timeout.
        streams.close(CloseOptions.timeout(CLOSE_TIMEOUT).withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
        streamsMetrics.close();
        if (operations != null) {
            operations.close();
        }
        tokenizer.close();
        model.close();
        LOG.info("stopped");
    }
}
