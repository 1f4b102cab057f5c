package io.explainstream.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Writes a LLaMA checkpoint of any shape with random weights (normal, std 0.02, as Hugging Face
 * initializes; RMSNorm weights 1), plus a tokenizer copied from a source directory, so that
 * benchmarks and tests can run other shapes than the bundled model.
 */
public final class RandomCheckpoint {

    private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json");
    private static final double INIT_STD = 0.02;

    private RandomCheckpoint() {}

    /**
     * @param config the shape; its vocabulary must fit the tokenizer's
     * @param tokenizerDir where tokenizer.json and friends are copied from
     * @param seed makes the weights reproducible
     */
    public static void write(LlamaConfig config, Path tokenizerDir, long seed, TensorDtype dtype, int shards, Path out) throws IOException {
        Random random = new Random(seed);
        CheckpointWriter writer = new CheckpointWriter(config);
        // The 1-D tensors are the RMSNorm weights.
        shapes(config).forEach((name, shape) -> writer.add(name, shape, shape.length == 1 ? ones(shape[0]) : normal(random, shape[0] * shape[1])));
        writer.write(out, dtype, shards);
        for (String file : TOKENIZER_FILES) {
            Path source = tokenizerDir.resolve(file);
            if (Files.isRegularFile(source)) {
                Files.copy(source, out.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** Every tensor of the checkpoint and its shape, in the order written; a caller can check their sizes before anything is generated. */
    public static Map<String, long[]> shapes(LlamaConfig config) {
        long h = config.hiddenSize();
        long q = (long) config.numHeads() * config.headDim();
        long kv = (long) config.numKeyValueHeads() * config.headDim();
        long f = config.intermediateSize();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {config.vocabSize(), h});
        for (int i = 0; i < config.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            shapes.put(p + "input_layernorm.weight", new long[] {h});
            shapes.put(p + "self_attn.q_proj.weight", new long[] {q, h});
            shapes.put(p + "self_attn.k_proj.weight", new long[] {kv, h});
            shapes.put(p + "self_attn.v_proj.weight", new long[] {kv, h});
            shapes.put(p + "self_attn.o_proj.weight", new long[] {h, q});
            shapes.put(p + "post_attention_layernorm.weight", new long[] {h});
            shapes.put(p + "mlp.gate_proj.weight", new long[] {f, h});
            shapes.put(p + "mlp.up_proj.weight", new long[] {f, h});
            shapes.put(p + "mlp.down_proj.weight", new long[] {h, f});
        }
        shapes.put("model.norm.weight", new long[] {h});
        if (!config.tieWordEmbeddings()) {
            shapes.put("lm_head.weight", new long[] {config.vocabSize(), h});
        }
        return shapes;
    }

    private static float[] normal(Random random, long count) {
        float[] values = new float[Math.toIntExact(count)];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextGaussian() * INIT_STD);
        }
        return values;
    }

    private static float[] ones(long count) {
        float[] values = new float[Math.toIntExact(count)];
        java.util.Arrays.fill(values, 1f);
        return values;
    }
}
