package io.explainstream.stream.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka settings pass through the service's configuration to Kafka's clients; a bad value fails
 * when the configuration is read, naming the key and the value. It used to fail 13 s later, after
 * the embedded broker had started, as a stack trace with exit status 1.
 */
class KafkaSettingsTest {

    @Test
    void aBadKafkaValueFailsWhenTheConfigurationIsReadNamingTheKeyAndTheValue() {
        assertEquals("processing.guarantee = 'foo' is not a value Kafka takes: Invalid value foo for configuration processing.guarantee:"
                + " String must be one of: at_least_once, exactly_once_v2", message(Map.of("processing.guarantee", "foo")));
        assertEquals("session.timeout.ms = 'abc' is not a value Kafka takes: Invalid value abc for configuration session.timeout.ms:"
                + " Not a number of type INT", message(Map.of("session.timeout.ms", "abc")));
        assertEquals("producer.linger.ms = '-5' is not a value Kafka takes: Invalid value -5 for configuration linger.ms: Value must be at least 0",
                message(Map.of("producer.linger.ms", "-5")));
        assertEquals("main.consumer.max.poll.records = '0' is not a value Kafka takes: Invalid value 0 for configuration max.poll.records:"
                + " Value must be at least 1", message(Map.of("main.consumer.max.poll.records", "0")));
    }

    /** Kafka ignores a setting it does not know: a misspelt client key did nothing, without a word. */
    @Test
    void aMisspeltKeyUnderAClientPrefixIsRefusedWithTheNearestSetting() {
        assertEquals("unknown configuration key 'consumer.max.pol.records': max.pol.records is not a Kafka consumer setting; did you mean"
                + " consumer.max.poll.records?", message(Map.of("consumer.max.pol.records", "5")));
        assertEquals("unknown configuration key 'producer.lingerms': lingerms is not a Kafka producer setting; did you mean producer.linger.ms?",
                message(Map.of("producer.lingerms", "5")));
        assertEquals("unknown configuration key 'main.consumer.acks': acks is a Kafka producer setting, not a consumer one; give it as producer.acks",
                message(Map.of("main.consumer.acks", "all")), "a producer key under a consumer prefix");
        assertEquals("unknown configuration key 'admin.zzzz': zzzz is not a Kafka admin client setting", message(Map.of("admin.zzzz", "1")));
        assertEquals("unknown configuration key 'max.pol.records'; did you mean max.poll.records? (the README lists the service's keys; Kafka keys"
                + " pass through)", message(Map.of("max.pol.records", "5")));
    }

    /** Each was a KafkaException stack trace with exit 1 when the first client was built, after the embedded broker had started. */
    @Test
    void aBootstrapAddressWithoutAPortIsRefusedNamingTheAddress() {
        String hint = " (give host:port, for example localhost:9092; several are separated by commas)";
        assertEquals("bootstrap.servers = 'localhost': 'localhost' is not host:port" + hint, message(Map.of("bootstrap.servers", "localhost")));
        assertEquals("bootstrap.servers = 'a:b:c': 'a:b:c' is not host:port" + hint, message(Map.of("bootstrap.servers", "a:b:c")));
        assertEquals("bootstrap.servers = 'h:9092,127.0.0.1:99999': '127.0.0.1:99999' has port 99999, outside 1 to 65535" + hint,
                message(Map.of("bootstrap.servers", "h:9092,127.0.0.1:99999")));
        assertEquals("bootstrap.servers = 'h:1,': an address is empty" + hint, message(Map.of("bootstrap.servers", "h:1,")));
        assertEquals("bootstrap.servers = 'h:99999999999': 'h:99999999999' has port 99999999999, outside 1 to 65535" + hint,
                message(Map.of("bootstrap.servers", "h:99999999999")));
        ServiceConfig.of(Map.of("bootstrap.servers", "broker-1.example.com:9092, [::1]:9093,10.0.0.7:19092"));
    }

