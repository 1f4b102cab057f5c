package io.explainstream.stream.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.explainstream.testing.InJvmKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A reader that commits nothing (tail), its partitions taken away and given back, as when a broker
 * outage outlasts the session timeout: without kept positions, auto.offset.reset = earliest read
 * the topic again. A forced rebalance on a real broker does the same to the reader's partitions.
 */
@Tag("slow")
class KeptPositionsTest {

    private static InJvmKafka kafka;

    @BeforeAll
    static void startBroker() throws Exception {
        kafka = InJvmKafka.start();
    }

    @AfterAll
    static void stopBroker() throws Exception {
        kafka.close();
    }

    /** Polls until {@code expected} values came, or the time ran out, and half a second more to catch any that should not come. */
    private static List<String> poll(KafkaConsumer<byte[], byte[]> consumer, KeptPositions positions, int expected, Duration timeout) {
        List<String> values = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        long settled = Long.MAX_VALUE;
        while (System.nanoTime() < Math.min(deadline, settled)) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                values.add(new String(record.value(), StandardCharsets.UTF_8));
            }
            positions.polled();
            if (values.size() >= expected && settled == Long.MAX_VALUE) {
                settled = System.nanoTime() + Duration.ofMillis(500).toNanos();
            }
        }
        return values;
    }

    @Test
    void partitionsThatComeBackAfterARebalanceResumeWhereTheReaderWas() throws Exception {
        kafka.createTopic("explanations", 2);
        kafka.produce("explanations", List.of(new String[] {"a", "e-0"}, new String[] {"b", "e-1"}));
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.readCommittedConsumer(kafka.clientSettings(), "kept-positions-test", "earliest")) {
            KeptPositions positions = KeptPositions.subscribe(consumer, List.of("explanations"));
            assertEquals(List.of("e-0", "e-1"), poll(consumer, positions, 2, Duration.ofSeconds(15)).stream().sorted().toList());
            consumer.enforceRebalance(); // the partitions are revoked and assigned again, with no committed offset
            kafka.produce("explanations", List.<String[]>of(new String[] {"a", "e-2"}));
            assertEquals(List.of("e-2"), poll(consumer, positions, 1, Duration.ofSeconds(15)), "what is new, not the topic again");
        }
    }

    @Test
    void aSubscriptionWithoutRecordsStartsAsTheResetSays() throws Exception {
        kafka.createTopic("empty", 1);
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaClients.readCommittedConsumer(kafka.clientSettings(), "kept-positions-test", "earliest")) {
            KeptPositions positions = KeptPositions.subscribe(consumer, List.of("empty"));
            assertEquals(List.of(), poll(consumer, positions, 0, Duration.ofSeconds(2)));
            kafka.produce("empty", List.<String[]>of(new String[] {"k", "first"}));
            assertEquals(List.of("first"), poll(consumer, positions, 1, Duration.ofSeconds(15)));
        }
    }
}
