package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark commands keep working; their figures are not pass/fail (docs/benchmarks.md has them). */
class BenchCommandTest {

    @Test
    @Tag("slow") // half a minute of profiled engine runs on 2 cores
    void engineBenchRunsOnTheSmallestSetting(@TempDir Path profiles) {
        CliRun run = CliRun.of("bench", "engine", "--shapes", "8/4", "--steps", "2", "--repeat", "1", "--batches", "1,2",
                "--profile", profiles.toString(), "--profile-samples", "10");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("matrix product:"), run.out());
        assertTrue(run.out().matches("(?s).*per-target \\(Captum\\).*"), run.out());
        java.util.regex.Matcher difference = java.util.regex.Pattern.compile("seq_attr +1 .*x faster, max \\|diff\\| ([0-9.eE+-]+)").matcher(run.out());
        assertTrue(difference.find(), run.out());
        // The engine and Captum's per-target algorithm compute the same numbers: they differ by float32 noise only.
        assertTrue(Double.parseDouble(difference.group(1)) < 5e-5, "max |diff| " + difference.group(1));
        assertTrue(run.out().matches("(?s).*token matrix +1 .*x faster.*"), run.out());
        assertTrue(run.out().matches("(?s).*seq_attr +2 .*"), "batch of 2: " + run.out());
        for (String mode : new String[] {"seq_attr", "token-matrix", "per-target"}) {
            assertTrue(run.out().matches("(?s).*profile stories260K P8/T4 " + mode + ": [0-9.]+ ms per event; \\d+ samples over \\d+ runs: "
                    + "\\d+% in libtorch, \\d+% in Java\n.*"), run.out());
            assertTrue(Files.isRegularFile(profiles.resolve("stories260K-8-4-" + mode + ".json")), mode);
        }
        assertTrue(run.out().contains("IntegratedGradients.backward"), "the backward pass is a stage of its own: " + run.out());
        assertTrue(run.out().contains("aten::mm [backward]"), run.out());
        assertTrue(run.out().matches("(?s).*slower there; matrix products that ran: [0-9.]+ GFLOP.*"), run.out());
    }

    @Test
    void engineBenchToAFaithfulAnswerBringsEveryTargetWithinTheTolerance() {
        CliRun run = CliRun.of("bench", "engine", "--shapes", "8/3", "--steps", "4", "--repeat", "1", "--target-delta", "0.05", "--max-steps", "200");
        assertEquals(0, run.exitCode(), run.err());
        for (String side : new String[] {"token matrix, adaptive", "seq_attr at those points", "per-target GL, known steps",
                "seq_attr, adaptive (sequence delta)", "per-target GL, one step count"}) {
            java.util.regex.Matcher row = java.util.regex.Pattern.compile("P8/T3 +" + java.util.regex.Pattern.quote(side)
                    + " +(\\d+) \\((\\d+)-(\\d+)\\) +[0-9.]+ +[0-9.]+ +([0-9.]+)%").matcher(run.out());
            assertTrue(row.find(), side + ": " + run.out());
            // every target's |delta_t| (the sequence's delta in the last two) within 5% of its change: the adaptive sides check
            // it themselves, and the bench checks the others
            assertTrue(Double.parseDouble(row.group(4)) <= 5.0, side + " worst relative delta " + row.group(4) + "%");
        }
        assertTrue(run.out().contains("time to the sequence's own |delta| <= 0.05"), "each table says what it measures: " + run.out());
        // The engine's rule is a choice: Clenshaw–Curtis, reported on the adaptive sides.
        CliRun clenshawCurtis = CliRun.of("bench", "engine", "--shapes", "8/3", "--steps", "4", "--repeat", "1", "--target-delta", "0.05", "--max-steps",
                "200", "--integration", "clenshaw_curtis");
        assertEquals(0, clenshawCurtis.exitCode(), clenshawCurtis.err());
        assertTrue(clenshawCurtis.out().contains("engine refines clenshaw_curtis from 4 points"), clenshawCurtis.out());
        CliRun refused = CliRun.of("bench", "engine", "--target-delta", "0.01", "--steps", "50", "--max-steps", "40");
        assertEquals(2, refused.exitCode(), "a cap under the first steps is refused");
        assertTrue(refused.err().contains("error: --max-steps = 40 must be at least --steps = 50 and at most 10000"), refused.err());
    }

    @Test
    void engineBenchRefusesBadOptionsInOneLineNamingTheOption() throws Exception {
        String[][] cases = {
            {"error: --repeat = 0 must be at least 1", "--repeat", "0"},
            {"error: --repeat = -1 must be at least 1", "--repeat", "-1", "--target-delta", "0.01"},
            {"error: --shapes item '8/0' must be PROMPT/RESPONSE in tokens", "--shapes", "8/0"},
            {"error: --steps = 1 is too few for --target-delta: adaptive steps start from clenshaw_curtis with at least 2 points",
                "--shapes", "8/3", "--steps", "1", "--target-delta", "0.01"},
            {"error: --target-delta = 1.5 must be a fraction in [0, 1)", "--target-delta", "1.5"},
            {"error: --batches = '1,0' must be positive whole numbers, for example 1,4,16", "--batches", "1,0"},
            {"error: --batches is an option of the fixed-steps bench, not of --target-delta", "--target-delta", "0.01", "--batches", "1"},
            {"error: --no-reference is an option of the fixed-steps bench, not of --target-delta", "--target-delta", "0.01", "--no-reference"},
            {"error: --max-steps is the cap of adaptive steps; it needs --target-delta", "--max-steps", "100"},
            {"error: --profile-samples is an option of --profile; it needs --profile DIR", "--profile-samples", "10"},
            {"error: --batches = '-4' must be positive whole numbers, for example 1,4,16", "--batches", "-4"},
            {"error: --integration = clenshaw_curtis chooses the rule adaptive steps refine; it needs --target-delta", "--integration", "clenshaw_curtis"},
            {"error: --target-delta refines a rule whose points nest: --integration = gausslegendre or clenshaw_curtis (refined as Clenshaw–Curtis) or "
                + "riemann_trapezoid; --integration = riemann_left has points", "--integration", "riemann_left", "--target-delta", "0.01"},
        };
        for (String[] c : cases) {
            String[] args = new String[c.length + 1];
            args[0] = "bench";
            args[1] = "engine";
            System.arraycopy(c, 1, args, 2, c.length - 1);
            CliRun run = CliRun.of(args);
            assertEquals(2, run.exitCode(), String.join(" ", args) + ": " + run.err());
            assertTrue(run.err().startsWith(c[0]), String.join(" ", args) + ": " + run.err());
            assertTrue(run.out().isEmpty(), "nothing printed before the error: " + run.out());
        }
        // The options are checked before the standard models (hundreds of MB) are written: none is left behind.
        java.util.Set<Path> before = scratch(BenchCommand.Engine.MODELS_PREFIX);
        CliRun run = CliRun.of("bench", "engine", "--standard-models", "--repeat", "0");
        assertEquals(2, run.exitCode(), run.err());
        assertEquals(before, scratch(BenchCommand.Engine.MODELS_PREFIX), "no generated models left in the temp folder");
    }

    private static java.util.Set<Path> scratch(String prefix) throws java.io.IOException {
        try (var paths = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return paths.filter(p -> p.getFileName().toString().startsWith(prefix)).collect(java.util.stream.Collectors.toSet());
        }
    }

    /** A pipeline bench stopped mid-run (SIGTERM, as Ctrl-C) takes its broker and its folder of broker data and stream state with it. */
    @Test
    @Tag("slow") // starts the embedded broker in a JVM of its own
    void aPipelineBenchStoppedMidRunLeavesNothingBehind(@TempDir Path tmp) throws Exception {
        try (io.explainstream.testing.ServiceProcess bench = io.explainstream.testing.ServiceProcess.start(List.of("bench", "pipeline", "--events", "40",
                "--steps", "8", "--rounds", "3"), List.of("-Djava.io.tmpdir=" + tmp), Map.of(), tmp.resolve("bench.log"), Duration.ofMinutes(3))) {
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            List<Path> folders = List.of();
            while (System.nanoTime() < deadline) {
                folders = folders(tmp);
                if (folders.size() == 1 && Files.isDirectory(folders.get(0).resolve("streams-1"))) {
                    break; // the broker is up and the first pipeline run has started
                }
                Thread.sleep(100);
            }
            assertTrue(folders.size() == 1 && Files.isDirectory(folders.get(0).resolve("streams-1")), "a run started: " + bench.output());
            List<ProcessHandle> children = bench.process().descendants().toList();
            assertFalse(children.isEmpty(), "the broker runs in a process of its own");
            bench.process().destroy();
            assertTrue(bench.process().waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "stopped");
            long gone = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (children.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < gone) {
                Thread.sleep(100);
            }
            assertTrue(children.stream().noneMatch(ProcessHandle::isAlive), "the broker went with it");
            assertEquals(List.of(), folders(tmp), "no broker data or stream state left: " + bench.output());
        }
    }

    private static List<Path> folders(Path tmp) throws java.io.IOException {
        try (var paths = Files.list(tmp)) {
            return paths.filter(p -> p.getFileName().toString().startsWith("explainstream-bench-cluster-")).toList();
        }
    }

    @Test
    @Tag("slow") // starts the embedded broker
    void pipelineBenchRunsOnTheSmallestSetting() {
        CliRun run = CliRun.of("bench", "pipeline", "--events", "6", "--steps", "2", "--batch", "3", "--rounds", "2");
        assertEquals(0, run.exitCode(), run.out() + run.err());
        // Two rounds, the order alternating, each with both runs and its overhead, then a table and the medians.
        assertTrue(run.out().matches("(?s).*round 1, pipeline without statistics \\(stats.enabled=false\\): 6 events in .*"
                + "round 1, pipeline with statistics: 6 events in .*round 1 \\(without, then with\\): statistics overhead [-+]\\d+\\.\\d%.*"
                + "round 2, pipeline with statistics: 6 events in .*round 2, pipeline without statistics .*"
                + "round 2 \\(with, then without\\): .*"), run.out());
        assertTrue(run.out().matches("(?s).*\n +1  without-with  +\\d+\\.\\d\\d +\\d+\\.\\d\\d +[-+]\\d+\\.\\d% .*\n +2  with-without .*"), run.out());
        assertTrue(run.out().matches("(?s).*statistics sub-topology overhead: median [-+]\\d+\\.\\d% over 2 rounds .*; outside the engine median"
                + " [-+]\\d+\\.\\d% of the run.*"), run.out());
        assertTrue(run.out().contains("engine alone, before: 6 events"), run.out());
        assertTrue(run.out().contains("engine alone, after: 6 events"), run.out());
        assertTrue(run.out().matches("(?s).*pipeline: 6 events in .* overhead over the engine alone \\(mean .* s\\) [-+]\\d+\\.\\d%; "
                + "end-to-end latency p50 \\d+ ms, p99 \\d+ ms; engine time inside the service \\d+\\.\\d+ s.*"),
                run.out());
    }

    @Test
    @Tag("slow") // four pipeline runs on the embedded broker
    void pipelineMixRunsOnTheSmallestSetting() {
        CliRun run = CliRun.of("bench", "pipeline", "--mix", "--events", "8", "--steps", "2", "--batch", "4", "--long-share", "0.25",
                "--long-tokens", "100");
        assertEquals(0, run.exitCode(), run.out() + run.err());
        assertTrue(run.out().matches("(?s)mix: 8 events, 2 of them long \\((1[01]\\d) prompt tokens\\), 2 steps, batches of 4 \\(batch.max.wait.ms 200\\)\n.*"),
                "at least the --long-tokens asked, by the model's tokenizer: " + run.out());
        assertTrue(run.out().matches("(?s).*short events alone: p50 \\d+ ms, p99 \\d+ ms\n.*"), run.out());
        assertTrue(run.out().matches("(?s).*arrival order \\(batch.by.length=false\\): p50 \\d+ ms, p99 \\d+ ms \\(p99 \\d+\\.\\d\\dx .*"), run.out());
        assertTrue(run.out().matches("(?s).*by length \\(batch.by.length=true\\): p50 \\d+ ms, p99 \\d+ ms \\(p99 \\d+\\.\\d\\dx .*"), run.out());
        assertTrue(run.out().matches("(?s).*\nlong events, arrival order: p50 \\d+ ms, p99 \\d+ ms\n.*"), run.out());
        assertTrue(run.out().matches("(?s).*\nlong events, by length: p50 \\d+ ms, p99 \\d+ ms\n.*"), run.out());
    }

    /**
     * A long prompt past the model's context is cut by the service to fit, so every longer setting
     * would measure the same events: refused, naming the most there is room for (a hostile test ran
     * "about 400" and "about 900" tokens, both 512).
     */
    @Test
    void pipelineMixRefusesLongPromptsThatTheModelsContextCannotHold() {
        CliRun run = CliRun.of("bench", "pipeline", "--mix", "--events", "8", "--long-tokens", "900");
        assertEquals(2, run.exitCode(), run.err());
        assertTrue(run.err().matches("(?s)error: --long-tokens = 900 must be in \\[1, \\d+\\]: the model's context is 512 tokens, the sample's longest"
                + " response takes \\d+ of them, and limits.prompt.tokens = 1024.*"), run.err());
        assertTrue(run.out().isEmpty(), "nothing run: " + run.out());
    }

    /**
     * Values of the pipeline bench that measure nothing are refused before anything starts, each
     * in one line naming the option and the value (a hostile test: --batch 0 was still running
     * 180 s later, its engine-alone pass stepping through the events by 0, --batch -1 said
     * "fromIndex(0) > toIndex(-1)", --forced-share 2 and
     * -1 ran, and a --long-share too small for --events reported the long events' latency as
     * 0 ms, of none).
     */
    @Test
    void pipelineBenchRefusesValuesThatMeasureNothing(@TempDir Path tiny) throws Exception {
        for (List<String> mode : List.of(List.<String>of(), List.of("--mix"), List.of("--offered-rate", "2"))) {
            for (String batch : List.of("0", "-1")) {
                List<String> args = new java.util.ArrayList<>(List.of("bench", "pipeline", "--batch", batch));
                args.addAll(mode);
                CliRun run = CliRun.of(args.toArray(String[]::new));
                assertEquals(2, run.exitCode(), args + ": " + run.err());
                assertEquals("error: --batch = " + batch + " must be positive", run.err().strip(), String.valueOf(args));
            }
        }
        for (String share : List.of("2.0", "-1.0")) {
            CliRun run = CliRun.of("bench", "pipeline", "--offered-rate", "2", "--forced-share", share);
            assertEquals(2, run.exitCode(), run.err());
            assertEquals("error: --forced-share = " + share + " must be in [0, 1]", run.err().strip());
        }
        CliRun none = CliRun.of("bench", "pipeline", "--mix", "--events", "8", "--long-share", "0.01");
        assertEquals(2, none.exitCode(), none.err());
        assertEquals("error: --long-share = 0.01 with --events = 8 gives no long event: one in 100 is long, the first of them event 51; send at least"
                + " 51 events or a larger share", none.err().strip());

        io.explainstream.TestData.stories260KWithConfig(tiny, config -> config.put("max_position_embeddings", 16));
        CliRun small = CliRun.of("bench", "pipeline", "--mix", "--events", "20", "--model", tiny.toString(), "--long-tokens", "1");
        assertEquals(2, small.exitCode(), small.err());
        assertTrue(small.err().matches("error: --mix needs a model whose context holds a prompt beside the sample's longest response \\(\\d+ tokens\\);"
                + " this model's context is 16 tokens\\s*"), small.err());
        assertTrue(none.out().isEmpty() && small.out().isEmpty(), "nothing run: " + none.out() + small.out());
    }

    /**
     * An option of one pipeline bench given to another, or both --mix and --offered-rate, is
     * refused, and so are values the service would refuse, named as the bench's options and before
     * anything runs (a hostile test: --long-share without --mix ran the default bench for 114 s,
     * --offered-rate 0x was refused after 9 s of measuring the engine, --max-lag-ms -5 named
     * audit.max.lag.ms after a broker had started, and --offered-rate 0.01 for 5 s sent one event).
     */
    @Test
    void pipelineBenchRefusesOptionsOfAnotherBenchAndValuesTheServiceWouldRefuse() {
        String[][] cases = {
            {"error: --mix and --offered-rate are two benches: give one", "--mix", "--offered-rate", "2"},
            {"error: --long-share is an option of --mix, not of the default bench", "--long-share", "0.5"},
            {"error: --long-tokens is an option of --mix, not of --offered-rate\n", "--offered-rate", "2", "--long-tokens", "100"},
            {"error: --duration is an option of --offered-rate, not of the default bench", "--duration", "10"},
            {"error: --forced-share is an option of --offered-rate, not of --mix", "--mix", "--forced-share", "0.1"},
            {"error: --events is an option of the default bench and --mix, not of --offered-rate", "--offered-rate", "2", "--events", "8"},
            {"error: --rounds is an option of the default bench, not of --mix", "--mix", "--rounds", "2"},
            {"error: --steps = 0 must be positive", "--steps", "0"},
            {"error: --max-lag-ms = -5 must not be negative (0 turns backlog control off)", "--offered-rate", "2", "--max-lag-ms", "-5"},
            {"error: --sample-rate = 0.0 must be in (0, 1]", "--offered-rate", "2", "--sample-rate", "0"},
            {"error: --offered-rate = 0x must be positive", "--offered-rate", "0x"},
            {"error: --offered-rate = 0.01 (0.01 events/s) for --duration = 5 s offers 0.05 events: give a rate and a duration that offer at least one",
                "--offered-rate", "0.01", "--duration", "5"},
        };
        for (String[] c : cases) {
            List<String> args = new java.util.ArrayList<>(List.of("bench", "pipeline"));
            args.addAll(List.of(c).subList(1, c.length));
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(2, run.exitCode(), args + ": " + run.err());
            assertTrue(run.err().startsWith(c[0]), args + ": " + run.err());
            assertTrue(run.out().isEmpty(), "nothing run: " + run.out());
        }
    }

    /**
     * A model whose attributions are not finite: the pipeline bench stops at the engine-alone
     * warm-up with the engine's own one-line error, exit 1, and reports no time (a hostile test:
     * it reported the engine alone's events/s, then the pipeline run failed on dead letters).
     */
    @Test
    void pipelineBenchOnAModelWhoseAttributionsAreNotFiniteStopsBeforeReportingATime(@TempDir Path broken) throws Exception {
        // "▁Once" (id 403) at 3e38 in every dimension, as AttributeCommandTest makes a model whose attributions are not finite.
        io.explainstream.TestData.stories260KWith(broken, "model.embed_tokens.weight", values -> java.util.Arrays.fill(values, 403 * 64, 404 * 64, 3e38f));
        CliRun run = CliRun.of("bench", "pipeline", "--model", broken.toString(), "--events", "4", "--steps", "2", "--batch", "2", "--rounds", "1");
        assertEquals(1, run.exitCode(), run.out() + run.err());
        assertTrue(run.err().startsWith("error: the attribution is not finite ("), run.err());
        assertFalse(run.out().contains("events/s"), "no time reported: " + run.out());
    }

    @Test
    void engineBenchOnAModelWhoseAttributionsAreNotFiniteStopsBeforeReportingATime(@TempDir Path broken) throws Exception {
        // Every other embedding row from id 10 at 3e38: the bench's random events meet them, the baseline (unk, id 0) does not.
        io.explainstream.TestData.stories260KWith(broken, "model.embed_tokens.weight", values -> {
            for (int id = 10; id * 64 < values.length; id += 2) {
                java.util.Arrays.fill(values, id * 64, (id + 1) * 64, 3e38f);
            }
        });
        // Before, both benches reported times and "max |diff| NaN" or "NaN%" deltas, exit 0; the adaptive one refined to its cap first.
        for (List<String> options : List.of(List.of("--steps", "2"), List.of("--steps", "4", "--target-delta", "0.05", "--max-steps", "16"))) {
            List<String> args = new java.util.ArrayList<>(List.of("bench", "engine", "--model", broken.toString(), "--shapes", "8/3", "--repeat", "1"));
            args.addAll(options);
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(1, run.exitCode(), options + ": " + run.out() + run.err());
            assertTrue(run.err().startsWith("error: the attribution is not finite ("), options + ": " + run.err());
            assertFalse(run.out().contains("NaN"), options + ": " + run.out());
            assertFalse(run.out().contains("P8/T3"), options + ": no time reported: " + run.out());
        }
    }

    @Test
    @Tag("slow") // starts the embedded broker and produces for seconds
    void pipelineOfferedRateRunsOnTheSmallestSetting() {
        CliRun run = CliRun.of("bench", "pipeline", "--offered-rate", "5", "--duration", "3", "--steps", "2", "--batch", "4", "--forced-share", "0.25",
                "--sample-rate", "0.5");
        assertEquals(0, run.exitCode(), run.out() + run.err());
        assertTrue(run.out().contains("offered 5.0 events/s for 3 s: 15 events (4 flagged metadata.audit=full)"), run.out());
        assertTrue(run.out().contains("explained + skipped = 15 of 15 produced (all accounted for)"), run.out());
        assertTrue(run.out().contains("forced events explained in full: 4 of 4"), run.out());
    }
}
