package io.explainstream.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where one piece of work spends its wall time, by stage of the engine, from JDK Flight Recorder
 * samples of the calling thread. A sample is charged to the innermost method of this project on
 * its stack (for example {@code LlamaModel.mlp} or {@code IntegratedGradients.backward}, which is the
 * whole backward pass), and counted as libtorch when the thread was in a native call, as Java
 * otherwise (this project's code, DJL's wrappers, the JVM). Sampling does not slow the operators
 * down, unlike libtorch's profiler (see {@link OperatorProfile}), so these shares are the ones
 * to trust.
 *
 * @param samples the samples taken
 * @param runs how many times the work ran to collect them
 * @param stages the stages, most samples first
 */
public record StageProfile(int samples, int runs, List<Stage> stages) {

    /** One stage's share of the samples, split into time in libtorch and in Java. */
    public record Stage(String name, int inLibtorch, int inJava) {
        public int total() {
            return inLibtorch + inJava;
        }
    }

    private static final String PROJECT = "io.explainstream.";
    private static final Duration PERIOD = Duration.ofMillis(10);

    /** The share of all samples spent in Java rather than in libtorch. */
    public double javaShare() {
        return stages.stream().mapToInt(Stage::inJava).sum() / (double) Math.max(1, samples);
    }

    /**
     * Runs {@code work} under Flight Recorder until at least {@code minimum} has passed and this
     * thread has been sampled {@code minimumSamples} times, or {@code cap} has passed. Flight
     * Recorder samples only a few threads per period, chosen among all the JVM's threads, so in a
     * JVM with many threads in native code (a test JVM, a service) this thread's samples come
     * slower than one per period; the work is run again until there are enough.
     */
    public static StageProfile sample(Runnable work, Duration minimum, int minimumSamples, Duration cap) {
        long threadId = Thread.currentThread().getId();
        long started = System.nanoTime();
        int runs = 0;
        Path file = null;
        try (Recording recording = new Recording()) {
            recording.enable("jdk.ExecutionSample").withPeriod(PERIOD);
            recording.enable("jdk.NativeMethodSample").withPeriod(PERIOD);
            recording.start();
            file = Files.createTempFile("explainstream-stages-", ".jfr");
            StageProfile profile;
            do {
                long roundEnd = System.nanoTime() + minimum.toNanos();
                do {
                    work.run();
                    runs++;
                } while (System.nanoTime() < roundEnd);
                recording.dump(file); // what was recorded so far; the recording goes on
                profile = summarize(RecordingFile.readAllEvents(file), threadId, runs);
            } while (profile.samples() < minimumSamples && System.nanoTime() - started < cap.toNanos());
            return profile;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write or read the flight recording " + file, e);
        } finally {
            if (file != null) {
                file.toFile().delete();
            }
        }
    }

    private static StageProfile summarize(List<RecordedEvent> events, long threadId, int runs) {
        Map<String, int[]> counts = new HashMap<>(); // stage → {libtorch, java}
        int samples = 0;
        for (RecordedEvent event : events) {
            boolean inNative = event.getEventType().getName().equals("jdk.NativeMethodSample");
            if (event.getThread("sampledThread") == null || event.getThread("sampledThread").getJavaThreadId() != threadId) {
                continue;
            }
            samples++;
            counts.computeIfAbsent(stage(event.getStackTrace()), k -> new int[2])[inNative ? 0 : 1]++;
        }
        List<Stage> stages = new ArrayList<>();
        counts.forEach((name, c) -> stages.add(new Stage(name, c[0], c[1])));
        stages.sort(Comparator.comparingInt(Stage::total).reversed());
        return new StageProfile(samples, runs, List.copyOf(stages));
    }

    /** The innermost method of this project on the stack, as Class.method; "other" if none. */
    private static String stage(RecordedStackTrace stack) {
        if (stack == null) {
            return "other";
        }
        for (RecordedFrame frame : stack.getFrames()) {
            String type = frame.getMethod().getType().getName();
            if (type.startsWith(PROJECT) && !type.startsWith(PROJECT + "bench.")) {
                String simple = type.substring(type.lastIndexOf('.') + 1);
                return simple + "." + frame.getMethod().getName();
            }
        }
        return "other";
    }
}
