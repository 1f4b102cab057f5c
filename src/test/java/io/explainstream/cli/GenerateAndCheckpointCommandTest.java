package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    }

    @Test
    void makeCheckpointWritesALoadableShapeThatGenerates(@TempDir Path dir) {
        Path out = dir.resolve("h96");
        CliRun made = CliRun.of("make-checkpoint", "--out", out.toString(), "--hidden", "96", "--layers", "2", "--heads", "6", "--kv-heads", "2",
                "--shards", "2", "--storage-dtype", "BF16", "--seed", "3");
        assertEquals(0, made.exitCode(), made.err());
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors.index.json")));
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));
        assertEquals(96, Checkpoint.open(out).config().hiddenSize());
        assertEquals(256, Checkpoint.open(out).config().intermediateSize(), "8/3 · 96 rounded up to 32");
        CliRun generated = CliRun.of("generate", "--model", out.toString(), "--tokens", "5");
        assertEquals(0, generated.exitCode(), generated.err());
        assertTrue(generated.out().contains("ids: [1, "), generated.out());
    }

    @Test
    void makeCheckpointRefusesAVocabularyLargerThanTheTokenizers(@TempDir Path dir) {
        CliRun run = CliRun.of("make-checkpoint", "--out", dir.resolve("x").toString(), "--vocab", "600");
        assertEquals(2, run.exitCode());
        assertEquals("error: --vocab = 600 must be between 1 and the tokenizer's vocabulary size 512", run.err().strip());
    }
}
