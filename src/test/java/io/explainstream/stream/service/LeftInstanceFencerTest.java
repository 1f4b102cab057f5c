package io.explainstream.stream.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

class LeftInstanceFencerTest {

    private static final String P1 = "0f8a6c1e-3b2d-4c5e-8f9a-0123456789ab";
    private static final String P2 = "9e1d2c3b-4a5f-4e6d-9c8b-abcdef012345";

    private static LeftInstanceFencer fencer(String applicationId) {
        Properties properties = new Properties();
        properties.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        return new LeftInstanceFencer(properties, Duration.ofSeconds(2), List::of);
    }

    /** Kafka Streams' consumer names give the process and its threads; other names (an operator's client.id, another group's) none. */
    @Test
    void theGroupsMembersNameTheirProcessesAndThreads() {
        Map<String, Set<Integer>> processes = fencer("explain.v1").processes(List.of("explain.v1-" + P1 + "-StreamThread-1-consumer",
                "explain.v1-" + P1 + "-StreamThread-3-consumer", "explain.v1-" + P2 + "-StreamThread-2-consumer", "my-client-StreamThread-1-consumer",
                "explainXv1-" + P1 + "-StreamThread-1-consumer", "explain.v1-" + P2 + "-StreamThread-2-restore-consumer"));
        assertEquals(Map.of(P1, Set.of(1, 3), P2, Set.of(2)), processes);
    }

    /** A process gone from the stable group is fenced, each thread's producer; one still there, or this instance's own, is not. */
    @Test
    void theProcessesThatLeftAreFencedButNotThisOne() {
        Map<String, Set<Integer>> before = Map.of(P1, Set.of(1), P2, Set.of(1, 2));
        assertEquals(Set.of("app-" + P2 + "-1", "app-" + P2 + "-2"), LeftInstanceFencer.transactionalIdsOfTheLeft("app", before, Map.of(P1, Set.of(1)), Set.of(P1)));
        assertEquals(Set.of(), LeftInstanceFencer.transactionalIdsOfTheLeft("app", before, Map.of(P1, Set.of(1)), Set.of(P2)), "its own");
        assertEquals(Set.of(), LeftInstanceFencer.transactionalIdsOfTheLeft("app", before, before, Set.of(P1)), "nobody left");
        assertEquals(Set.of(), LeftInstanceFencer.transactionalIdsOfTheLeft("app", Map.of(), Map.of(P1, Set.of(1)), Set.of(P1)), "a first look");
    }
}
