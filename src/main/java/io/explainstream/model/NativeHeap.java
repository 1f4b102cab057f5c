package io.explainstream.model;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How glibc's malloc keeps the native memory that libtorch frees on a CPU.
 *
 * <p>By default glibc maps a block over its mmap threshold (128 KB at first, raised to the size of
 * each mapped block freed, up to 32 MB) afresh from the kernel and unmaps it when it is freed, and
 * returns the top of its heaps to the kernel once more than twice that threshold is free. A pass of
 * the engine allocates and frees its activations (attention scores of heads × L² per row: 8 MB for
 * one 500-token row of the bundled model) hundreds of times, so each time their pages were faulted
 * in and zeroed anew, and how often depended on what the process had allocated before: on 2 cores,
 * 8 integrated-gradients points of a 500-token prompt took 2.0 to 4.1 s by default against 0.43 to
 * 0.62 s with freed memory kept, and one input×gradient call 0.3 to 0.5 s against 0.08 to 0.1
 * (docs/benchmarks.md, "glibc's malloc and libtorch's activations"). Kept, the process holds its
 * peak native heap for reuse rather than returning it between batches.
 *
 * <p>Where the environment already sets one of glibc's malloc parameters (a {@code MALLOC_*} variable,
 * or a {@code glibc.malloc} tunable in {@code GLIBC_TUNABLES}), the operator's choice stands and
 * nothing is changed: {@code GLIBC_TUNABLES=glibc.malloc.check=0} (glibc's default) keeps its defaults.
 */
public final class NativeHeap {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NativeHeap.class);

    /** mallopt(3)'s parameters, as glibc's malloc.h numbers them. */
    private static final int M_TRIM_THRESHOLD = -1;
    private static final int M_TOP_PAD = -2;
    private static final int M_MMAP_THRESHOLD = -3;
    /** glibc's largest mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX): blocks up to it come from the heaps. */
    static final int MMAP_THRESHOLD_BYTES = 32 << 20;
    /** Grown by this much more than asked each time, so that a heap grows seldom. */
    static final int TOP_PAD_BYTES = 256 << 20;
    /** Never returns the top of a heap to the kernel (mallopt reads -1 as the largest size). */
    private static final int NEVER = -1;

    /** The environment variables by which an operator sets glibc's malloc parameters (and GLIBC_TUNABLES' glibc.malloc.*). */
    private static final List<String> OPERATOR_SETTINGS = List.of("MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_",
            "MALLOC_MMAP_MAX_", "MALLOC_ARENA_MAX", "MALLOC_ARENA_TEST");

    /** What {@link #keepFreedMemory} did. */
    public enum Outcome {
        /** The parameters are set: freed memory stays in the process for the next pass. */
        KEPT,
        /** The environment sets glibc's malloc parameters; they stand. */
        SET_BY_THE_ENVIRONMENT,
        /** Not glibc (another C library or operating system): its allocator is left as it is. */
        NOT_GLIBC,
        /** glibc refused a value (logged): its defaults stand for what was not set. */
        REFUSED
    }

    /** glibc's mallopt, through JNA (which DJL already loads). */
    interface CLibrary extends Library {
        int mallopt(int param, int value);

        String gnu_get_libc_version();
    }

    private NativeHeap() {}

    /** Keeps freed native memory in this process, unless the environment says otherwise; idempotent. */
    public static Outcome keepFreedMemory() {
        return keepFreedMemory(System.getenv(), glibc());
    }

    static Outcome keepFreedMemory(Map<String, String> environment, Optional<CLibrary> glibc) {
        if (OPERATOR_SETTINGS.stream().anyMatch(environment::containsKey) || environment.getOrDefault("GLIBC_TUNABLES", "").contains("glibc.malloc.")) {
            return Outcome.SET_BY_THE_ENVIRONMENT;
        }
        if (glibc.isEmpty()) {
            return Outcome.NOT_GLIBC;
        }
        CLibrary c = glibc.get();
        boolean set = set(c, M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES, "M_MMAP_THRESHOLD") && set(c, M_TRIM_THRESHOLD, NEVER, "M_TRIM_THRESHOLD")
                && set(c, M_TOP_PAD, TOP_PAD_BYTES, "M_TOP_PAD");
        return set ? Outcome.KEPT : Outcome.REFUSED;
    }

    /** One parameter; mallopt returns 1 on success, and a 0 is a glibc that refuses a value this class was written for (slower, not wrong). */
    private static boolean set(CLibrary c, int param, int value, String name) {
        if (c.mallopt(param, value) == 1) {
            return true;
        }
        LOG.warn("glibc {} refused mallopt({}, {}): freed native memory may be returned to the kernel and faulted in again at each"
                + " engine pass (slower on a CPU, not wrong)", c.gnu_get_libc_version(), name, value);
        return false;
    }

    /** The C library, where it is glibc (it alone has gnu_get_libc_version); empty elsewhere. */
    static Optional<CLibrary> glibc() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return Optional.empty();
        }
        try {
            CLibrary c = Native.load("c", CLibrary.class);
            c.gnu_get_libc_version();
            return Optional.of(c);
        } catch (UnsatisfiedLinkError e) {
            return Optional.empty(); // musl and others have no gnu_get_libc_version
        }
    }
}
