package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.explainstream.testing.ManualClock;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * The lines tail says through an outage, in order: once that the cluster does not answer, once
 * that it answers again. A consumer whose cluster can be switched off stands in for a broker
 * restart, which the in-JVM test broker cannot do; TailCommandTest stops a real one.
 */
class ClusterWatchTest {

    /** A consumer whose cluster answers or not, as the test says. */
    private static final class Cluster extends MockConsumer<byte[], byte[]> {
        boolean answers = true;

        Cluster() {
            super(OffsetResetStrategy.EARLIEST);
        }

        @Override
        public synchronized Map<String, List<PartitionInfo>> listTopics(Duration timeout) {
            if (!answers) {
                throw new TimeoutException("Timeout expired while fetching topic metadata");
            }
            return Map.of();
        }
    }

    @Test
    void saysOnceThatTheClusterStoppedAnsweringAndOnceThatItAnswersAgain() {
        ManualClock clock = new ManualClock();
        StringWriter said = new StringWriter();
        ClusterWatch watch = new ClusterWatch("tail", "127.0.0.1:9092", new PrintWriter(said), clock);
        try (Cluster cluster = new Cluster()) {
            for (boolean answers : new boolean[] {true, false, false, false, true, true, false}) {
                cluster.answers = answers;
                watch.check(cluster);
                clock.advance(Duration.ofSeconds(1));
                watch.check(cluster); // within 5 s of the last question: not asked again
                clock.advance(Duration.ofSeconds(5));
            }
        }
        assertEquals(List.of("tail: the Kafka cluster at 127.0.0.1:9092 does not answer; waiting for it (reading goes on where it was when it answers)",
                "tail: the Kafka cluster at 127.0.0.1:9092 answers again",
                "tail: the Kafka cluster at 127.0.0.1:9092 does not answer; waiting for it (reading goes on where it was when it answers)"),
                said.toString().lines().toList());
    }
}
