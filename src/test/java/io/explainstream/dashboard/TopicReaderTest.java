package io.explainstream.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.explainstream.testing.InJvmKafka;
import io.explainstream.testing.RunsBeside;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The dashboard's reader commits nothing, and its partitions are sought to {@code --from} when
 * assigned. A hostile test saw a dashboard started with {@code --from beginning} read the whole
 * explanations topic again after each broker restart (its group dropped it, and the partitions came
 * back), holding every explanation two and three times and calling events explained once
 * "explained 2 times". Partitions added to the topic reassign every partition on a real broker as
 * a rejoin does.
 */
@RunsBeside
@Tag("slow")
class TopicReaderTest {

    @Test
    void partitionsAssignedAgainGoOnWhereTheReaderWasNotFromTheStart() throws Exception {
        try (InJvmKafka kafka = InJvmKafka.start()) {
            kafka.createTopic("explanations", 1);
            kafka.produce("explanations", List.of(new String[] {"a", "e-0"}, new String[] {"b", "e-1"}));
            List<String> read = new CopyOnWriteArrayList<>();
            try (TopicReader reader = new TopicReader("reader-test", kafka.clientSettings(), List.of("explanations"), null,
                    record -> read.add(new String(record.value(), StandardCharsets.UTF_8)), found -> {})) {
                reader.start();
                await(() -> read.size() >= 2, Duration.ofSeconds(30));
                try (Admin admin = Admin.create(Map.<String, Object>copyOf(kafka.clientSettings()))) {
                    admin.createPartitions(Map.of("explanations", NewPartitions.increaseTo(2))).all().get();
                }
                // The reader sees the new partition at its next metadata refresh (5 s), and every partition is assigned again.
                Thread.sleep(8_000);
                kafka.produce("explanations", List.<String[]>of(new String[] {"c", "e-2"}));
                await(() -> read.size() >= 3, Duration.ofSeconds(30));
                Thread.sleep(1_000); // time for anything read twice to arrive
                assertEquals(List.of("e-0", "e-1", "e-2"), read.stream().sorted().toList(), "each record once: " + read);
            }
        }
    }

    private static void await(java.util.function.BooleanSupplier done, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
    }
}
