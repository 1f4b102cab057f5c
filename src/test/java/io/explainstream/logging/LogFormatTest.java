package io.explainstream.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.testing.ServiceProcess;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogFormatTest {

    @Test
    void jsonLinesCarryTimeLevelLoggerThreadMessageAndTheStackTrace() throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.err;
        FormattingLogger logger = new FormattingLogger("io.explainstream.test.JsonLogs", LogFormat.JSON);
        Instant before = Instant.now();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            logger.warn("batch of {} events failed: \"{}\"", 8, "bad\nline", new IllegalStateException("boom"));
            logger.debug("not written: the level is info");
        } finally {
            System.setErr(original);
        }
        List<String> lines = captured.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("io.explainstream.test.JsonLogs")).toList();
        assertEquals(1, lines.size(), "one line per event, debug filtered by slf4j-simple's level: " + lines);
        JsonNode line = new ObjectMapper().readTree(lines.get(0));
        assertEquals("WARN", line.get("level").asText());
        assertEquals("io.explainstream.test.JsonLogs", line.get("logger").asText());
        assertEquals(Thread.currentThread().getName(), line.get("thread").asText());
        assertEquals("batch of 8 events failed: \"bad\nline\"", line.get("message").asText(), "arguments filled in, newline kept inside the string");
        assertTrue(line.get("error").asText().startsWith("java.lang.IllegalStateException: boom"), line.get("error").asText());
        assertTrue(!Instant.parse(line.get("time").asText()).isBefore(before.minusSeconds(1)), "an ISO-8601 time");
    }

    @Test
    void theFormatComesFromThePropertyOrTheEnvironmentAndABadValueIsNamed() {
        assertEquals(LogFormat.TEXT, LogFormat.resolve(null, Map.of()));
        assertEquals(LogFormat.JSON, LogFormat.resolve(null, Map.of("EXPLAINSTREAM_LOG_FORMAT", "JSON")));
        assertEquals(LogFormat.TEXT, LogFormat.resolve("text", Map.of("EXPLAINSTREAM_LOG_FORMAT", "json")), "the system property wins");
        var bad = assertThrows(IllegalArgumentException.class, () -> LogFormat.resolve(null, Map.of("EXPLAINSTREAM_LOG_FORMAT", "xml")));
        assertEquals("EXPLAINSTREAM_LOG_FORMAT = 'xml' is not a log format (use text or json)", bad.getMessage());
    }

    @Test
    void theCommandLineRefusesABadLogFormatBeforeItStarts(@TempDir Path dir) throws Exception {
        try (ServiceProcess run = ServiceProcess.start(List.of("--version"), List.of(), Map.of("EXPLAINSTREAM_LOG_FORMAT", "xml"),
                dir.resolve("out.log"), Duration.ofSeconds(60))) {
            assertTrue(run.process().waitFor(60, TimeUnit.SECONDS));
            assertEquals(2, run.process().exitValue(), run.output());
            assertEquals("error: EXPLAINSTREAM_LOG_FORMAT = 'xml' is not a log format (use text or json)", run.output().strip());
        }
    }
}
