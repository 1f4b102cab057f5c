package io.explainstream.bench;

import static io.explainstream.attribution.NonFiniteAttributionException.requireFinite;

import ai.djl.engine.Engine;
import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionEngine;
import io.explainstream.attribution.AttributionRequest;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.NonFiniteAttributionException;
import io.explainstream.attribution.PerTargetReference;
import io.explainstream.input.PlainNumber;
import io.explainstream.model.LlamaConfig;
import io.explainstream.model.LlamaModel;
import io.explainstream.model.ModelOptions;
import io.explainstream.tokenize.EncodedText;
import io.explainstream.tokenize.LlamaTokenizer;
import io.explainstream.tokenize.Token;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
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
            try {
                Case shape = new Case(PlainNumber.parseInt(parts[0].trim()), PlainNumber.parseInt(parts[1].trim()));
                // The prompt holds BOS and at least one attributed token; the response at least one target.
                if (shape.prompt() >= 2 && shape.response() >= 1) {
                    return shape;
                }
            } catch (NumberFormatException e) {
                // refused below, with the form
            }
            throw new IllegalArgumentException("--shapes item '" + text + "' must be PROMPT/RESPONSE in tokens, PROMPT at least 2 (BOS and one more) "
                    + "and RESPONSE at least 1, for example 64/16");
        }

        @Override
        public String toString() {
            return "P" + prompt + "/T" + response;
        }
    }

    /**
     * What to measure.
     *
     * @param profileDir where to write libtorch's traces when each mode is profiled, or null for no profiles
     * @param profileSamples Flight Recorder samples per mode for its stage shares
     */
    public record Options(List<Path> models, List<Case> cases, int steps, int repeat, List<Integer> batches, boolean reference, Path profileDir,
            int profileSamples) {}

    /** One measured line. */
    public record Row(String model, String shape, String mode, int batch, double eventsPerSecond, double promptTokensPerSecond, double p50Ms,
            double p99Ms, double gflopPerEvent, double gflopsAchieved, double utilization, String versusReference) {}

    /** Stages and operators listed per profile, largest first. */
    private static final int PROFILE_LINES = 8;

    /** How long a mode is run under Flight Recorder's sampling, at the least and at the most. */
    private static final Duration STAGE_SAMPLING = Duration.ofSeconds(2);
    private static final Duration STAGE_SAMPLING_CAP = Duration.ofSeconds(60);

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
        // Every attribution is checked as it comes: a model that gives NaN or infinity has no time worth reporting.
        requireFinite(engine.attribute(events.get(0), seq)); // warm-up
        // The modes take turns on each event, so that the machine's drift over minutes falls on all of them alike.
        int timed = options.repeat();
        double[] seqTimes = new double[timed];
        double[] matrixTimes = new double[timed];
        double[] referenceTimes = new double[timed];
        PerTargetReference reference = new PerTargetReference(model, seq.maxBatchTokens());
        double seqDiff = 0;
        double matrixDiff = 0;
        for (int e = 0; e < timed; e++) {
            AttributionRequest event = events.get(e);
            long started = System.nanoTime();
            Attribution fastSeq = engine.attribute(event, seq);
            seqTimes[e] = (System.nanoTime() - started) / 1e6;
            started = System.nanoTime();
            Attribution fastMatrix = engine.attribute(event, matrix);
            matrixTimes[e] = (System.nanoTime() - started) / 1e6;
            requireFinite(fastSeq);
            requireFinite(fastMatrix);
            if (options.reference()) {
                started = System.nanoTime();
                double[][] captum = reference.tokenAttr(event.prompt().ids(), event.response().ids(), attributedPositions(fastSeq), tokenizer.unkId(),
                        seq.integration().quadrature(seq.steps()));
                referenceTimes[e] = (System.nanoTime() - started) / 1e6;
                seqDiff = Math.max(seqDiff, seqDifference(captum, fastSeq));
                matrixDiff = Math.max(matrixDiff, matrixDifference(captum, fastMatrix));
            }
        }
        String seqVersus = "";
        String matrixVersus = "";
        if (options.reference()) {
            double captumFlops = 0;
            for (int t = 0; t < shape.response(); t++) {
                captumFlops += FlopCount.forward(c, 2, shape.prompt() + t, 2) // _forward_layer_eval at x and at b
                        + FlopCount.forward(c, rowsPerEvent, shape.prompt() + t, rowsPerEvent)
                        + FlopCount.backward(c, rowsPerEvent, shape.prompt() + t, rowsPerEvent);
            }
            rows.add(print(row(name, shape, "per-target (Captum)", 1, referenceTimes, captumFlops, matmul, "")));
            seqVersus = String.format(Locale.ROOT, "%.1fx faster, max |diff| %.1e", median(referenceTimes) / median(seqTimes), seqDiff);
            matrixVersus = String.format(Locale.ROOT, "%.1fx faster, max |diff| %.1e", median(referenceTimes) / median(matrixTimes), matrixDiff);
        }
        rows.add(print(row(name, shape, "seq_attr", 1, seqTimes, flopsSeq, matmul, seqVersus)));
        rows.add(print(row(name, shape, "token matrix", 1, matrixTimes, flopsMatrix, matmul, matrixVersus)));
        for (int batch : options.batches()) {
            if (batch == 1) {
                continue;
            }
            List<AttributionRequest> group = events.subList(0, batch);
            engine.attribute(group, seq).forEach(NonFiniteAttributionException::requireFinite);
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
            profile(options, name, shape, "seq_attr", median(seqTimes), () -> engine.attribute(first, seq));
            profile(options, name, shape, "token-matrix", median(matrixTimes), () -> engine.attribute(first, matrix));
            if (options.reference()) {
                boolean[] attributed = attributedPositions(engine.attribute(first, seq));
                profile(options, name, shape, "per-target", median(referenceTimes), () -> reference.tokenAttr(first.prompt().ids(), first.response().ids(),
                        attributed, tokenizer.unkId(), seq.integration().quadrature(seq.steps())));
            }
        }
    }

    /** The largest |Σ_t per-target[t][i] − seq_attr[i]| over the prompt positions. */
    private static double seqDifference(double[][] perTarget, Attribution fast) {
        double largest = 0;
        for (int i = 0; i < fast.seqAttr().length; i++) {
            double sum = 0;
            for (double[] row : perTarget) {
                sum += row[i];
            }
            largest = Math.max(largest, Math.abs(sum - fast.seqAttr()[i]));
        }
        return largest;
    }

    /** The largest |per-target[t][i] − token_attr[t][i]|. */
    private static double matrixDifference(double[][] perTarget, Attribution fast) {
        double largest = 0;
        for (int t = 0; t < perTarget.length; t++) {
            for (int i = 0; i < perTarget[t].length; i++) {
                largest = Math.max(largest, Math.abs(perTarget[t][i] - fast.tokenAttr()[t][i]));
            }
        }
        return largest;
    }

    /** (P) which prompt positions the engine attributed (the others keep their embedding). */
    static boolean[] attributedPositions(Attribution attribution) {
        boolean[] attributed = new boolean[attribution.promptTokens().size()];
        for (int i = 0; i < attributed.length; i++) {
            attributed[i] = attribution.promptTokens().get(i).attributed();
        }
        return attributed;
    }

    /**
     * Profiles one event of one mode. Flight Recorder samples give each stage's share of the wall
     * time without slowing anything down; libtorch's profiler then ranks the operators and counts
     * the matrix products that ran, but it slows some operators down, so its line says by how much
     * and its shares are only a ranking.
     */
    private void profile(Options options, String model, Case shape, String mode, double unprofiledMs, Runnable work) {
        StageProfile stages = StageProfile.sample(work, STAGE_SAMPLING, options.profileSamples(), STAGE_SAMPLING_CAP);
        out.printf(Locale.ROOT, "profile %s %s %s: %.1f ms per event; %d samples over %d runs: %.0f%% in libtorch, %.0f%% in Java%n", model, shape,
                mode, unprofiledMs, stages.samples(), stages.runs(), 100 * (1 - stages.javaShare()), 100 * stages.javaShare());
        for (StageProfile.Stage stage : stages.stages().subList(0, Math.min(PROFILE_LINES, stages.stages().size()))) {
            out.printf(Locale.ROOT, "  %-40s %5.1f%%  (libtorch %5.1f%%, Java %4.1f%%)%n", stage.name(), share(stage.total(), stages),
                    share(stage.inLibtorch(), stages), share(stage.inJava(), stages));
        }
        Path trace = options.profileDir().resolve(model + "-" + shape.prompt() + "-" + shape.response() + "-" + mode + ".json");
        OperatorProfile operators = OperatorProfile.capture(work, trace);
        StringBuilder top = new StringBuilder();
        for (OperatorProfile.OperatorTime operator : operators.operators().subList(0, Math.min(PROFILE_LINES, operators.operators().size()))) {
            top.append(String.format(Locale.ROOT, "%n    %-56s %7d calls %5.1f%%", operator.name(), operator.calls(), 100 * operator.selfMs() / operators.wallMs()));
        }
        out.printf(Locale.ROOT, "  operators by self time under libtorch's profiler (%.1fx slower there; matrix products that ran: %.3f GFLOP; trace %s):%s%n",
                operators.wallMs() / unprofiledMs, operators.matrixProductGflop(), trace, top);
        out.flush();
    }

    private static double share(int count, StageProfile stages) {
        return 100.0 * count / Math.max(1, stages.samples());
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
