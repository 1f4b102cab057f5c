package io.explainstream.embedded;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.testing.RunsBeside;
import io.explainstream.testing.ServiceProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded broker runs in a session of its own, so that Ctrl-C reaches the service first. When
 * the process that started it is killed outright (SIGKILL: no shutdown hook runs), the broker must
 * not live on, holding its ports and its data folder's lock; it stops itself.
 */
@Tag("slow")
@RunsBeside
class OrphanedBrokerTest {

    @Test
    void theEmbeddedBrokerStopsWhenItsOwnerIsKilled(@TempDir Path dir) throws Exception {
        try (ServiceProcess run = ServiceProcess.start(List.of("run", "--data", dir.resolve("data").toString()), List.of(),
                Map.of("EXPLAINSTREAM_STATE_DIR", dir.resolve("state").toString(), "EXPLAINSTREAM_OPS_PORT", "-1"), dir.resolve("run.log"),
                Duration.ofMinutes(3))) {
            assertTrue(run.awaitOutput("ExplainStream running", Duration.ofSeconds(150)), run.output());
            Matcher broker = Pattern.compile("embedded Kafka broker at (\\S+) ").matcher(run.output());
            assertTrue(broker.find(), run.output());
            String address = broker.group(1);
            assertTrue(EmbeddedKafkaBroker.accepts(address), "the broker is up at " + address);
            List<ProcessHandle> children = run.process().children().toList();
            run.process().destroyForcibly(); // the owner only: the broker is in another session
            run.process().waitFor();
            for (ProcessHandle child : children) {
                child.onExit().get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
            assertFalse(EmbeddedKafkaBroker.accepts(address), "the orphaned broker stopped itself");
        }
    }
}
