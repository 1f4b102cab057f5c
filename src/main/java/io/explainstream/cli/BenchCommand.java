package io.explainstream.cli;

import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.QuadratureRule;
import io.explainstream.bench.EngineBench;
import io.explainstream.bench.FaithfulBench;
import io.explainstream.bench.PipelineBench;
import io.explainstream.input.PlainNumber;
import io.explainstream.model.LlamaConfig;
import io.explainstream.model.RandomCheckpoint;
import io.explainstream.model.RopeScaling;
import io.explainstream.model.TensorDtype;
import io.explainstream.scratch.ScratchFolder;
import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Benchmarks; the figures and how to read them are in docs/benchmarks.md. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Measure the engine and the pipeline.",
        subcommands = {BenchCommand.Engine.class, BenchCommand.Pipeline.class})
final class BenchCommand implements Runnable {

    @Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Sets libtorch's intra-op threads; it must happen before the engine starts. */
    static void threads(Integer threads) {
        if (threads != null) {
            if (threads <= 0) {
                throw new IllegalArgumentException("--threads = " + threads + " must be positive");
            }
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        }
    }

    @Command(name = "engine", mixinStandardHelpOptions = true, description = {
        "The engine against Captum's per-target algorithm, side by side, per model and prompt/response length:",
        "events/s, prompt tokens/s, ms per event p50/p99, counted GFLOP and achieved GFLOP/s against the measured matrix-product rate,",
        "speedup and largest |difference| of the scores; seq_attr only, the token matrix, and batches of events."})
    static final class Engine implements Callable<Integer> {

        /** The generated models' folder under the temp folder: explainstream-bench-models-*. */
        static final String MODELS_PREFIX = "explainstream-bench-models-";

        @Option(names = "--model", paramLabel = "DIR", description = "Model directory; repeat for several (default: the bundled model).")
        private List<Path> models = new ArrayList<>();

        @Option(names = "--standard-models", description = "Also generate and measure random checkpoints of hidden 256 / 4 layers and hidden 1024 / 8 layers.")
        private boolean standardModels;

        @Option(names = "--shapes", defaultValue = "16/8,64/16,256/32", description = "PROMPT/RESPONSE lengths. Default: ${DEFAULT-VALUE}.")
        private String shapes;

        @Option(names = "--steps", defaultValue = "16", description = "Integrated-gradients steps. Default: ${DEFAULT-VALUE}.")
        private int steps;

        @Option(names = "--repeat", defaultValue = "5", description = "Events timed per mode. Default: ${DEFAULT-VALUE}.")
        private int repeat;

        @Option(names = "--batches", defaultValue = "1,4,16", description = "Events per engine call. Default: ${DEFAULT-VALUE}.")
        private String batches;

        @Option(names = "--threads", description = "libtorch intra-op threads (default: as model.threads=auto, one less than the cores, at least 1).")
        private Integer threads;

        @Option(names = "--target-delta", paramLabel = "X", defaultValue = "0",
                description = "Instead: time to a faithful answer. Per shape, the steps and time the engine (adaptive token matrix, and seq_attr at "
                        + "the points it needed) and the per-target algorithm need to bring every target's |delta_t| within X of |f_t(x) - f_t(b)|; "
                        + "--steps is where both start. 0 (default) measures fixed steps.")
        private double targetDelta;

        @Option(names = "--max-steps", defaultValue = "800", description = "With --target-delta: the cap for both sides. Default: ${DEFAULT-VALUE}.")
        private int maxSteps;

        @Option(names = "--integration", paramLabel = "RULE", description = "With --target-delta: the engine's rule, as attribution.integration: "
                + "gausslegendre or clenshaw_curtis (refined as Clenshaw-Curtis), or riemann_trapezoid. Default: gausslegendre.")
        private String integration;

        @Option(names = "--no-reference", description = "Skip the per-target algorithm.")
        private boolean noReference;

        @Option(names = "--profile", paramLabel = "DIR",
                description = "Also profile one event of each mode: its share of time per engine stage (Flight Recorder samples), "
                        + "and its operators under libtorch's profiler, whose Chrome traces (chrome://tracing, Perfetto) go to DIR.")
        private Path profileDir;

        @Option(names = "--profile-samples", defaultValue = "150",
                description = "Flight Recorder samples per mode for the stage shares of --profile. Default: ${DEFAULT-VALUE}.")
        private int profileSamples;

