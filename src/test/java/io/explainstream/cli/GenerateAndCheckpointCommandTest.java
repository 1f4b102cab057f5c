package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.explainstream.TestData;
import io.explainstream.model.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateAndCheckpointCommandTest {

    @Test
    void generateContinuesTheStoryOfTheModelReadme() {
        CliRun run = CliRun.of("generate", "--tokens", "20", "--device", "cpu");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().startsWith("Once upon a time, there was a little girl named Lily. She loved to play"), run.out());
        assertTrue(run.out().contains("\n20 tokens in ") && !run.out().contains("stopped"), run.out());
    }

    /**
     * The bundled model, a llama2.c TinyStories model, ends its story with BOS (id 1) at the 346th
     * token, as llama2.c's own generator takes it: generate stops there, and says so, instead of
     * running into a new story.
     */
    @Test
    void generateStopsWhereTheModelEndsTheSequence() {
        CliRun run = CliRun.of("generate", "--tokens", "400", "--device", "cpu");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains(", 436, 1]\n346 tokens in "), run.out());
        assertTrue(run.out().strip().endsWith("(stopped at id 1, beginning of sequence: the model ended the sequence)"), run.out());
    }

    /** Positions past max_position_embeddings have rotary angles the model never saw: generate ran on there without a word. */
    @Test
    void generateRefusesTokensPastTheModelsContextAndDamagedWeights(@TempDir Path dir) throws java.io.IOException {
        CliRun tooMany = CliRun.of("generate", "--prompt", "Once upon a time", "--tokens", "1000000");
        assertEquals(2, tooMany.exitCode(), tooMany.err());
        assertEquals("error: --tokens = 1000000 with a prompt of 5 tokens exceeds the model's context of 512 tokens (max_position_embeddings in"
                + " config.json): at most 507 new tokens fit", tooMany.err().strip());
        CliRun oneTooMany = CliRun.of("generate", "--tokens", "512");
        assertEquals(2, oneTooMany.exitCode(), oneTooMany.err());
        assertTrue(oneTooMany.err().contains("at most 511 new tokens fit"), oneTooMany.err());
        TestData.stories260KWith(dir, "model.norm.weight", values -> values[3] = Float.NaN);
        CliRun damaged = CliRun.of("generate", "--model", dir.toString(), "--tokens", "5");
        assertEquals(2, damaged.exitCode(), damaged.err());
        assertEquals("error: tensor model.norm.weight in " + dir + " holds 1 NaN or infinite values (of 64) in the checkpoint: the weights are damaged"
                + " (explanations and generated text from them would be NaN or <unk>); convert or download the checkpoint again", damaged.err().strip());
        assertEquals("", damaged.out(), "it printed <unk> tokens");
    }

    @Test
    void makeCheckpointWritesALoadableShapeThatGenerates(@TempDir Path dir) {
        Path out = dir.resolve("h96");
        CliRun made = CliRun.of("make-checkpoint", "--out", out.toString(), "--hidden", "96", "--layers", "2", "--heads", "6", "--kv-heads", "2",
                "--shards", "2", "--storage-dtype", "bf16", "--seed", "3"); // any case, as the configuration's choices
        assertEquals(0, made.exitCode(), made.err());
        // A model under a million parameters is counted whole (it read "about 0.0M parameters").
        assertTrue(java.util.regex.Pattern.compile(", vocab 512, [1-9]\\d{4,5} parameters$").matcher(made.out().strip()).find(), made.out());
        assertTrue(CliRun.of("make-checkpoint", "--help").out().contains("F32, F16, BF16, F64"), "the help lists every dtype the option takes");
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors.index.json")));
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));
        assertEquals(96, Checkpoint.open(out).config().hiddenSize());
        assertEquals(256, Checkpoint.open(out).config().intermediateSize(), "8/3 · 96 rounded up to 32");
        CliRun generated = CliRun.of("generate", "--model", out.toString(), "--tokens", "5");
        assertEquals(0, generated.exitCode(), generated.err());
        assertTrue(generated.out().contains("ids: [1, "), generated.out());
    }

    /** A model with fewer embedding rows than the tokenizer has ids fails on any text that uses the others; more rows (padding) are fine. */
    @Test
    void makeCheckpointRefusesAVocabularySmallerThanTheTokenizers(@TempDir Path dir) {
        CliRun run = CliRun.of("make-checkpoint", "--out", dir.resolve("x").toString(), "--vocab", "100");
        assertEquals(2, run.exitCode());
        assertEquals("error: --vocab = 100 is smaller than the tokenizer's vocabulary of 512 tokens: every token id needs an embedding row",
                run.err().strip());
        Path padded = dir.resolve("padded");
        CliRun larger = CliRun.of("make-checkpoint", "--out", padded.toString(), "--vocab", "600", "--hidden", "32", "--heads", "4", "--layers", "1");
        assertEquals(0, larger.exitCode(), larger.err());
        assertEquals(600, Checkpoint.open(padded).config().vocabSize());
        Path byDefault = dir.resolve("default");
        CliRun fromTokenizer = CliRun.of("make-checkpoint", "--out", byDefault.toString(), "--hidden", "32", "--heads", "4", "--layers", "1");
        assertEquals(0, fromTokenizer.exitCode(), fromTokenizer.err());
        assertEquals(512, Checkpoint.open(byDefault).config().vocabSize(), "the tokenizer's, by default");
    }

    /** Where the folder cannot be made, before any tensor is generated: one line naming --out. */
    @Test
    void makeCheckpointRefusesAnOutputFolderThatCannotBeMade(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/proc")), "needs /proc");
        CliRun proc = CliRun.of("make-checkpoint", "--out", "/proc/x");
        assertEquals(2, proc.exitCode(), proc.err());
        assertEquals("error: --out = /proc/x cannot be written: folder /proc takes no new files", proc.err().strip());
        Path file = Files.writeString(dir.resolve("file"), "");
        CliRun notFolder = CliRun.of("make-checkpoint", "--out", file.toString());
        assertEquals(2, notFolder.exitCode(), notFolder.err());
        assertEquals("error: --out = " + file + " is a file; give a folder", notFolder.err().strip());
    }

    /** A tensor larger than one Java array can hold is refused, naming the options that shape it and the limit, before anything is written. */
    @Test
    void makeCheckpointRefusesATensorTooLargeToWrite(@TempDir Path dir) {
        Path out = dir.resolve("m").resolve("x");
        CliRun run = CliRun.of("make-checkpoint", "--out", out.toString(), "--hidden", "100000000");
        assertEquals(2, run.exitCode(), run.err());
        assertEquals("error: tensor model.embed_tokens.weight of --vocab × --hidden = 512 × 100000000 holds 51200000000 values;"
                + " one tensor holds at most 536870909 in F32 (2 GiB, the largest Java array): make them smaller", run.err().strip());
        assertTrue(Files.notExists(out), "nothing written");
        CliRun overflow = CliRun.of("make-checkpoint", "--out", out.toString(), "--hidden", "1000000000");
        assertEquals(2, overflow.exitCode(), overflow.err());
        assertEquals("error: --hidden = 1000000000 gives an intermediate size (8/3 · --hidden) of 2666666688, more than a tensor dimension can be"
                + " (2147483647): make --hidden smaller", overflow.err().strip(), "it was a wrapped negative intermediate_size of config.json");
    }

    @Test
    void makeCheckpointNamesTheOptionOfABadShape(@TempDir Path dir) {
        String out = dir.resolve("x").toString();
        assertRefused("error: --kv-heads = 3 must divide --heads = 8: each key/value head serves the same number of query heads",
                "make-checkpoint", "--out", out, "--kv-heads", "3");
        assertRefused("error: --kv-heads = 0 must divide --heads = 8: each key/value head serves the same number of query heads",
                "make-checkpoint", "--out", out, "--kv-heads", "0");
        assertRefused("error: --head-dim = 7 must be even and positive: rotary embeddings turn pairs of dimensions",
                "make-checkpoint", "--out", out, "--head-dim", "7");
        assertRefused("error: --head-dim = --hidden / --heads = 100 / 8 = 12 leaves 4 dimensions of --hidden unused; give --head-dim",
                "make-checkpoint", "--out", out, "--hidden", "100");
        assertRefused("error: --layers = 0 must be at least 1", "make-checkpoint", "--out", out, "--layers", "0");
        assertRefused("error: --ffn = -5 must be at least 1", "make-checkpoint", "--out", out, "--ffn", "-5");
        assertRefused("error: --max-positions = 0 must be at least 1", "make-checkpoint", "--out", out, "--max-positions", "0");
        assertRefused("error: --shards = 100 must be between 1 and the tensor count 38", "make-checkpoint", "--out", out, "--shards", "100");
        assertTrue(Files.notExists(Path.of(out)), "nothing written");
    }

    private static void assertRefused(String error, String... args) {
        CliRun run = CliRun.of(args);
        assertEquals(2, run.exitCode(), run.err());
        assertEquals(error, run.err().strip());
    }
}
