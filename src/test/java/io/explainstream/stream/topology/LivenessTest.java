package io.explainstream.stream.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.testing.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The rules of /health, on a clock the test moves. */
class LivenessTest {

    private final ManualClock clock = new ManualClock();
    private final Liveness liveness = new Liveness(3, 300_000, 62_000, clock);

    @Test
    void moreReplacementsThanAllowedWithinTheWindowAreUnhealthyUntilTheyAge() {
        for (int i = 0; i < 3; i++) {
            liveness.threadReplaced(new IllegalStateException("registry down"));
            clock.advance(Duration.ofSeconds(30));
        }
        assertTrue(liveness.verdict().healthy(), "3 replacements are tolerated");
        liveness.threadReplaced(new IllegalStateException("registry down"));
        Liveness.Verdict verdict = liveness.verdict();
        assertFalse(verdict.healthy());
        assertEquals("stream thread replaced 4 times in the last 300 s (health.thread.replacements.max = 3); last error: "
                + "java.lang.IllegalStateException: registry down", verdict.reason());
        clock.advance(Duration.ofSeconds(211));
        assertTrue(liveness.verdict().healthy(), "the first replacement has left the window");
    }

    /**
     * The reason names the root cause: a registry outage reached /health as Kafka Streams'
     * "Exception caught in process. taskId=0_1, …, stacktrace=…", which named neither the registry
     * nor the connection (a hostile test's second instance, given a registry URL that was gone).
     */
    @Test
    void theLastErrorNamesEachCauseDownToTheRoot() {
        // Java's HTTP client wraps a ConnectException in another that says the same: named once.
        Exception root = new java.net.ConnectException("Connection refused");
        root.initCause(new java.net.ConnectException("Connection refused"));
        Exception serde = new org.apache.kafka.common.errors.SerializationException(
                "cannot get a schema id for subject explanations-value: http://127.0.0.1:37389 unreachable", root);
        Exception streams = new org.apache.kafka.streams.errors.StreamsException("Exception caught in process. taskId=0_1, processor=KSTREAM-SOURCE-0000000000,"
                + " topic=llm-interactions, partition=1, offset=7, stacktrace=org.apache.kafka.common.errors.SerializationException: cannot get\n\tat a.b.C.d(C.java:1)",
                serde);
        for (int i = 0; i < 4; i++) {
            liveness.threadReplaced(streams);
        }
        assertEquals("stream thread replaced 4 times in the last 300 s (health.thread.replacements.max = 3); last error: "
                + "org.apache.kafka.streams.errors.StreamsException: Exception caught in process. taskId=0_1, processor=KSTREAM-SOURCE-0000000000,"
                + " topic=llm-interactions, partition=1, offset=7; caused by org.apache.kafka.common.errors.SerializationException: cannot get a schema id"
                + " for subject explanations-value: http://127.0.0.1:37389 unreachable; caused by java.net.ConnectException: Connection refused",
                liveness.verdict().reason());
    }

    /**
     * Java's HTTP client reports a refused connection as a ConnectException without a message
     * around a ClosedChannelException: /health ended "caused by java.net.ConnectException; caused by
     * java.nio.channels.ClosedChannelException", which reads as an open connection closed (a hostile
     * test). The real client against a port nothing listens on: the reason says that no connection
     * could be made to that address, and stops where the causes add nothing.
     */
    @Test
    void aRegistryThatRefusesConnectionsIsNamedAsSuchNotAsAClosedChannel() throws Exception {
        int closedPort;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        io.explainstream.avro.SchemaRegistryClient client = new io.explainstream.avro.SchemaRegistryClient(
                io.explainstream.avro.RegistryConfig.of("http://127.0.0.1:" + closedPort).withRetries(0, Duration.ofMillis(1)));
        RuntimeException refused = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class, () -> client.schemaById(1));
        for (int i = 0; i < 4; i++) {
            liveness.threadReplaced(new org.apache.kafka.streams.errors.StreamsException("Exception caught in process. taskId=1_1", refused));
        }
        String reason = liveness.verdict().reason();
        assertTrue(reason.contains("schema registry GET http://127.0.0.1:" + closedPort + "/schemas/ids/1 failed: no connection to 127.0.0.1:"
                + closedPort + " (refused, or the host is unreachable; ConnectException) (after 1 attempt)"), reason);
        assertFalse(reason.contains("ClosedChannelException"), reason);
        assertTrue(reason.endsWith("(after 1 attempt)"), "the client's message-less causes add nothing: " + reason);
    }

    @Test
    void aBatchLongerThanTheStallLimitInTheEngineIsUnhealthy() {
        liveness.engineEntered();
        clock.advance(Duration.ofSeconds(62));
        assertTrue(liveness.verdict().healthy());
        clock.advance(Duration.ofSeconds(1));
        assertEquals("a batch has been in the engine for 63 s, more than 62 s", liveness.verdict().reason());
        liveness.engineLeft();
        assertTrue(liveness.verdict().healthy());
    }

    @Test
    void eventsWaitingWithNoBatchFinishingAreUnhealthy() {
        liveness.waiting(true);
        clock.advance(Duration.ofSeconds(40));
        liveness.waiting(true);
        assertTrue(liveness.verdict().healthy());
        clock.advance(Duration.ofSeconds(30));
        assertEquals("events have waited 70 s with no batch finishing, more than 62 s", liveness.verdict().reason());
        liveness.waiting(false);
        assertTrue(liveness.verdict().healthy(), "an empty store is progress");
    }

    @Test
    void theStallLimitFollowsTheBatchSettings() {
        assertEquals(62_000, ServiceConfig.of(java.util.Map.of()).batchPolicy().stallMs(), "batch.max.wait.ms + 3 x batch.max.seconds");
        assertEquals(60_000, ServiceConfig.of(java.util.Map.of()).transactionTimeoutMs(), "at least 60 s");
        assertEquals(90_000, ServiceConfig.of(java.util.Map.of("batch.max.seconds", "30")).transactionTimeoutMs(), "3 x batch.max.seconds");
        var error = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> ServiceConfig.of(java.util.Map.of("batch.max.seconds", "40", "producer.transaction.timeout.ms", "60000")));
        assertEquals("batch.max.seconds = 40 needs a transaction timeout of at least 80000 ms; producer.transaction.timeout.ms is 60000",
                error.getMessage());
    }
}
