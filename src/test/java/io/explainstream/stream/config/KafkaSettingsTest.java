package io.explainstream.stream.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

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

    @Test
    void goodKafkaValuesAndTopicSettingsPass() {
        ServiceConfig.of(Map.of("processing.guarantee", "at_least_once", "session.timeout.ms", "6000", "producer.linger.ms", "5",
                "topic.retention.ms", "whatever the broker says", "sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required;"));
    }

    private static String message(Map<String, String> settings) {
        return assertThrows(ConfigException.class, () -> ServiceConfig.of(settings)).getMessage();
    }
}
