package io.explainstream.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.schema.Explanation;
import io.explainstream.testing.RunsBeside;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@RunsBeside
@Tag("slow")
class EmbeddedPlatformTest {

    @Test
    void aRealBrokerProcessAndTheRegistryOnLoopbackKeepTheirDataAndLeaveNothingBehind(@TempDir Path dir) throws Exception {
        String bootstrap;
        String registryUrl;
        long pid;
        int schemaId;
        try (EmbeddedPlatform platform = EmbeddedPlatform.start(dir, 0)) {
            bootstrap = platform.bootstrapServers();
            registryUrl = platform.registryUrl();
            pid = platform.brokerPid();
            assertTrue(bootstrap.startsWith("127.0.0.1:"), bootstrap);
            assertEquals("127.0.0.1", URI.create(registryUrl).getHost());
            assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the broker runs as its own process");
            try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
                var nodes = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS);
                assertEquals(1, nodes.size());
                assertEquals("127.0.0.1", nodes.iterator().next().host(), "advertised on loopback only");
            }
            schemaId = new SchemaRegistryClient(RegistryConfig.of(registryUrl)).register("explanations-value", Explanation.getClassSchema());
        }
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        assertFalse(handle.isPresent() && handle.get().isAlive(), "the broker process has ended");
        assertFalse(EmbeddedKafkaBroker.accepts(bootstrap), "the broker port is free");
        try (EmbeddedPlatform again = EmbeddedPlatform.start(dir, 0)) {
            assertEquals(bootstrap, again.bootstrapServers(), "the same ports, from the data folder");
            assertEquals(registryUrl, again.registryUrl(), "the registry's too: a second instance given its URL keeps working");
            assertEquals(schemaId, new SchemaRegistryClient(RegistryConfig.of(again.registryUrl())).latest("explanations-value").id(),
                    "schemas survive the restart in _schemas");
        }
        // The registry's port taken by another process meanwhile: it starts on a free one, kept from then on.
        String moved;
        try (java.net.ServerSocket taken = new java.net.ServerSocket(URI.create(registryUrl).getPort(), 1, java.net.InetAddress.getLoopbackAddress());
                EmbeddedPlatform elsewhere = EmbeddedPlatform.start(dir, 0)) {
            moved = elsewhere.registryUrl();
            assertFalse(moved.equals(registryUrl), moved);
            assertEquals(schemaId, new SchemaRegistryClient(RegistryConfig.of(moved)).latest("explanations-value").id());
        }
        try (EmbeddedPlatform last = EmbeddedPlatform.start(dir, 0)) {
            assertEquals(moved, last.registryUrl());
        }
        // The broker's port taken: one line naming it and where it is kept (the broker process exited
        // on it, and run ended with a stack trace, the cause only in the broker's log).
        int brokerPort = Integer.parseInt(bootstrap.substring(bootstrap.lastIndexOf(':') + 1));
        try (java.net.ServerSocket taken = new java.net.ServerSocket(brokerPort, 1, java.net.InetAddress.getLoopbackAddress())) {
            IllegalArgumentException refused = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> EmbeddedPlatform.start(dir, 0).close());
            assertEquals("the embedded Kafka broker's port " + brokerPort + " (PLAINTEXT listener, kept in " + dir.resolve("kafka/server.properties")
                    + ") is in use by another process; stop that process, or give run another --data (a new broker, without this one's topics)",
                    refused.getMessage());
        }
    }
}
