package io.explainstream.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.helpers.MessageFormatter;

class QuietMessagesTest {

    private static final String SENDER = "org.apache.kafka.clients.producer.internals.Sender";
    /** Kafka 4.3's text, with the context prefix its {@code LogContext} puts before it. */
    private static final String RETRY = "[Producer clientId=explainstream-demo-StreamThread-1-producer, transactionalId=explainstream-demo-1] "
            + "Got error produce response with correlation id {} on topic-partition {}, retrying ({} attempts left). Error: {}";

    @BeforeAll
    static void configureSimpleLogger() {
        LoggerFactory.getILoggerFactory(); // slf4j-simple reads its configuration when its factory is made
    }

    @Test
    void theTransactionRetriesOfKafkasProducerAreQuietAndItsOtherWarningsAreNot() {
        for (LogFormat format : LogFormat.values()) {
            FormattingLogger sender = new FormattingLogger(SENDER, format);
            List<String> lines = stderrOf(logger -> {
                // as Kafka's location-ignorant logger passes it: the pattern and the arguments
                logger.warn(RETRY, 25, "explainstream-demo-pending-events-changelog-0", 2147483646, "CONCURRENT_TRANSACTIONS");
                logger.warn(RETRY, 26, "explainstream-demo-pending-events-changelog-0", 2147483646, "OUT_OF_ORDER_SEQUENCE_NUMBER");
                // as its location-aware logger passes it: already formatted
                logger.warn(MessageFormatter.arrayFormat(RETRY, new Object[] {27, "explanations-1", 5, "CONCURRENT_TRANSACTIONS"}).getMessage());
                // what an operator must still see: another error, and one the broker explained
                logger.warn(RETRY, 28, "explanations-0", 4, "NOT_LEADER_OR_FOLLOWER");
                logger.warn(RETRY, 29, "explanations-0", 3, "OUT_OF_ORDER_SEQUENCE_NUMBER. Error Message: the broker's own words");
            }, sender);
            assertEquals(2, lines.size(), format + ": " + lines);
            assertTrue(lines.get(0).contains("correlation id 28") && lines.get(0).contains("Error: NOT_LEADER_OR_FOLLOWER"), lines.get(0));
            assertTrue(lines.get(1).contains("correlation id 29"), lines.get(1));
        }
    }

    @Test
    void aQuietMessageFromAnotherLoggerIsWrittenAtItsLevel() {
        FormattingLogger other = new FormattingLogger("io.explainstream.test.NotKafka", LogFormat.TEXT);
        List<String> lines = stderrOf(logger -> logger.warn(RETRY, 25, "p-0", 1, "CONCURRENT_TRANSACTIONS"), other);
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).contains(" WARN "), lines.get(0));
    }

    /**
     * The lines this thread wrote to standard error while {@code logging} ran: a class that runs
     * beside this one (see RunsBeside) may log from its own threads meanwhile.
     */
    private static List<String> stderrOf(Consumer<FormattingLogger> logging, FormattingLogger logger) {
        String thread = Thread.currentThread().getName();
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.err;
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            logging.accept(logger);
        } finally {
            System.setErr(original);
        }
        return captured.toString(StandardCharsets.UTF_8).lines()
                .filter(line -> line.contains("[" + thread + "]") || line.contains("\"thread\":\"" + thread + "\"")).toList();
    }
}
