package io.explainstream.bench;

import ai.djl.engine.Engine;
import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionEngine;
import io.explainstream.attribution.AttributionRequest;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.PerTargetReference;
import io.explainstream.model.LlamaConfig;
import io.explainstream.model.LlamaModel;
import io.explainstream.model.ModelOptions;
import io.explainstream.tokenize.EncodedText;
import io.explainstream.tokenize.LlamaTokenizer;
import io.explainstream.tokenize.Token;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Measures the engine side by side with Captum's per-target algorithm in one run: events/s, prompt
 * tokens/s, ms per event (p50, p99), counted FLOPs and achieved GFLOP/s against the measured
 * matrix-product rate, the speedup and the largest absolute difference of the scores, for
 * seq_attr only, for the token matrix, and for batches of events.
 */
public final class EngineBench {

    /** A prompt/response length pair. */
    public record Case(int prompt, int response) {
        public static Case parse(String text) {
            String[] parts = text.trim().split("/");
            if (parts.length != 2) {
                throw new IllegalArgumentException("--shapes item '" + text + "' must be PROMPT/RESPONSE, for example 64/16");
            }
            return new Case(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
        }

        @Override
        public String toString() {
            return "P" + prompt + "/T" + response;
        }
    }

    /**
     * What to measure.
     *
     * @param profileDir where to write libtorch profiles of one event per mode, or null for none
     */
    public record Options(List<Path> models, List<Case> cases, int steps, int repeat, List<Integer> batches, boolean reference, Path profileDir) {}

    /** One measured line. */
    public record Row(String model, String shape, String mode, int batch, double eventsPerSecond, double promptTokensPerSecond, double p50Ms,
            double p99Ms, double gflopPerEvent, double gflopsAchieved, double utilization, String versusReference) {}

    /** Operators listed per profile, largest self time first. */
    private static final int PROFILE_LINES = 10;

    private final PrintWriter out;

    public EngineBench(PrintWriter out) {
        this.out = out;
    }

    public List<Row> run(Options options) {
        double matmul = MatmulProbe.gflops(ai.djl.Device.cpu(), ai.djl.ndarray.types.DataType.FLOAT32, 2048);
        out.printf(Locale.ROOT, "engine %s %s, %s intra-op threads; float32 2048x2048 matrix product: %.1f GFLOP/s%n",
                Engine.getEngine("PyTorch").getEngineName(), Engine.getEngine("PyTorch").getVersion(),
                System.getProperty("ai.djl.pytorch.num_threads", "default"), matmul);
        out.println(header());
        out.flush();
        List<Row> rows = new ArrayList<>();
        for (Path modelDir : options.models()) {
            try (LlamaModel model = LlamaModel.load(modelDir, ModelOptions.CPU_FLOAT32);
                    LlamaTokenizer tokenizer = LlamaTokenizer.load(modelDir)) {
                AttributionEngine engine = new AttributionEngine(model, tokenizer);
                for (Case shape : options.cases()) {
                    benchCase(engine, model, tokenizer, modelDir.getFileName().toString(), shape, options, matmul, rows);
                }
            }
        }
        return rows;
    }

