package io.explainstream.attribution;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.model.LlamaModel;
import io.explainstream.model.ModelOptions;
import io.explainstream.tokenize.LlamaTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * 1,000 events through the engine in one process, after a warm-up: native memory stays flat. The
 * tolerance (5%, about 36 MB, so 36 kB per event) is generous for noise; the leak it guards against
 * (a batch's graph kept alive, megabytes per event) grows RSS by gigabytes.
 */
@Isolated("measures the test JVM's resident memory")
@Order(Integer.MAX_VALUE) // after every other class: see junit-platform.properties
class EngineMemoryTest {

    /**
     * Events before the baseline reading. Measured here: RSS rises by about 35 MB over the first
     * 1,000 events (allocator arenas and libtorch's caches reaching their working size), then
     * stays within 0.6% for the next 2,000 (a fresh clone's run on 2026-12-03: 718,304 kB after the
     * warm-up, 721,288 kB 1,000 events later, 722,184 kB after 2,000).
     */
    private static final int WARM_UP = 1000;
    private static final int EVENTS = 1000;

    @Test
    @Tag("slow") // a soak test: two thousand events, half of them warm-up
    void aThousandEventsAfterTheWarmUpKeepResidentMemoryFlat() throws Exception {
        try (LlamaModel model = LlamaModel.load(TestData.stories260K(), ModelOptions.CPU_FLOAT32);
                LlamaTokenizer tokenizer = LlamaTokenizer.load(TestData.stories260K())) {
            AttributionEngine engine = new AttributionEngine(model, tokenizer);
            List<AttributionRequest> events = List.of(
                    new AttributionRequest(tokenizer.encodePrompt("Once upon a time, there was a little girl named"), tokenizer.encodeResponse("Lily. She loved to play")),
                    new AttributionRequest(tokenizer.encodePrompt("One day,"), tokenizer.encodeResponse("a little girl named Lily")));
            AttributionSettings seq = AttributionSettings.DEFAULTS.withSteps(4);
            AttributionSettings matrix = seq.withTokenMatrix(true);
            long warm = 0;
            for (int i = 0; i < WARM_UP + EVENTS; i++) {
                // alternate lengths, modes and batch sizes, as traffic does
                if (i % 3 == 2) {
                    engine.attribute(events, seq);
                } else {
                    engine.attribute(events.get(i % 2), i % 5 == 0 ? matrix : seq);
                }
                if (i % 500 == 499) {
                    System.out.printf("RSS after %d events: %d kB%n", i + 1, residentKbAfterGc());
                }
                if (i == WARM_UP - 1) {
                    warm = residentKbAfterGc();
                }
            }
            long end = residentKbAfterGc();
            double growth = (end - warm) / (double) warm;
            System.out.printf("RSS after %d warm-up events %d kB, after %d more %d kB (%+.2f%%)%n", WARM_UP, warm, EVENTS, end, 100 * growth);
            assertTrue(growth < 0.05, "RSS grew " + warm + " -> " + end + " kB over " + EVENTS + " events");
        }
    }

    private static long residentKbAfterGc() throws Exception {
        System.gc();
        Thread.sleep(200);
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
