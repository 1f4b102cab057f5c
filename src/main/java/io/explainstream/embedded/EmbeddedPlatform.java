package io.explainstream.embedded;

import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.KafkaSchemaStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.clients.CommonClientConfigs;

/**
 * The one-command default: a real Kafka broker and the built-in schema registry (its schemas in
 * the broker's {@code _schemas} topic), both on 127.0.0.1 only.
 */
public final class EmbeddedPlatform implements AutoCloseable {

    private final EmbeddedKafkaBroker broker;
    private final KafkaSchemaStore store;
    private final EmbeddedSchemaRegistry registry;

    private EmbeddedPlatform(EmbeddedKafkaBroker broker, KafkaSchemaStore store, EmbeddedSchemaRegistry registry) {
        this.broker = broker;
        this.store = store;
        this.registry = registry;
    }

    /**
     * @param directory data folder of the broker (kept between runs)
     * @param registryPort the registry's port, 0 for a free one
     */
    public static EmbeddedPlatform start(Path directory, int registryPort) throws IOException, InterruptedException {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(directory.resolve("kafka"));
        KafkaSchemaStore store = null;
        try {
            store = new KafkaSchemaStore(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
                    KafkaSchemaStore.DEFAULT_TOPIC, (short) 1);
            EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.start(store, EmbeddedSchemaRegistry.Settings.loopback(registryPort));
            return new EmbeddedPlatform(broker, store, registry);
        } catch (IOException | RuntimeException e) {
            if (store != null) {
                store.close();
            }
            broker.close();
            throw e;
        }
    }

    public String bootstrapServers() {
        return broker.bootstrapServers();
    }

    public String registryUrl() {
        return registry.url().toString();
    }

    public long brokerPid() {
        return broker.pid();
    }

    /** The settings that point the service and its clients here. */
    public Map<String, String> clientSettings() {
        return Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(), "schema.registry.url", registryUrl());
    }

    @Override
    public void close() {
        registry.close();
        store.close();
        broker.close();
    }
}
