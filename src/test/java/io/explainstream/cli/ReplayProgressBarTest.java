package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A replay's progress line: the rate and time left of this run, from its first progress on. */
class ReplayProgressBarTest {

    /**
     * A replay resumed at 3,773 of 12,000 records: counted from the start, the service's start-up
     * made its first lines say "0.2/s · 35114 s left" for a run of two minutes (a hostile test).
     */
    @Test
    void aResumedReplaySaysItsRateOnlyOnceItsOwnProgressIsMeasured() {
        StringWriter text = new StringWriter();
        ReplayCommand.ProgressBar bar = new ReplayCommand.ProgressBar(new PrintWriter(text), false);
        bar.update(3_773, 12_000, 3_773, 0);
        bar.update(3_775, 12_000, 3_773, 10); // the first batch, after the start-up
        bar.update(3_900, 12_000, 3_773, 14); // within a few seconds of it: printed every 5 s without a console
        bar.update(4_800, 12_000, 3_773, 20); // 1,025 records in the 10 s since the first progress
        bar.update(12_000, 12_000, 3_773, 90);
        List<String> lines = text.toString().lines().toList();
        assertEquals(List.of(
                "[#########.....................] 3773/12000 records · — /s · time left not known yet",
                "[#########.....................] 3775/12000 records · — /s · time left not known yet",
                "[############..................] 4800/12000 records · 102.5/s · 70 s left",
                "[##############################] 12000/12000 records · 102.8/s · 0 s left"), lines);
    }

    @Test
    void aReplayDoneBeforeItsRateIsMeasuredSaysDone() {
        StringWriter text = new StringWriter();
        ReplayCommand.ProgressBar bar = new ReplayCommand.ProgressBar(new PrintWriter(text), false);
        bar.update(0, 3, 0, 0);
        bar.update(3, 3, 0, 2);
        assertEquals("[##############################] 3/3 records · done", text.toString().lines().reduce((a, b) -> b).orElseThrow());
    }
}