    private void benchCase(AttributionEngine engine, LlamaModel model, LlamaTokenizer tokenizer, String name, Case shape, Options options, double matmul,
            List<Row> rows) {
        AttributionSettings seq = AttributionSettings.DEFAULTS.withSteps(options.steps());
        AttributionSettings matrix = seq.withTokenMatrix(true);
        List<AttributionRequest> events = randomEvents(tokenizer, model.config(), shape, Math.max(options.repeat(),
                options.batches().stream().mapToInt(Integer::intValue).max().orElse(1)), 7);
        LlamaConfig c = model.config();
        long rowsPerEvent = options.steps();
        long length = shape.prompt() + shape.response();
        double flopsSeq = FlopCount.forward(c, rowsPerEvent, length, rowsPerEvent * shape.response())
                + FlopCount.backward(c, rowsPerEvent, length, rowsPerEvent * shape.response())
                + FlopCount.forward(c, 2, length, 2L * shape.response()); // f(x) and f(b)
        double flopsMatrix = FlopCount.forward(c, rowsPerEvent, length, rowsPerEvent * shape.response())
                + shape.response() * FlopCount.backward(c, rowsPerEvent, length, rowsPerEvent * shape.response())
                + FlopCount.forward(c, 2, length, 2L * shape.response());
        engine.attribute(events.get(0), seq); // warm-up
        double[] seqTimes = timeEach(engine, events.subList(0, options.repeat()), seq);
        double[] matrixTimes = timeEach(engine, events.subList(0, options.repeat()), matrix);
        String seqVersus = "";
        String matrixVersus = "";
        if (options.reference()) {
            AttributionRequest first = events.get(0);
            Attribution fastMatrix = engine.attribute(first, matrix);
            Attribution fastSeq = engine.attribute(first, seq);
            boolean[] attributed = attributedPositions(fastMatrix);
            PerTargetReference reference = new PerTargetReference(model, seq.maxBatchTokens());
            long started = System.nanoTime();
            double[][] captum = reference.tokenAttr(first.prompt().ids(), first.response().ids(), attributed, tokenizer.unkId(),
                    seq.integration().quadrature(seq.steps()));
            double referenceMs = (System.nanoTime() - started) / 1e6;
            double matrixDiff = 0;
            double seqDiff = 0;
            for (int i = 0; i < attributed.length; i++) {
                double rowSum = 0;
                for (int t = 0; t < captum.length; t++) {
                    matrixDiff = Math.max(matrixDiff, Math.abs(captum[t][i] - fastMatrix.tokenAttr()[t][i]));
                    rowSum += captum[t][i];
                }
                seqDiff = Math.max(seqDiff, Math.abs(rowSum - fastSeq.seqAttr()[i]));
            }
            double captumFlops = 0;
            for (int t = 0; t < shape.response(); t++) {
                captumFlops += FlopCount.forward(c, 2, shape.prompt() + t, 2) // _forward_layer_eval at x and at b
                        + FlopCount.forward(c, rowsPerEvent, shape.prompt() + t, rowsPerEvent)
                        + FlopCount.backward(c, rowsPerEvent, shape.prompt() + t, rowsPerEvent);
            }
            rows.add(print(new Row(name, shape.toString(), "per-target (Captum)", 1, 1000 / referenceMs, shape.prompt() * 1000 / referenceMs,
                    referenceMs, referenceMs, captumFlops / 1e9, captumFlops / 1e9 / (referenceMs / 1000), captumFlops / 1e9 / (referenceMs / 1000) / matmul,
                    "1 run")));
            seqVersus = String.format(Locale.ROOT, "%.1fx faster, max |diff| %.1e", referenceMs / median(seqTimes), seqDiff);
            matrixVersus = String.format(Locale.ROOT, "%.1fx faster, max |diff| %.1e", referenceMs / median(matrixTimes), matrixDiff);
        }
        rows.add(print(row(name, shape, "seq_attr", 1, seqTimes, flopsSeq, matmul, seqVersus)));
        rows.add(print(row(name, shape, "token matrix", 1, matrixTimes, flopsMatrix, matmul, matrixVersus)));
        for (int batch : options.batches()) {
            if (batch == 1) {
                continue;
            }
            List<AttributionRequest> group = events.subList(0, batch);
            engine.attribute(group, seq);
            double[] times = new double[Math.max(1, options.repeat() / 2)];
            for (int r = 0; r < times.length; r++) {
                long started = System.nanoTime();
                engine.attribute(group, seq);
                times[r] = (System.nanoTime() - started) / 1e6 / batch; // per event
            }
            rows.add(print(row(name, shape, "seq_attr", batch, times, flopsSeq, matmul, "")));
        }
        if (options.profileDir() != null) {
            AttributionRequest first = events.get(0);
            profile(options.profileDir(), name, shape, "seq_attr", () -> engine.attribute(first, seq));
            profile(options.profileDir(), name, shape, "token-matrix", () -> engine.attribute(first, matrix));
            if (options.reference()) {
                boolean[] attributed = attributedPositions(engine.attribute(first, seq));
                PerTargetReference reference = new PerTargetReference(model, seq.maxBatchTokens());
                profile(options.profileDir(), name, shape, "per-target", () -> reference.tokenAttr(first.prompt().ids(), first.response().ids(),
                        attributed, tokenizer.unkId(), seq.integration().quadrature(seq.steps())));
            }
        }
    }

    /** (P) which prompt positions the engine attributed (the others keep their embedding). */
    private static boolean[] attributedPositions(Attribution attribution) {
        boolean[] attributed = new boolean[attribution.promptTokens().size()];
        for (int i = 0; i < attributed.length; i++) {
            attributed[i] = attribution.promptTokens().get(i).attributed();
        }
        return attributed;
    }

