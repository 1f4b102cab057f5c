package io.explainstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The arithmetic of the statistics' overhead rounds (the runs themselves: BenchCommandTest). */
class PipelineBenchTest {

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
