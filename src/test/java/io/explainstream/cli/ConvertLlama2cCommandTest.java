package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.TestData;
import io.explainstream.model.Checkpoint;
import io.explainstream.model.LlamaConfig;
import io.explainstream.tokenize.LlamaTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bundled model was converted from llama2.c's stories260K; here it is written back in
 * llama2.c's format, the way llama2.c's export.py writes it (its own permutation of the rotary
 * rows, its own spelling of the pieces), and converted again: every tensor and the tokenizer must
 * come back as they are.
 */
class ConvertLlama2cCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theBundledModelWrittenAsLlama2cComesBackTensorForTensorAndTokenForToken(@TempDir Path dir) throws IOException {
        Path modelBin = writeModelBin(dir.resolve("model.bin"), false);
        Path tokenizerBin = writeTokenizerBin(dir.resolve("tokenizer.bin"));
        Path out = dir.resolve("converted");
        CliRun run = CliRun.of("convert-llama2c", "--model-bin", modelBin.toString(), "--tokenizer-bin", tokenizerBin.toString(), "--out", out.toString());
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().startsWith("wrote " + out + ": hidden 64, 5 layers, 8/4 heads, ffn 172, vocab 512, context 512"), run.out());

        Checkpoint original = Checkpoint.open(TestData.stories260K());
        Checkpoint converted = Checkpoint.open(out);
        assertEquals(original.config(), converted.config());
        assertEquals(original.entries().keySet(), converted.entries().keySet());
        for (String name : original.entries().keySet()) {
            assertArrayEquals(original.readArray(name), converted.readArray(name), name);
        }
        JsonNode originalTokenizer = JSON.readTree(TestData.stories260K().resolve("tokenizer.json").toFile());
        JsonNode convertedTokenizer = JSON.readTree(out.resolve("tokenizer.json").toFile());
        assertEquals(originalTokenizer, convertedTokenizer, "tokenizer.json: the same vocabulary, merges (derived from the scores) and rules");
        try (LlamaTokenizer tokenizer = LlamaTokenizer.load(out)) {
            // The bundled model's README: its known answer.
            assertArrayEquals(new long[] {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395},
                    tokenizer.encodePrompt("Once upon a time, there was a little girl named").ids());
        }
        CliRun generated = CliRun.of("generate", "--model", out.toString(), "--tokens", "20", "--device", "cpu");
        assertEquals(0, generated.exitCode(), generated.err());
        assertTrue(generated.out().startsWith("Once upon a time, there was a little girl named Lily. She loved to play"), generated.out());
    }

    /** A classifier stored apart from the embedding (a negative vocab_size in the header) is read as an untied lm_head. */
    @Test
    void aClassifierStoredApartIsAnUntiedHead(@TempDir Path dir) throws IOException {
        Path modelBin = writeModelBin(dir.resolve("model.bin"), true);
        Path out = dir.resolve("converted");
        CliRun run = CliRun.of("convert-llama2c", "--model-bin", modelBin.toString(), "--tokenizer-bin", writeTokenizerBin(dir.resolve("tokenizer.bin")).toString(),
                "--out", out.toString());
        assertEquals(0, run.exitCode(), run.err());
        Checkpoint converted = Checkpoint.open(out);
        assertEquals(false, converted.config().tieWordEmbeddings());
        float[] embedding = converted.readArray("model.embed_tokens.weight");
        float[] head = converted.readArray("lm_head.weight");
        assertEquals(embedding[0] + 1f, head[0], "the head written apart, with its first value changed, comes back as written");
    }

    @Test
    void filesThatAreNotALlama2cCheckpointOrItsTokenizerAreRefusedByName(@TempDir Path dir) throws IOException {
        Path modelBin = writeModelBin(dir.resolve("model.bin"), false);
        Path tokenizerBin = writeTokenizerBin(dir.resolve("tokenizer.bin"));
        long size = Files.size(modelBin);

        Path cut = dir.resolve("cut.bin");
        Files.write(cut, java.util.Arrays.copyOf(Files.readAllBytes(modelBin), (int) size - 4));
        CliRun truncated = convert(cut, tokenizerBin, dir.resolve("a"));
        assertEquals(2, truncated.exitCode(), truncated.err());
        assertEquals("error: " + cut + " holds " + (size - 4) + " bytes, where its header (dim 64, hidden_dim 172, n_layers 5, n_heads 8, n_kv_heads 4,"
                + " vocab_size 512, seq_len 512) needs " + size + ": the file is cut short, or is not a llama2.c version-0 checkpoint", truncated.err().strip());

        Path versioned = dir.resolve("v1.bin");
        Files.write(versioned, ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN).putInt(0x616b3432).putInt(1).array());
        CliRun later = convert(versioned, tokenizerBin, dir.resolve("b"));
        assertEquals(2, later.exitCode(), later.err());
        assertTrue(later.err().contains("is a llama2.c checkpoint of a later export version (magic \"ak42\"): only the legacy version-0 format"), later.err());

        Path safetensors = TestData.stories260K().resolve("model.safetensors");
        CliRun other = convert(safetensors, tokenizerBin, dir.resolve("c"));
        assertEquals(2, other.exitCode(), other.err());
        assertTrue(other.err().startsWith("error: " + safetensors + ": header field"), other.err());

        Path shortVocabulary = dir.resolve("short-tokenizer.bin");
        byte[] tokenizer = Files.readAllBytes(tokenizerBin);
        Files.write(shortVocabulary, java.util.Arrays.copyOf(tokenizer, tokenizer.length - 3));
        CliRun wrongTokenizer = convert(modelBin, shortVocabulary, dir.resolve("d"));
        assertEquals(2, wrongTokenizer.exitCode(), wrongTokenizer.err());
        assertTrue(wrongTokenizer.err().contains(shortVocabulary + ": piece 511 has length"), wrongTokenizer.err());
        assertEquals(false, Files.exists(dir.resolve("d")), "nothing written before both files are read");

        // An empty piece failed in the merges with a stack trace, after config.json and the weights were written (a hostile test).
        Path emptyPiece = writeTokenizerBin(dir.resolve("empty-piece.bin"), 300);
        CliRun empty = convert(modelBin, emptyPiece, dir.resolve("f"));
        assertEquals(2, empty.exitCode(), empty.err());
        assertEquals("error: " + emptyPiece + ": piece 300 is empty; a sentencepiece vocabulary has no empty piece", empty.err().strip());
        assertEquals(false, Files.exists(dir.resolve("f")));

        CliRun missing = convert(dir.resolve("nope.bin"), tokenizerBin, dir.resolve("e"));
        assertEquals("error: --model-bin = " + dir.resolve("nope.bin") + " does not exist", missing.err().strip());

        Files.createDirectories(dir.resolve("full"));
        Files.writeString(dir.resolve("full/x"), "");
        CliRun notEmpty = convert(modelBin, tokenizerBin, dir.resolve("full"));
        assertEquals("error: --out = " + dir.resolve("full") + " exists and is not empty", notEmpty.err().strip());
    }

    private static CliRun convert(Path modelBin, Path tokenizerBin, Path out) {
        return CliRun.of("convert-llama2c", "--model-bin", modelBin.toString(), "--tokenizer-bin", tokenizerBin.toString(), "--out", out.toString());
    }

    /**
     * The bundled model in llama2.c's legacy format, as its export.py writes it: the header, then
     * each kind of tensor for every layer, the rotary tables, and (untied) the classifier.
     */
    private static Path writeModelBin(Path file, boolean untied) throws IOException {
        Checkpoint model = Checkpoint.open(TestData.stories260K());
        LlamaConfig config = model.config();
        int layers = config.numLayers();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int vocab = untied ? -config.vocabSize() : config.vocabSize();
        ints(bytes, config.hiddenSize(), config.intermediateSize(), layers, config.numHeads(), config.numKeyValueHeads(), vocab, config.maxPositions());
        floats(bytes, model.readArray("model.embed_tokens.weight"));
        for (String kind : List.of("input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                "post_attention_layernorm", "mlp.gate_proj", "mlp.down_proj", "mlp.up_proj")) {
            for (int layer = 0; layer < layers; layer++) {
                String name = "model.layers." + layer + "." + kind + ".weight";
                float[] values = model.readArray(name);
                long[] shape = model.entries().get(name).shape();
                if (kind.equals("self_attn.q_proj")) {
                    values = toInterleaved(values, config.numHeads(), (int) shape[1]);
                } else if (kind.equals("self_attn.k_proj")) {
                    values = toInterleaved(values, config.numKeyValueHeads(), (int) shape[1]);
                }
                floats(bytes, values);
            }
        }
        floats(bytes, model.readArray("model.norm.weight"));
        floats(bytes, new float[config.maxPositions() * config.headDim()]); // freq_cis_real and freq_cis_imag, unused
        if (untied) {
            float[] head = model.readArray("lm_head.weight").clone();
            head[0] += 1f;
            floats(bytes, head);
        }
        return Files.write(file, bytes.toByteArray());
    }

    /**
     * export.py's permute_reverse, written as it is there: w.view(heads, 2, D/2, columns)
     * .transpose(1, 2): the Hugging Face row j·… of half k goes to 2j + k.
     */
    private static float[] toInterleaved(float[] weight, int heads, int columns) {
        int rows = weight.length / columns;
        int headDim = rows / heads;
        float[] out = new float[weight.length];
        int to = 0;
        for (int head = 0; head < heads; head++) {
            for (int pair = 0; pair < headDim / 2; pair++) {
                for (int half = 0; half < 2; half++) {
                    int from = head * headDim + half * (headDim / 2) + pair;
                    System.arraycopy(weight, from * columns, out, to++ * columns, columns);
                }
            }
        }
        return out;
    }

    /**
     * The bundled tokenizer as llama2.c's tokenizer.py exports it: "▁" as a space, BOS and EOS
     * wrapped in newlines, byte pieces as the byte, and sentencepiece's BPE scores (the merge rank,
     * negated) for the rest.
     */
    private static Path writeTokenizerBin(Path file) throws IOException {
        return writeTokenizerBin(file, -1);
    }

    /** As {@link #writeTokenizerBin(Path)}, with piece {@code emptyId} written empty (none for -1). */
    private static Path writeTokenizerBin(Path file, int emptyId) throws IOException {
        JsonNode vocab = JSON.readTree(TestData.stories260K().resolve("tokenizer.json").toFile()).path("model").path("vocab");
        List<String> pieces = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> entry = it.next();
            assertEquals(pieces.size(), entry.getValue().asInt(), "the vocabulary in id order");
            pieces.add(entry.getKey());
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<byte[]> exported = new ArrayList<>();
        for (int id = 0; id < pieces.size(); id++) {
            String piece = pieces.get(id);
            if (id == 1 || id == 2) {
                exported.add(("\n" + piece + "\n").getBytes(StandardCharsets.UTF_8));
            } else if (id >= 3 && id < 259) {
                exported.add(new byte[] {(byte) Integer.parseInt(piece.substring(3, 5), 16)});
            } else if (id == emptyId) {
                exported.add(new byte[0]);
            } else {
                exported.add(piece.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8));
            }
        }
        ints(bytes, exported.stream().mapToInt(b -> b.length).max().orElse(0));
        for (int id = 0; id < pieces.size(); id++) {
            ByteBuffer entry = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(id < 259 ? 0f : -(id - 259)).putInt(exported.get(id).length);
            bytes.write(entry.array());
            bytes.write(exported.get(id));
        }
        return Files.write(file, bytes.toByteArray());
    }

    private static void ints(ByteArrayOutputStream out, int... values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int value : values) {
            buffer.putInt(value);
        }
        out.writeBytes(buffer.array());
    }

    private static void floats(ByteArrayOutputStream out, float[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            buffer.putFloat(value);
        }
        out.writeBytes(buffer.array());
    }
}