        @Spec
        private picocli.CommandLine.Model.CommandSpec spec;

        /**
         * Refuses an option of the fixed-steps bench given with --target-delta, or one of
         * --target-delta's without it: each was ignored without a word (as --long-share was by the
         * pipeline bench without --mix, a hostile test).
         */
        private void optionsOfTheOtherBench() {
            var parsed = spec.commandLine().getParseResult();
            if (targetDelta > 0) {
                for (String option : List.of("--batches", "--no-reference", "--profile", "--profile-samples")) {
                    if (parsed.hasMatchedOption(option)) {
                        throw new IllegalArgumentException(option + " is an option of the fixed-steps bench, not of --target-delta");
                    }
                }
            } else if (parsed.hasMatchedOption("--max-steps")) {
                throw new IllegalArgumentException("--max-steps is the cap of adaptive steps; it needs --target-delta");
            }
            if (profileDir == null && parsed.hasMatchedOption("--profile-samples")) {
                throw new IllegalArgumentException("--profile-samples is an option of --profile; it needs --profile DIR");
            }
        }

        /** Settings the engine refuses, named as this command's options. */
        private static AttributionSettings checked(Supplier<AttributionSettings> settings) {
            try {
                return settings.get();
            } catch (AttributionSettings.Refused e) {
                throw new IllegalArgumentException(e.message(AttributionSettings.Option::cliOption), e);
            }
        }

        @Override
        public Integer call() throws Exception {
            threads(threads);
            List<Path> dirs = new ArrayList<>(models.isEmpty() ? List.of(ModelSelection.bundledModel()) : models.stream().map(m -> ModelSelection.given("--model", m)).toList());
            if (!(targetDelta >= 0 && targetDelta < 1)) {
                throw new IllegalArgumentException("--target-delta = " + targetDelta + " must be a fraction in [0, 1) (0.01 is 1%; 0 turns adaptive steps off)");
            }
            if (repeat < 1) {
                throw new IllegalArgumentException("--repeat = " + repeat + " must be at least 1");
            }
            if (targetDelta > 0 && (maxSteps < steps || maxSteps > io.explainstream.attribution.AttributionSettings.STEPS_LIMIT)) {
                throw new IllegalArgumentException("--max-steps = " + maxSteps + " must be at least --steps = " + steps + " and at most "
                        + io.explainstream.attribution.AttributionSettings.STEPS_LIMIT);
            }
            if (profileSamples <= 0) {
                throw new IllegalArgumentException("--profile-samples = " + profileSamples + " must be positive");
            }
            if (integration != null && targetDelta == 0) {
                throw new IllegalArgumentException("--integration = " + integration + " chooses the rule adaptive steps refine; it needs --target-delta");
            }
            optionsOfTheOtherBench();
            QuadratureRule rule = integration == null ? QuadratureRule.GAUSSLEGENDRE : QuadratureRule.parse("--integration", integration);
            List<Integer> batchSizes = batchSizes(batches);
            if (profileDir != null) {
                Files.createDirectories(profileDir);
            }
            // The generated models (hundreds of MB) go with the bench however it ends: ScratchFolder.
            try (ScratchFolder generated = standardModels ? ScratchFolder.create(Path.of(System.getProperty("java.io.tmpdir")), MODELS_PREFIX) : null) {
                if (generated != null) {
                    dirs.add(generate(generated.path().resolve("h256-l4"), 256, 4, 8, 688));
                    dirs.add(generate(generated.path().resolve("h1024-l8"), 1024, 8, 16, 2752));
                }
                List<EngineBench.Case> cases = Arrays.stream(shapes.split(",")).map(EngineBench.Case::parse).toList();
                if (targetDelta > 0) {
                    AttributionSettings adaptive = checked(() -> AttributionSettings.DEFAULTS.withIntegration(rule).withSteps(steps).withMaxSteps(maxSteps)
                            .withTargetDelta(targetDelta));
                    new FaithfulBench(spec.commandLine().getOut()).run(dirs, cases, adaptive, repeat);
                    return 0;
                }
                new EngineBench(spec.commandLine().getOut()).run(new EngineBench.Options(dirs, cases, steps, repeat, batchSizes, !noReference, profileDir,
                        profileSamples));
                return 0;
            }
        }

