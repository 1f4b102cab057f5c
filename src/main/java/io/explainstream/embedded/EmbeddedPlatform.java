package io.explainstream.embedded;

import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.KafkaSchemaStore;
import java.io.IOException;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalInt;
import org.apache.kafka.clients.CommonClientConfigs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one-command default: a real Kafka broker and the built-in schema registry (its schemas in
 * the broker's {@code _schemas} topic), both on 127.0.0.1 only.
 */
public final class EmbeddedPlatform implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedPlatform.class);
    /** The registry's port in the data folder, chosen once, as the broker's are in its server.properties. */
    static final String REGISTRY_PORT_FILE = "registry.port";

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
     * @param registryPort the registry's port; 0: the port it had in this data folder, else a free
     *     one, kept there for the next start
     */
    public static EmbeddedPlatform start(Path directory, int registryPort) throws IOException, InterruptedException {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(directory.resolve("kafka"));
        KafkaSchemaStore store = null;
        try {
            store = new KafkaSchemaStore(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
                    KafkaSchemaStore.DEFAULT_TOPIC, (short) 1);
            EmbeddedSchemaRegistry registry = registryPort != 0 ? EmbeddedSchemaRegistry.start(store, EmbeddedSchemaRegistry.Settings.loopback(registryPort))
                    : keptPortRegistry(store, directory.resolve(REGISTRY_PORT_FILE));
            return new EmbeddedPlatform(broker, store, registry);
        } catch (IOException | RuntimeException e) {
            if (store != null) {
                store.close();
            }
            broker.close();
            throw e;
        }
    }

    /**
     * The registry on the port kept in {@code file}, as the broker keeps its ports: a second
     * instance, or a reader, given the URL printed at the first start keeps working after a restart
     * (it moved to a new port on every start, and a second instance's writes failed until it was
     * given the new URL). Where that port is taken now, a free one, said in the log and kept.
     */
    private static EmbeddedSchemaRegistry keptPortRegistry(KafkaSchemaStore store, Path file) throws IOException {
        OptionalInt kept = keptPort(file);
        if (kept.isPresent()) {
            try {
                return EmbeddedSchemaRegistry.start(store, EmbeddedSchemaRegistry.Settings.loopback(kept.getAsInt()));
            } catch (BindException e) {
                LOG.warn("The embedded schema registry's port {} (kept in {}) is in use; it moves to a free port, kept from now on", kept.getAsInt(), file);
            }
        }
        EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.start(store, EmbeddedSchemaRegistry.Settings.loopback(0));
        Files.writeString(file, registry.url().getPort() + "\n", StandardCharsets.US_ASCII);
        return registry;
    }

    /** The port in {@code file}, or none where there is no such file or it holds no port (written by hand, cut short). */
    private static OptionalInt keptPort(Path file) throws IOException {
        if (!Files.exists(file)) {
            return OptionalInt.empty();
        }
        try {
            int port = Integer.parseInt(Files.readString(file, StandardCharsets.US_ASCII).strip());
            return port > 0 && port <= 65535 ? OptionalInt.of(port) : OptionalInt.empty();
        } catch (NumberFormatException e) {
            return OptionalInt.empty();
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
