package io.explainstream.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
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
        long h = config.hiddenSize();
        long q = (long) config.numHeads() * config.headDim();
        long kv = (long) config.numKeyValueHeads() * config.headDim();
        long f = config.intermediateSize();
        writer.add("model.embed_tokens.weight", new long[] {config.vocabSize(), h}, normal(random, config.vocabSize() * h));
        for (int i = 0; i < config.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            writer.add(p + "input_layernorm.weight", new long[] {h}, ones(h));
            writer.add(p + "self_attn.q_proj.weight", new long[] {q, h}, normal(random, q * h));
            writer.add(p + "self_attn.k_proj.weight", new long[] {kv, h}, normal(random, kv * h));
            writer.add(p + "self_attn.v_proj.weight", new long[] {kv, h}, normal(random, kv * h));
            writer.add(p + "self_attn.o_proj.weight", new long[] {h, q}, normal(random, h * q));
            writer.add(p + "post_attention_layernorm.weight", new long[] {h}, ones(h));
            writer.add(p + "mlp.gate_proj.weight", new long[] {f, h}, normal(random, f * h));
            writer.add(p + "mlp.up_proj.weight", new long[] {f, h}, normal(random, f * h));
            writer.add(p + "mlp.down_proj.weight", new long[] {h, f}, normal(random, h * f));
        }
        writer.add("model.norm.weight", new long[] {h}, ones(h));
        if (!config.tieWordEmbeddings()) {
            writer.add("lm_head.weight", new long[] {config.vocabSize(), h}, normal(random, config.vocabSize() * h));
        }
        writer.write(out, dtype, shards);
        for (String file : TOKENIZER_FILES) {
            Path source = tokenizerDir.resolve(file);
            if (Files.isRegularFile(source)) {
                Files.copy(source, out.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
        }
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