        private static Path generate(Path dir, int hidden, int layers, int heads, int ffn) throws Exception {
            RandomCheckpoint.write(new LlamaConfig(hidden, ffn, heads, heads, hidden / heads, layers, 512, 2048, 1e-5, 10000.0, RopeScaling.NONE, true,
                    1, 2, -1), ModelSelection.bundledModel(), 1, TensorDtype.F32, 1, dir);
            return dir;
        }
    }

    @Command(name = "pipeline", mixinStandardHelpOptions = true,
            description = "N events through the whole service on the embedded broker, against the engine alone on the same events in the same run.")
    static final class Pipeline implements Callable<Integer> {

        @Option(names = "--events", defaultValue = "200", description = "Events sent. Default: ${DEFAULT-VALUE}.")
        private int events;

        @Option(names = "--steps", defaultValue = "16", description = "Integrated-gradients steps. Default: ${DEFAULT-VALUE}.")
        private int steps;

        @Option(names = "--batch", defaultValue = "8", description = "batch.max.events, and the engine-alone batch. Default: ${DEFAULT-VALUE}.")
        private int batch;

        @Option(names = "--model", paramLabel = "DIR", description = "Model directory (default: the bundled model).")
        private Path model;

        @Option(names = "--threads", description = "libtorch intra-op threads (default: as model.threads=auto, one less than the cores, at least 1).")
        private Integer threads;

        @Option(names = "--rounds", defaultValue = "3", description = "Rounds of the statistics' overhead: the pipeline without and with "
                + "stats.enabled, back to back, the order alternating; the median of the rounds is reported. Default: ${DEFAULT-VALUE}.")
        private int rounds;

        @Option(names = "--mix", description = "Instead: a burst of short events with a share of long ones (--long-share, --long-tokens), batched in "
                + "arrival order and by length, against the short events alone; reports the short events' latency p50/p99, and the long ones'.")
        private boolean mix;

        @Option(names = "--long-share", defaultValue = "0.05", description = "With --mix: the share of long events. Default: ${DEFAULT-VALUE}.")
        private double longShare;

        @Option(names = "--long-tokens", defaultValue = "400", description = "With --mix: the prompt tokens of a long event, at least (by the model's "
                + "tokenizer; it must fit the model's context with a response). Default: ${DEFAULT-VALUE}.")
        private int longTokens;

        @Option(names = "--offered-rate", paramLabel = "X", description = "Instead: produce events at X per second, or Nx (N times the engine's "
                + "measured full-method capacity), for --duration seconds, with backlog control; reports offered vs explained per tier, the lag over "
                + "time, and whether every event was accounted for.")
        private String offeredRate;

        @Option(names = "--duration", defaultValue = "120", description = "With --offered-rate: seconds of production. Default: ${DEFAULT-VALUE}.")
        private int duration;

        @Option(names = "--max-lag-ms", defaultValue = "60000", description = "With --offered-rate: audit.max.lag.ms. Default: ${DEFAULT-VALUE}.")
        private long maxLagMs;

        @Option(names = "--sample-rate", defaultValue = "1.0", description = "With --offered-rate: audit.sample.rate. Default: ${DEFAULT-VALUE}.")
        private double sampleRate;

        @Option(names = "--forced-share", defaultValue = "0.05", description = "With --offered-rate: share of events flagged metadata.audit=full. Default: ${DEFAULT-VALUE}.")
        private double forcedShare;

