package io.explainstream.stream.service;

import com.sun.net.httpserver.HttpHandler;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.TimestampWindow;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;

/**
 * More that the live service runs in its own Kafka Streams instance (same application id, same
 * transactions): the statistics sub-topology, for one. The caller that starts the service chooses
 * its extensions, so this package does not depend on theirs.
 */
public interface ServiceExtension {

    /**
     * Adds the extension's processors to the live topology; empty when the configuration disables
     * it. A bad setting of its own fails here, naming the key.
     *
     * @param accepted the record timestamps the broker accepts on the topics it creates (its
     *     defaults, read at start): a record outside them fails its transaction on every retry
     */
    Optional<Part> addTo(Topology topology, ServiceConfig config, SchemaRegistryClient registry, MeterRegistry meters, TimestampWindow accepted);

    /**
     * Whether it reads the notices of events skipped to stay within the budget
     * ({@link ServiceConfig#skipNoticesTopic()}, which its part then creates): the service writes
     * them only for an extension that counts them.
     */
    default boolean readsSkipNotices(ServiceConfig config) {
        return false;
    }

    /** What an added extension needs from the service. */
    interface Part {
        /** Creates the topics it writes, when the service creates its own. */
        void createTopics(Properties clientProperties);

        /** Extra paths of the operations server, answered from the running streams. */
        Map<String, HttpHandler> handlers(KafkaStreams streams);
    }
}