    /** Profiles one event of one mode, prints where its time went and keeps the trace. */
    private void profile(Path dir, String model, Case shape, String mode, Runnable work) {
        Path trace = dir.resolve(model + "-" + shape.prompt() + "-" + shape.response() + "-" + mode + ".json");
        OperatorProfile profile = OperatorProfile.capture(work, trace);
        out.printf(Locale.ROOT, "profile %s %s %s: %.1f ms under the profiler, %.0f%% of it between operators (Java, JNI, dispatch); "
                + "matrix products %.3f GFLOP at %.1f GFLOP/s of wall time; trace %s%n", model, shape, mode, profile.wallMs(),
                100 * profile.outsideOperatorsShare(), profile.matrixProductGflop(), profile.matrixProductGflops(), trace);
        for (OperatorProfile.OperatorTime operator : profile.operators().subList(0, Math.min(PROFILE_LINES, profile.operators().size()))) {
            out.printf(Locale.ROOT, "  %-60s %7d calls %10.1f ms %5.1f%%%n", operator.name(), operator.calls(), operator.selfMs(),
                    100 * operator.selfMs() / profile.wallMs());
        }
        out.flush();
    }

    private Row print(Row row) {
        out.printf(Locale.ROOT, "%-14s %-9s %-20s %5d %9.2f %10.0f %9.1f %9.1f %10.3f %8.2f %6.1f%%  %s%n", row.model(), row.shape(), row.mode(), row.batch(),
                row.eventsPerSecond(), row.promptTokensPerSecond(), row.p50Ms(), row.p99Ms(), row.gflopPerEvent(), row.gflopsAchieved(),
                100 * row.utilization(), row.versusReference());
        out.flush();
        return row;
    }

    private static String header() {
        return String.format(Locale.ROOT, "%-14s %-9s %-20s %5s %9s %10s %9s %9s %10s %8s %7s  %s", "model", "shape", "mode", "batch", "events/s",
                "prompt t/s", "p50 ms", "p99 ms", "GFLOP/ev", "GFLOP/s", "util", "vs per-target");
    }

    private static Row row(String model, Case shape, String mode, int batch, double[] msPerEvent, double flopsPerEvent, double matmul, String versus) {
        double median = median(msPerEvent);
        double eventsPerSecond = 1000 / mean(msPerEvent);
        double achieved = flopsPerEvent / 1e9 / (median / 1000);
        return new Row(model, shape.toString(), mode, batch, eventsPerSecond, eventsPerSecond * shape.prompt(), median, percentile(msPerEvent, 0.99),
                flopsPerEvent / 1e9, achieved, achieved / matmul, versus);
    }

    private static double[] timeEach(AttributionEngine engine, List<AttributionRequest> events, AttributionSettings settings) {
        double[] times = new double[events.size()];
        for (int i = 0; i < times.length; i++) {
            long started = System.nanoTime();
            engine.attribute(events.get(i), settings);
            times[i] = (System.nanoTime() - started) / 1e6;
        }
        return times;
    }

    /** Random prompts (BOS first) and responses of exact lengths, reproducible by seed. */
    static List<AttributionRequest> randomEvents(LlamaTokenizer tokenizer, LlamaConfig config, Case shape, int count, long seed) {
        Random random = new Random(seed);
        int vocab = Math.min(config.vocabSize(), tokenizer.vocabularySize());
        List<AttributionRequest> events = new ArrayList<>();
        for (int e = 0; e < count; e++) {
            List<Token> prompt = new ArrayList<>();
            prompt.add(new Token(tokenizer.bosId(), "<s>", 0, 0));
            for (int i = 1; i < shape.prompt(); i++) {
                prompt.add(new Token(3 + random.nextInt(vocab - 3), "t", i, i + 1));
            }
            List<Token> response = new ArrayList<>();
            for (int i = 0; i < shape.response(); i++) {
                response.add(new Token(3 + random.nextInt(vocab - 3), "t", i, i + 1));
            }
            events.add(new AttributionRequest(new EncodedText("", prompt), new EncodedText("", response)));
        }
        return events;
    }

    static double median(double[] values) {
        return percentile(values, 0.5);
    }

    static double percentile(double[] values, double quantile) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(quantile * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private static double mean(double[] values) {
        return Arrays.stream(values).average().orElse(Double.NaN);
    }
}