    /** Each was a stack trace from Kafka Streams, the HTTP client or the ops server, some after the embedded broker had started. */
    @Test
    void serviceLevelKafkaValuesAreCheckedWhenTheConfigurationIsRead(@TempDir Path dir) throws IOException {
        String idRule = "' must be 1 to 100 characters of ASCII letters, digits, '.', '_' and '-': it names the consumer group and begins the name of"
                + " every internal topic";
        assertEquals("application.id = '" + idRule, message(Map.of("application.id", "")));
        assertEquals("application.id = 'a b" + idRule, message(Map.of("application.id", "a b")));
        Path file = Files.writeString(dir.resolve("file"), "");
        assertEquals("state.dir = '" + file + "': " + file + " is a file; give a folder for the service's local state",
                message(Map.of("state.dir", file.toString())));
        assertEquals("state.dir = '" + file + "/state': " + file + " is a file; give a folder for the service's local state",
                message(Map.of("state.dir", file + "/state")));
        assertEquals("ops.host = 'nonexist.invalid' does not resolve to an address (no DNS or hosts entry for it)",
                message(Map.of("ops.host", "nonexist.invalid")));
        ServiceConfig.of(Map.of("ops.host", "nonexist.invalid", "ops.port", "-1"));
        assertEquals("schema.registry.request.timeout.ms = 0 must be a positive number of milliseconds",
                message(Map.of("schema.registry.url", "http://r:8081", "schema.registry.request.timeout.ms", "0")));
        assertEquals("schema.registry.retry.backoff.ms = -1 must be ≥ 0 milliseconds",
                message(Map.of("schema.registry.url", "http://r:8081", "schema.registry.retry.backoff.ms", "-1")));
        assertEquals("producer.transaction.timeout.ms = 'abc' is not a value Kafka takes: Invalid value abc for configuration transaction.timeout.ms:"
                + " Not a number of type INT", message(Map.of("producer.transaction.timeout.ms", "abc")), "it named transaction.timeout.ms alone");
        assertEquals("producer.transaction.timeout.ms = '-5' must be a positive number of milliseconds",
                message(Map.of("producer.transaction.timeout.ms", "-5")));
        assertEquals("max.request.size = 'abc' is not a value Kafka takes: Invalid value abc for configuration max.request.size: Not a number of"
                + " type INT", message(Map.of("max.request.size", "abc")), "it said max.request.size must be at least 1065536");
    }

    /** A variable's key is named with the variable, and a byte order mark does not become part of the first key. */
    @Test
    void anUnknownKeyFromTheEnvironmentNamesTheVariableAndAByteOrderMarkIsSkipped(@TempDir Path dir) throws IOException {
        ConfigException fromVariable = assertThrows(ConfigException.class, () -> ServiceConfig.load(null, Map.of("EXPLAINSTREAM_BOGUS_KEY", "1")));
        assertEquals("unknown configuration key 'bogus.key' (the README lists the service's keys; Kafka keys pass through) (set by the environment"
                + " variable EXPLAINSTREAM_BOGUS_KEY)", fromVariable.getMessage());
        assertEquals("--config = '' is empty; give the properties file, or leave --config out",
                assertThrows(ConfigException.class, () -> ServiceConfig.load(Path.of(""), Map.of())).getMessage(), "it said: is a directory");
        Path bom = dir.resolve("bom.properties");
        Files.write(bom, "\uFEFFbootstrap.servers=h:9092\nbatch.max.events=3\n".getBytes(StandardCharsets.UTF_8));
        ServiceConfig config = ServiceConfig.load(bom, Map.of());
        assertEquals("h:9092", config.prefixed("bootstrap.").get("bootstrap.servers"));
        assertEquals("3", config.get(Setting.BATCH_MAX_EVENTS));
    }

    @Test
    void goodKafkaValuesAndTopicSettingsPass() {
        ServiceConfig.of(Map.of("processing.guarantee", "at_least_once", "session.timeout.ms", "6000", "producer.linger.ms", "5",
                "topic.retention.ms", "whatever the broker says", "sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required;"));
    }

    /**
     * A replaced stream thread does not leave the group, so its successor waits for the session
     * timeout: the service shortens Kafka's 45 s to 10 s for its main consumer, unless told otherwise
     * under any of the three keys Kafka Streams reads it from.
     */
    @Test
    void theSessionTimeoutIsTenSecondsUnlessGiven() {
        String key = "main.consumer.session.timeout.ms";
        assertEquals("10000", ServiceConfig.of(Map.of()).streamsProperties().get(key));
        for (String given : java.util.List.of("session.timeout.ms", "consumer.session.timeout.ms", key)) {
            java.util.Properties properties = ServiceConfig.of(Map.of(given, "30000")).streamsProperties();
            assertEquals("30000", properties.get(given), given);
            assertEquals(given.equals(key) ? "30000" : null, properties.get(key), given + " is not overridden by the service's default");
        }
    }

