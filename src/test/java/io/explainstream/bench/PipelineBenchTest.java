package io.explainstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The arithmetic of the statistics' overhead rounds, and a pipeline run with an event that is not explained (the runs themselves: BenchCommandTest). */
class PipelineBenchTest {

    /**
     * An event of the pipeline run becomes a dead letter: the run ends once every other event is
     * explained, with an error that names it and the reason, and reports no latency. Before, the
     * bench waited half an hour for its explanation and then left it out of the percentiles
     * without a word.
     */
    @Test
    @Tag("slow") // a broker and a service
    void aRunWhoseEventBecomesADeadLetterEndsWithAnErrorThatNamesIt(@TempDir Path home) throws Exception {
        List<String> payloads = List.of(
                "{\"event_id\":\"bench-0\",\"timestamp\":1,\"model\":\"stories260K\",\"prompt\":\"Tom ran.\",\"response\":\"He fell.\"}",
                "{\"event_id\":\"bench-1\",\"timestamp\":1,\"model\":\"stories260K\",\"prompt\":\"Tom ran.\",\"response\":\"\"}",
                "{\"event_id\":\"bench-2\",\"timestamp\":1,\"model\":\"stories260K\",\"prompt\":\"Sue sang.\",\"response\":\"It was fun.\"}");
        PipelineBench bench = new PipelineBench(new PrintWriter(new StringWriter()));
        try (PipelineBench.Cluster cluster = new PipelineBench.Cluster()) {
            PipelineBench.Incomplete incomplete = assertThrows(PipelineBench.Incomplete.class,
                    () -> bench.pipeline(cluster, home, TestData.stories260K(), payloads, 2, 2, false));
            String message = incomplete.getMessage();
            assertTrue(message.startsWith("the pipeline explained 2 of the 3 events sent: bench-1 became a dead letter (") && message.contains("response"),
                    message);
        }
    }

    @Test
    void theMedianOfTheRoundsIsTheMiddleOneOrTheMeanOfTheTwoMiddleOnes() {
        assertEquals(2.0, PipelineBench.median(List.of(9.0, -1.0, 2.0)));
        assertEquals(1.5, PipelineBench.median(List.of(9.0, -1.0, 2.0, 1.0)));
    }

    @Test
    void aRoundComparesTheRunsAndTheServicesOwnWorkOutsideTheEngine() {
        // Without: 20 s, 18 s of it in the engine (2 s of its own); with: 22 s, 19.5 s in the engine (2.5 s of its own).
        PipelineBench.Round round = new PipelineBench.Round(1, false, new PipelineBench.PipelineRun(20, List.of(), Map.of(), 18),
                new PipelineBench.PipelineRun(22, List.of(), Map.of(), 19.5));
        assertEquals(10.0, round.overheadPercent(), 1e-9);
        assertEquals(2.5, round.outsideEnginePercent(), 1e-9, "(2.5 − 2) / 20");
    }
}
