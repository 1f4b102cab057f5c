package io.explainstream.model;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import io.explainstream.input.PlainNumber;
import java.util.Locale;

/**
 * How many threads libtorch's CPU operators use (its intra-op pool): a number, or {@link #AUTO}.
 *
 * <p>libtorch's own default is every core the process may be scheduled on. That ignores a
 * container's CPU limit (a quota, not a core set): a service limited to 2 CPUs on a 64-core node
 * would run 64 threads that the quota then stalls. And it leaves no core for the rest of the
 * service: each operator ends when its slowest thread does, so when the Kafka clients, the
 * collector or another process take a core, every operator waits for the thread that lost it
 * (docs/benchmarks.md, "libtorch's threads when the cores are shared": with two other busy
 * processes on 2 cores, 2 threads were 1.8x slower than one at the median and up to 5x at p99;
 * alone, 2 threads were 1.3–1.4x faster).
 *
 * @param requested the count asked for, or 0 for {@link #AUTO}
 */
public record CpuThreads(int requested) {

    /** DJL's own system property; the benchmarks' {@code --threads} sets it. */
    static final String DJL_PROPERTY = "ai.djl.pytorch.num_threads";

    /**
     * DJL's property when it is set; else one less than the processors the JVM may use (which
     * follow a container's CPU limit), leaving one for the service's other threads, and at least 1.
     */
    public static final CpuThreads AUTO = new CpuThreads(0);

    public CpuThreads {
        if (requested < 0) {
            throw new IllegalArgumentException("requested = " + requested + " must be 0 (auto) or positive");
        }
    }

    /** Parses a configuration value, {@code auto} or a positive whole number; {@code key} names the option in the error. */
    public static CpuThreads parse(String key, String value) {
        String text = value.trim().toLowerCase(Locale.ROOT);
        if (text.equals("auto")) {
            return AUTO;
        }
        int count;
        try {
            count = PlainNumber.parseInt(text);
        } catch (NumberFormatException e) {
            count = 0; // refused below, in the caller's words
        }
        if (count <= 0) {
            throw new IllegalArgumentException(key + " = '" + value + "' is not a thread count (use a positive whole number or auto)");
        }
        if (count > limit()) {
            // More threads than this only wait for cores; a typo of 100000 would start threads until the host stalls.
            throw new IllegalArgumentException(key + " = " + count + " is more than " + limit() + ", four times the " + processors()
                    + " processors this JVM may use");
        }
        return new CpuThreads(count);
    }

    /** The most threads a count may ask for: four per processor the JVM may use. */
    static int limit() {
        return 4 * processors();
    }

    private static int processors() {
        return Runtime.getRuntime().availableProcessors();
    }

    /** The count this stands for in this JVM. */
    public int resolve() {
        if (requested > 0) {
            return requested;
        }
        Integer property = Integer.getInteger(DJL_PROPERTY);
        return property != null && property > 0 ? property : Math.max(1, processors() - 1);
    }

    /**
     * Sets libtorch's intra-op thread count for the whole process. libtorch hands the count to each
     * thread at its first operator, so this must run before the threads that compute start
     * (the model loads before the stream thread does).
     */
    void apply() {
        JniUtils.setNumThreads(resolve());
    }

    /** libtorch's intra-op thread count as the calling thread sees it (loading libtorch first, if no model has). */
    public static int inEffect() {
        Engine.getEngine("PyTorch");
        return JniUtils.getNumThreads();
    }

    @Override
    public String toString() {
        return requested > 0 ? Integer.toString(requested) : "auto";
    }
}