    @Test
    void aReplaysOutOfOrderBoundIsANonNegativeNumberOfMilliseconds() {
        assertEquals("replay.out.of.order.ms = -2 must be -1 (no bound) or at least 0", message(Map.of("replay.out.of.order.ms", "-2")));
        assertEquals(-1, ServiceConfig.of(Map.of("replay.out.of.order.ms", "-1")).replayOutOfOrderMs());
        assertTrue(message(Map.of("replay.out.of.order.ms", "5m")).startsWith("replay.out.of.order.ms = '5m'"), message(Map.of("replay.out.of.order.ms", "5m")));
    }

    private static String message(Map<String, String> settings) {
        return assertThrows(ConfigException.class, () -> ServiceConfig.of(settings)).getMessage();
    }

    /** The consumer refuses a session timeout at or below its heartbeat in its constructor, as a stack trace: said first, with both keys. */
    @Test
    void aSessionTimeoutAtOrBelowTheHeartbeatIsRefusedNamingBoth() {
        assertEquals("session.timeout.ms = 2000 must be greater than heartbeat.interval.ms = 3000 (Kafka's default): set heartbeat.interval.ms to"
                + " a third of the session timeout or less", assertThrows(ConfigException.class,
                        () -> ServiceConfig.of(Map.of("session.timeout.ms", "2000"))).getMessage());
        assertEquals("session.timeout.ms = 6000 must be greater than heartbeat.interval.ms = 6000: set heartbeat.interval.ms to a third of the"
                + " session timeout or less", assertThrows(ConfigException.class,
                        () -> ServiceConfig.of(Map.of("main.consumer.session.timeout.ms", "6000", "consumer.heartbeat.interval.ms", "6000"))).getMessage());
        ServiceConfig.of(Map.of("session.timeout.ms", "2000", "heartbeat.interval.ms", "600"));
    }

    @Test
    void aBatchTimeWhoseTransactionTimeoutOverflowsIsRefusedNamingIt() {
        assertEquals("batch.max.seconds = 1e9 is too large: the transaction timeout, 3 times it, must fit in 2147483647 ms, and brokers allow 900000"
                + " ms (transaction.max.timeout.ms) by default", assertThrows(ConfigException.class,
                        () -> ServiceConfig.of(Map.of("batch.max.seconds", "1e9"))).getMessage());
    }

    /** The dashboard command refused what run took from the same file. */
    @Test
    void aDashboardAuthWithoutAColonIsRefusedByEveryCommandAndAnotherGuaranteeIsWarnedOf() {
        for (String half : new String[] {"nopassword", ":", "auditor:", ":s3cret"}) {
            assertEquals("dashboard.auth must be user:password, neither of them empty (the value is not shown)", assertThrows(ConfigException.class,
                    () -> ServiceConfig.of(Map.of("dashboard.auth", half))).getMessage(), half);
        }
        assertEquals("[hidden]", ServiceConfig.of(Map.of("dashboard.auth", "auditor:s3:cret")).describe().get("dashboard.auth"), "a colon in the password");
        assertEquals("processing.guarantee = at_least_once: explanations and dead letters may be written twice after a crash or a broker outage;"
                + " the default, exactly_once_v2, writes each once", ServiceConfig.of(Map.of("processing.guarantee", "at_least_once"))
                        .guaranteeWarning().orElseThrow());
        assertEquals(java.util.Optional.empty(), ServiceConfig.of(Map.of()).guaranteeWarning());
    }

    @Test
    void aModelListWithAGapIsRefused() {
        assertEquals("model.accept = ',,,' has an empty name at position 1; leave it empty to explain every model", assertThrows(ConfigException.class,
                () -> ServiceConfig.of(Map.of("model.accept", ",,,"))).getMessage());
        assertEquals("model.accept = 'a,,b' has an empty name at position 2; leave it empty to explain every model", assertThrows(ConfigException.class,
                () -> ServiceConfig.of(Map.of("model.accept", "a,,b"))).getMessage());
        assertEquals(java.util.Set.of("a", "b"), ServiceConfig.of(Map.of("model.accept", " a , b ")).validationPolicy().acceptedModels());
    }
}