        @Spec
        private picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            threads(threads);
            modesGiven();
            if (steps <= 0) {
                throw new IllegalArgumentException("--steps = " + steps + " must be positive");
            }
            if (batch <= 0) {
                // 0 is no batch at all: the engine-alone pass, which steps through the events a batch at a time, never ended.
                throw new IllegalArgumentException("--batch = " + batch + " must be positive");
            }
            if (offeredRate != null) {
                if (duration <= 0) {
                    throw new IllegalArgumentException("--duration = " + duration + " must be positive");
                }
                if (!(forcedShare >= 0 && forcedShare <= 1)) {
                    throw new IllegalArgumentException("--forced-share = " + forcedShare + " must be in [0, 1]");
                }
                auditSettingsChecked();
                List<String> sample = DemoCommand.sample(null).stream().filter(DemoCommand::wellFormed).toList();
                Path modelDir = model != null ? ModelSelection.given("--model", model) : RunCommand.home().resolve(io.explainstream.model.Checkpoint.BUNDLED_DIRECTORY);
                PipelineBench.RateResult result = new PipelineBench(spec.commandLine().getOut()).offeredRate(RunCommand.home(), modelDir, sample, offeredRate,
                        duration, steps, batch, maxLagMs, sampleRate, forcedShare);
                return result.accounted() && result.forcedFull() == result.forced() ? 0 : 1;
            }
            if (events <= 0) {
                throw new IllegalArgumentException("--events = " + events + " must be positive");
            }
            List<String> sample = DemoCommand.sample(null).stream().filter(DemoCommand::wellFormed).toList();
            Path modelDir = model != null ? ModelSelection.given("--model", model) : RunCommand.home().resolve(io.explainstream.model.Checkpoint.BUNDLED_DIRECTORY);
            if (mix) {
                if (!(longShare > 0 && longShare <= 0.5)) {
                    throw new IllegalArgumentException("--long-share = " + longShare + " must be in (0, 0.5]");
                }
                new PipelineBench(spec.commandLine().getOut()).mix(RunCommand.home(), modelDir, sample, events, steps, batch, longShare, longTokens);
                return 0;
            }
            if (rounds <= 0) {
                throw new IllegalArgumentException("--rounds = " + rounds + " must be positive");
            }
            PipelineBench.Result result = new PipelineBench(spec.commandLine().getOut()).run(RunCommand.home(), modelDir, sample, events, steps, batch,
                    rounds);
            return result.events() == events ? 0 : 1;
        }

        /**
         * --max-lag-ms and --sample-rate checked by the service's own rules (ServiceConfig's audit
         * policy), but before a broker starts and named as this command's options: the service
         * refused them after a broker had started, naming its settings (a hostile test).
         */
        private void auditSettingsChecked() {
            try {
                ServiceConfig.of(Map.of(Setting.AUDIT_MAX_LAG_MS.key(), Long.toString(maxLagMs), Setting.AUDIT_SAMPLE_RATE.key(),
                        Double.toString(sampleRate))).auditPolicy();
            } catch (ConfigException e) {
                throw new IllegalArgumentException(e.getMessage().replace(Setting.AUDIT_MAX_LAG_MS.key() + " = ", "--max-lag-ms = ")
                        .replace(Setting.AUDIT_SAMPLE_RATE.key() + " = ", "--sample-rate = "), e);
            }
        }

        /**
         * Refuses --mix with --offered-rate, and an option of one bench given to another: each was
         * ignored without a word (a hostile test: --long-share without --mix ran the default bench
         * for 114 s).
         */
        private void modesGiven() {
            if (mix && offeredRate != null) {
                throw new IllegalArgumentException("--mix and --offered-rate are two benches: give one");
            }
            String mode = mix ? "--mix" : offeredRate != null ? "--offered-rate" : "the default bench";
            Map<String, List<String>> benches = new java.util.LinkedHashMap<>();
            benches.put("--events", List.of("the default bench", "--mix"));
            benches.put("--rounds", List.of("the default bench"));
            List.of("--long-share", "--long-tokens").forEach(option -> benches.put(option, List.of("--mix")));
            List.of("--duration", "--max-lag-ms", "--sample-rate", "--forced-share").forEach(option -> benches.put(option, List.of("--offered-rate")));
            var parsed = spec.commandLine().getParseResult();
            benches.forEach((option, of) -> {
                if (!of.contains(mode) && parsed.hasMatchedOption(option)) {
                    String said = option + " is an option of " + String.join(" and ", of) + ", not of " + mode;
                    throw new IllegalArgumentException(said.contains("the default bench") ? said + " (the default bench: neither --mix nor --offered-rate)"
                            : said);
                }
            });
        }
    }

    /** --batches: comma-separated whole numbers of events per engine call. */
    static List<Integer> batchSizes(String text) {
        List<Integer> sizes;
        try {
            sizes = Arrays.stream(text.split(",")).map(String::trim).map(PlainNumber::parseInt).toList();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--batches = '" + text + "' is not comma-separated whole numbers, for example 1,4,16");
        }
        if (sizes.stream().anyMatch(size -> size <= 0)) {
            throw new IllegalArgumentException("--batches = '" + text + "' must be positive whole numbers, for example 1,4,16");
        }
        return sizes;
    }
}
