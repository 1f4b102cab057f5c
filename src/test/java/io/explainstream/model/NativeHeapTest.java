package io.explainstream.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import io.explainstream.testing.BundledModel;
import io.explainstream.testing.StandardError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

@Isolated("measures the test JVM's resident memory")
@Order(Integer.MAX_VALUE) // after every other class: see junit-platform.properties
class NativeHeapTest {

    /**
     * Once a model is loaded on the CPU, a block of the size of a long prompt's attention scores
     * (24 MB) that is freed stays in the process for the next pass: the resident memory does not
     * fall. By glibc's defaults such a block was mapped afresh and unmapped when freed, and its pages
     * were faulted in again at every pass (8 integrated-gradients points of a 500-token prompt took
     * 2.0 to 4.1 s, against 0.43 to 0.62 s kept).
     */
    @Test
    void aFreedBlockOfAPasssSizeStaysInTheProcessOnceAModelIsLoaded() throws IOException {
        BundledModel.get();
        long block = 24L << 20;
        for (int round = 0; round < 3; round++) {
            Memory scores = new Memory(block);
            scores.clear(); // touches every page
            long withIt = residentBytes();
            scores.close();
            long after = residentBytes();
            assertTrue(withIt - after < block / 4, "round " + round + ": resident " + withIt + " bytes with the block, " + after + " after it was freed");
        }
    }

    /** The parameters, in order, where the environment sets none. */
    @Test
    void itKeepsFreedMemoryWhereTheEnvironmentSetsNoMallocParameter() {
        Recording c = new Recording(1);
        assertEquals(NativeHeap.Outcome.KEPT, NativeHeap.keepFreedMemory(Map.of("PATH", "/usr/bin"), Optional.of(c)));
        assertEquals(List.of("-3=" + (32 << 20), "-1=-1", "-2=" + (256 << 20)), c.calls);
    }

    /** An operator's own malloc settings stand: nothing is called. */
    @Test
    void anOperatorsMallocSettingsStand() {
        for (Map<String, String> environment : List.of(Map.of("MALLOC_TRIM_THRESHOLD_", "1"), Map.of("MALLOC_ARENA_MAX", "2"),
                Map.of("GLIBC_TUNABLES", "glibc.rtld.nns=4:glibc.malloc.check=0"))) {
            Recording c = new Recording(1);
            assertEquals(NativeHeap.Outcome.SET_BY_THE_ENVIRONMENT, NativeHeap.keepFreedMemory(environment, Optional.of(c)), environment.toString());
            assertEquals(List.of(), c.calls, environment.toString());
        }
        // Tunables of other parts of glibc are no malloc setting.
        assertEquals(NativeHeap.Outcome.KEPT, NativeHeap.keepFreedMemory(Map.of("GLIBC_TUNABLES", "glibc.rtld.nns=4"), Optional.of(new Recording(1))));
    }

    /** A glibc that refuses a value is logged and the model still loads: slower, not wrong. */
    @Test
    void aRefusedValueIsLoggedAndNothingFails() {
        Recording c = new Recording(0);
        String log = StandardError.during(() -> assertEquals(NativeHeap.Outcome.REFUSED, NativeHeap.keepFreedMemory(Map.of(), Optional.of(c))));
        assertTrue(log.contains("glibc 2.99 refused mallopt(M_MMAP_THRESHOLD, 33554432)"), log);
    }

    /** This machine's C library is glibc, and takes the values. */
    @Test
    void thisMachinesGlibcTakesTheValues() {
        Optional<NativeHeap.CLibrary> glibc = NativeHeap.glibc();
        assertTrue(glibc.isPresent(), "glibc on Linux");
        assertEquals(NativeHeap.Outcome.KEPT, NativeHeap.keepFreedMemory(Map.of(), glibc));
    }

    private static long residentBytes() throws IOException {
        // /proc/self/statm: size resident shared text lib data dt, in pages.
        String[] fields = Files.readString(Path.of("/proc/self/statm")).trim().split("\\s+");
        return Long.parseLong(fields[1]) * 4096;
    }

    /** A C library that records each mallopt call and returns {@code answer}. */
    private static final class Recording implements NativeHeap.CLibrary {
        private final int answer;
        private final List<String> calls = new ArrayList<>();

        Recording(int answer) {
            this.answer = answer;
        }

        @Override
        public int mallopt(int param, int value) {
            calls.add(param + "=" + value);
            return answer;
        }

        @Override
        public String gnu_get_libc_version() {
            return "2.99";
        }
    }
}
