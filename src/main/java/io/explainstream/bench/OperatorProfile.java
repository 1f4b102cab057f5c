package io.explainstream.bench;

import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where one piece of work spent its time, by libtorch operator, from libtorch's own profiler: the
 * self time of each operator (its time less that of the operators it called), whether it ran in
 * the forward or the backward pass, the time inside operators, and the matrix-product FLOPs actually
 * executed, counted from the recorded shapes. The profiler slows operators down unevenly (see
 * {@link #capture}), so its times rank operators; {@link StageProfile} measures shares.
 *
 * @param wallMs the work's wall-clock time under the profiler (longer than without it)
 * @param insideOperatorsMs the time inside top-level operators, on all threads
 * @param matrixProductGflop 2·M·K·N summed over every {@code mm}, {@code bmm}, {@code addmm} and
 *     {@code baddbmm} call (0 where the trace has no shapes)
 * @param operators self time per operator and pass, largest first
 */
public record OperatorProfile(double wallMs, double insideOperatorsMs, double matrixProductGflop, List<OperatorTime> operators) {

    /** One operator's calls in one pass; the name ends in " [backward]" for the backward pass. */
    public record OperatorTime(String name, long calls, double selfMs) {}

    /** Autograd runs each backward node as an operator with this prefix; what it calls is backward work. */
    private static final String BACKWARD_NODE = "autograd::engine::evaluate_function";

    /**
     * Runs {@code work} twice under libtorch's profiler and sums what it recorded. The first run
     * gives the times, and its Chrome trace stays in {@code traceFile} for chrome://tracing or
     * Perfetto. The second records argument shapes, for the matrix-product FLOPs only: recording
     * shapes made attention-heavy passes 2 to 3 times slower (measured on h256, P64/T16), which
     * would skew the times.
     */
    public static OperatorProfile capture(Runnable work, Path traceFile) {
        double wallMs = profiled(work, traceFile, false);
        OperatorProfile timed = fromTrace(read(traceFile), wallMs);
        Path shapes = traceFile.resolveSibling(traceFile.getFileName() + ".shapes");
        try {
            double shapedMs = profiled(work, shapes, true);
            double gflop = fromTrace(read(shapes), shapedMs).matrixProductGflop();
            return new OperatorProfile(timed.wallMs(), timed.insideOperatorsMs(), gflop, timed.operators());
        } finally {
            try {
                Files.deleteIfExists(shapes);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete " + shapes, e);
            }
        }
    }

    /** Runs {@code work} under the profiler, writes its trace and returns the wall time in ms. */
    private static double profiled(Runnable work, Path traceFile, boolean recordShapes) {
        JniUtils.startProfile(false, recordShapes, false);
        long started = System.nanoTime();
        try {
            work.run();
        } finally {
            JniUtils.stopProfile(traceFile.toString());
        }
        return (System.nanoTime() - started) / 1e6;
    }

    private static JsonNode read(Path traceFile) {
        try {
            return new ObjectMapper().readTree(Files.readAllBytes(traceFile));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the profiler's trace " + traceFile, e);
        }
    }

    /**
     * Sums a Chrome trace of complete ("X") events. Events of one thread nest by time: a call that
     * starts inside another's span is its child.
     */
    static OperatorProfile fromTrace(JsonNode trace, double wallMs) {
        Map<String, List<Span>> byThread = new HashMap<>();
        for (JsonNode event : trace) {
            if ("X".equals(event.path("ph").asText())) {
                Span span = new Span(event.path("name").asText(), event.path("ts").asDouble(), event.path("dur").asDouble(), event.path("shape"));
                byThread.computeIfAbsent(event.path("pid").asText() + "/" + event.path("tid").asText(), k -> new ArrayList<>()).add(span);
            }
        }
        Map<String, OperatorTime> operators = new HashMap<>();
        double inside = 0;
        double flops = 0;
        for (List<Span> spans : byThread.values()) {
            // parents first: earlier start, and the longer span of two that start together
            spans.sort(Comparator.comparingDouble(Span::start).thenComparing(Comparator.comparingDouble(Span::duration).reversed()));
            Deque<Span> open = new ArrayDeque<>();
            for (Span span : spans) {
                while (!open.isEmpty() && open.peek().end() <= span.start()) {
                    open.pop();
                }
                if (open.isEmpty()) {
                    inside += span.duration();
                } else {
                    open.peek().childTime += span.duration();
                    span.backward = open.peek().backward || open.peek().name.startsWith(BACKWARD_NODE);
                }
                open.push(span);
                flops += matrixProductFlops(span.name, span.shape);
            }
            for (Span span : spans) {
                String key = span.backward ? span.name + " [backward]" : span.name;
                OperatorTime sum = operators.getOrDefault(key, new OperatorTime(key, 0, 0));
                operators.put(key, new OperatorTime(key, sum.calls() + 1, sum.selfMs() + Math.max(0, span.duration() - span.childTime) / 1000));
            }
        }
        List<OperatorTime> sorted = new ArrayList<>(operators.values());
        sorted.sort(Comparator.comparingDouble(OperatorTime::selfMs).reversed());
        return new OperatorProfile(wallMs, Math.min(wallMs, inside / 1000), flops / 1e9, List.copyOf(sorted));
    }

    /** 2·M·K·N (times the batch) of a matrix-product operator, from its argument shapes; 0 for others. */
    static double matrixProductFlops(String name, JsonNode shapes) {
        return switch (name) {
            case "aten::mm" -> product(shapes.path(0), shapes.path(1));
            case "aten::addmm", "aten::baddbmm" -> product(shapes.path(1), shapes.path(2));
            case "aten::bmm" -> product(shapes.path(0), shapes.path(1));
            default -> 0;
        };
    }

    /** (…, M, K) × (…, K, N): 2·batch·M·K·N. */
    private static double product(JsonNode left, JsonNode right) {
        int l = left.size();
        int r = right.size();
        if (l < 2 || r < 2) {
            return 0;
        }
        double batch = 1;
        for (int i = 0; i < l - 2; i++) {
            batch *= left.get(i).asDouble();
        }
        return 2 * batch * left.get(l - 2).asDouble() * left.get(l - 1).asDouble() * right.get(r - 1).asDouble();
    }

    /** One recorded call; mutable while the nesting is worked out. */
    private static final class Span {
        final String name;
        final double start;
        final double duration;
        final JsonNode shape;
        double childTime;
        boolean backward;

        Span(String name, double start, double duration, JsonNode shape) {
            this.name = name;
            this.start = start;
            this.duration = duration;
            this.shape = shape;
        }

        double start() {
            return start;
        }

        double duration() {
            return duration;
        }

        double end() {
            return start + duration;
        }
    }
}
