package io.explainstream.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointLoadingTest {

    private static final long[] PROMPT = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395};

    @Test
    void shardedCopyGivesTheSameLogits(@TempDir Path dir) throws IOException {
        CheckpointWriter.copyOf(Checkpoint.open(TestData.stories260K())).write(dir, TensorDtype.F32, 3);
        assertTrue(Files.isRegularFile(dir.resolve("model.safetensors.index.json")));
        assertTrue(Files.isRegularFile(dir.resolve("model-00003-of-00003.safetensors")));
        assertEquals(0.0, largestLogitDifference(dir), 0.0);
    }

    @Test
    void float16AndBfloat16CopiesLoadIntoFloat32WithinTheirPrecision(@TempDir Path dir) throws IOException {
        Path f16 = dir.resolve("f16");
        Path bf16 = dir.resolve("bf16");
        CheckpointWriter.copyOf(Checkpoint.open(TestData.stories260K())).write(f16, TensorDtype.F16, 1);
        CheckpointWriter.copyOf(Checkpoint.open(TestData.stories260K())).write(bf16, TensorDtype.BF16, 2);
        double f16Difference = largestLogitDifference(f16);
        double bf16Difference = largestLogitDifference(bf16);
        // Weights rounded to 11 (float16) or 8 (bfloat16) significant bits move logits of size ~20
        // by a few hundredths and a few tenths; a loading bug moves them by whole units.
        assertTrue(f16Difference > 0 && f16Difference < 0.05, "float16 copy differs by " + f16Difference);
        assertTrue(bf16Difference > 0 && bf16Difference < 0.5, "bfloat16 copy differs by " + bf16Difference);
    }

    @Test
    void tiedEmbeddingsWithoutStoredLmHeadAndGroupedQueryShapesLoad(@TempDir Path dir) throws IOException {
        LlamaConfig shape = new LlamaConfig(48, 96, 6, 2, 10, 2, 512, 256, 1e-5, 500000.0, RopeScaling.NONE, true, 1, 2, -1);
        RandomCheckpoint.write(shape, TestData.stories260K(), 7, TensorDtype.F32, 1, dir);
        Checkpoint checkpoint = Checkpoint.open(dir);
        assertTrue(!checkpoint.has("lm_head.weight"));
        assertEquals(10, checkpoint.config().headDim(), "explicit head_dim differs from hidden / heads");
        try (LlamaModel model = LlamaModel.load(dir, ModelOptions.CPU_FLOAT32)) {
            float[] logits = LlamaModelTest.lastLogits(model, PROMPT);
            assertEquals(512, logits.length);
            assertTrue(Float.isFinite(logits[0]));
        }
    }

    /** Weights of a layer past num_hidden_layers: config.json describes another model than the weights, and loading the first layers would explain a model nobody trained. */
    @Test
    void weightsOfALayerPastTheConfigsLayerCountAreRefused(@TempDir Path dir) throws IOException {
        LlamaConfig shape = new LlamaConfig(32, 64, 4, 2, 8, 2, 512, 128, 1e-5, 10000.0, RopeScaling.NONE, true, 1, 2, -1);
        RandomCheckpoint.write(shape, TestData.stories260K(), 3, TensorDtype.F32, 1, dir);
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replaceAll("\"num_hidden_layers\"\\s*:\\s*2", "\"num_hidden_layers\": 1"));
        ModelLoadException error = assertThrows(ModelLoadException.class, () -> LlamaModel.load(dir, ModelOptions.CPU_FLOAT32).close());
        assertEquals("tensor model.layers.1.input_layernorm.weight belongs to layer 1, but config.json's num_hidden_layers = 1 in " + dir
                + ": config.json and the weights do not belong together", error.getMessage());
    }

    /** A NaN in one weight makes every score NaN, which prints like a number: refused at load, naming the tensor. */
    @Test
    void aNanOrInfiniteWeightIsRefusedNamingTheTensor(@TempDir Path dir) throws IOException {
        TestData.stories260KWith(dir, "model.embed_tokens.weight", values -> {
            values[5] = Float.NaN;
            values[700] = Float.POSITIVE_INFINITY;
        });
        var error = assertThrows(ModelLoadException.class, () -> LlamaModel.load(dir, ModelOptions.CPU_FLOAT32).close());
        assertEquals("tensor model.embed_tokens.weight in " + dir + " holds 2 NaN or infinite values (of 32768) in the checkpoint: the weights are"
                + " damaged (explanations and generated text from them would be NaN or <unk>); convert or download the checkpoint again",
                error.getMessage());
    }

    /** A float32 weight beyond float16's range becomes infinity when the model runs in float16. */
    @Test
    void aWeightBeyondTheComputeDtypesRangeIsRefusedNamingTheDtype(@TempDir Path dir) throws IOException {
        TestData.stories260KWith(dir, "model.layers.2.mlp.down_proj.weight", values -> values[9] = -1e6f);
        var error = assertThrows(ModelLoadException.class,
                () -> LlamaModel.load(dir, new ModelOptions(new DeviceSpec("cpu"), ComputeDtype.FLOAT16)).close());
        assertEquals("tensor model.layers.2.mlp.down_proj.weight in " + dir + " holds 1 NaN or infinite values (of 11008) once converted to float16"
                + " (its largest |value| is 1000000.0, beyond that type's range): run the model in float32, or bfloat16 on a GPU", error.getMessage());
        try (LlamaModel model = LlamaModel.load(dir, ModelOptions.CPU_FLOAT32)) {
            assertEquals(512, LlamaModelTest.lastLogits(model, PROMPT).length, "the same weights load in float32");
        }
    }

    /** Each was accepted: a negative stretch, a window the engine does not apply, shard paths out of the folder, and the index chosen over the single file. */
    @Test
    void configAndIndexValuesThatWouldChangeTheModelAreRefusedOrFollowTransformers(@TempDir Path dir) throws IOException {
        Path negative = dir.resolve("negative");
        Files.createDirectories(negative);
        TestData.stories260KWithConfig(negative, config -> config.putObject("rope_scaling").put("type", "linear").put("factor", -2.0));
        assertEquals("config.json: rope_scaling.factor = -2.0 is not valid: it must be at least 1",
                assertThrows(ModelLoadException.class, () -> Checkpoint.open(negative)).getMessage());

        Path mistral = dir.resolve("mistral");
        Files.createDirectories(mistral);
        TestData.stories260KWithConfig(mistral, config -> config.put("model_type", "mistral").put("sliding_window", 64));
        assertEquals(64, Checkpoint.open(mistral).config().maxPositions(), "attention beyond the window is not full attention");
        Path noWindow = dir.resolve("no-window");
        Files.createDirectories(noWindow);
        TestData.stories260KWithConfig(noWindow, config -> config.put("model_type", "mistral").putNull("sliding_window"));
        assertEquals(512, Checkpoint.open(noWindow).config().maxPositions());

        Path sharded = dir.resolve("sharded");
        CheckpointWriter.copyOf(Checkpoint.open(TestData.stories260K())).write(sharded, TensorDtype.F32, 2);
        Path index = sharded.resolve("model.safetensors.index.json");
        String mapped = Files.readString(index);
        Files.copy(sharded.resolve("model-00001-of-00002.safetensors"), dir.resolve("outside.safetensors"));
        Files.writeString(index, mapped.replaceFirst("\"model-00001-of-00002.safetensors\"", "\"../outside.safetensors\""));
        ModelLoadException outside = assertThrows(ModelLoadException.class, () -> Checkpoint.open(sharded));
        assertTrue(outside.getMessage().contains("to '../outside.safetensors', which is not a file of the model directory "
                + sharded + " (shards are named by their file name alone)"), outside.getMessage());
        Files.writeString(index, mapped.replaceFirst("\"model-00001-of-00002.safetensors\"", "\"/etc/passwd\""));
        assertTrue(assertThrows(ModelLoadException.class, () -> Checkpoint.open(sharded)).getMessage().contains("to '/etc/passwd', which is not a file"));
        // Both a single file and an index: transformers loads model.safetensors, and so does this loader (the broken index is not read).
        Files.copy(TestData.stories260K().resolve("model.safetensors"), sharded.resolve("model.safetensors"));
        assertEquals(Checkpoint.open(TestData.stories260K()).entries().keySet(), Checkpoint.open(sharded).entries().keySet());
    }

    @Test
    void fingerprintChangesWithTheWeights(@TempDir Path dir) throws IOException {
        LlamaConfig shape = new LlamaConfig(32, 64, 4, 2, 8, 1, 512, 128, 1e-5, 10000.0, RopeScaling.NONE, true, 1, 2, -1);
        RandomCheckpoint.write(shape, TestData.stories260K(), 1, TensorDtype.F32, 1, dir.resolve("a"));
        RandomCheckpoint.write(shape, TestData.stories260K(), 2, TensorDtype.F32, 1, dir.resolve("b"));
        String a = Checkpoint.open(dir.resolve("a")).fingerprint();
        assertEquals(a, Checkpoint.open(dir.resolve("a")).fingerprint());
        assertNotEquals(a, Checkpoint.open(dir.resolve("b")).fingerprint());
        assertTrue(a.matches("sha256:[0-9a-f]{64}"), a);
    }

    @Test
    void missingConfigIsNamed(@TempDir Path dir) {
        var error = assertThrows(ModelLoadException.class, () -> LlamaModel.load(dir, ModelOptions.CPU_FLOAT32));
        assertEquals("no config.json in model directory " + dir, error.getMessage());
    }

    @Test
    void missingWeightsAreNamed(@TempDir Path dir) throws IOException {
        Files.copy(TestData.stories260K().resolve("config.json"), dir.resolve("config.json"));
        var error = assertThrows(ModelLoadException.class, () -> LlamaModel.load(dir, ModelOptions.CPU_FLOAT32));
        assertEquals("no model.safetensors or model.safetensors.index.json in model directory " + dir, error.getMessage());
    }

    @Test
    void missingTensorIsNamed(@TempDir Path dir) throws IOException {
        Checkpoint source = Checkpoint.open(TestData.stories260K());
        CheckpointWriter writer = new CheckpointWriter(source.config());
        source.entries().forEach((name, entry) -> {
            if (!name.equals("model.layers.3.mlp.up_proj.weight")) {
                writer.add(name, entry.shape(), source.readArray(name));
            }
        });
        writer.write(dir, TensorDtype.F32, 1);
        var error = assertThrows(ModelLoadException.class, () -> LlamaModel.load(dir, ModelOptions.CPU_FLOAT32));
        assertEquals("tensor model.layers.3.mlp.up_proj.weight is missing from the checkpoint in " + dir, error.getMessage());
    }

    @Test
    void tensorOfTheWrongShapeIsNamedWithBothShapes(@TempDir Path dir) throws IOException {
        TestData.stories260KWithConfig(dir, config -> config.put("intermediate_size", 100));
        var error = assertThrows(ModelLoadException.class, () -> LlamaModel.load(dir, ModelOptions.CPU_FLOAT32));
        assertEquals("tensor model.layers.0.mlp.gate_proj.weight has shape [172, 64] in model.safetensors, expected [100, 64] from config.json",
                error.getMessage());
    }

    @Test
    void unsupportedRopeScalingIsNamed(@TempDir Path dir) throws IOException {
        TestData.stories260KWithConfig(dir, config -> config.putObject("rope_scaling").put("type", "yarn").put("factor", 4.0));
        var error = assertThrows(ModelLoadException.class, () -> LlamaModel.load(dir, ModelOptions.CPU_FLOAT32));
        assertEquals("config.json: rope_scaling type 'yarn' is not supported (supported: null, default, linear, llama3)", error.getMessage());
    }

    /** A fractional layer count is not read as its whole part; a refused value says what it must be. */
    @Test
    void aFractionalCountIsRefusedAndARefusedValueSaysWhy(@TempDir Path dir) throws IOException {
        Path fractional = Files.createDirectory(dir.resolve("fractional"));
        TestData.stories260KWithConfig(fractional, config -> config.put("num_hidden_layers", 5.5));
        assertEquals("config.json: num_hidden_layers = 5.5 is not an integer",
                assertThrows(ModelLoadException.class, () -> LlamaConfig.read(fractional)).getMessage());
        Path heads = Files.createDirectory(dir.resolve("heads"));
        TestData.stories260KWithConfig(heads, config -> config.put("num_key_value_heads", 3));
        assertEquals("config.json: num_key_value_heads = 3 is not valid: it must be positive and divide num_attention_heads = 8 (each key/value"
                + " head serves the same number of query heads)", assertThrows(ModelLoadException.class, () -> LlamaConfig.read(heads)).getMessage());
    }

    /**
     * Values a hostile test put in config.json (helper-74): each is refused in one line that names
     * the field and the value. Before, zero heads divided by zero (a stack trace), and a wrongly
     * typed rope_theta, rms_norm_eps or tie_word_embeddings, an end-of-sequence id outside the
     * vocabulary and a key given twice loaded as another model without a word.
     */
    @Test
    void wronglyTypedOrImpossibleConfigValuesAreRefusedNamingTheFieldAndValue(@TempDir Path dir) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode base = (ObjectNode) json.readTree(TestData.stories260K().resolve("config.json").toFile());
        java.util.function.BiConsumer<String, java.util.function.Consumer<ObjectNode>> refused = (expected, edit) -> {
            ObjectNode config = base.deepCopy();
            edit.accept(config);
            assertEquals(expected, assertThrows(ModelLoadException.class, () -> LlamaConfig.fromJson(config)).getMessage());
        };
        refused.accept("config.json: num_attention_heads = 0 is not valid: it must be positive", c -> c.put("num_attention_heads", 0).remove("head_dim"));
        refused.accept("config.json: num_attention_heads = 6 is not valid: without head_dim it must divide hidden_size = 64",
                c -> c.put("num_attention_heads", 6).put("num_key_value_heads", 6).remove("head_dim"));
        refused.accept("config.json: rope_theta = \"abc\" is not a number", c -> c.put("rope_theta", "abc"));
        refused.accept("config.json: rope_theta = \"500000\" is not a number", c -> c.put("rope_theta", "500000"));
        refused.accept("config.json: rms_norm_eps = true is not a number", c -> c.put("rms_norm_eps", true));
        refused.accept("config.json: tie_word_embeddings = \"yes\" is not true, false or null", c -> c.put("tie_word_embeddings", "yes"));
        refused.accept("config.json: attention_bias = \"no\" is not true, false or null", c -> c.put("attention_bias", "no"));
        refused.accept("config.json: eos_token_id = -3 is not valid: it must be a token id from 0 to vocab_size - 1 = 511, or null",
                c -> c.put("eos_token_id", -3));
        refused.accept("config.json: bos_token_id = 99999 is not valid: it must be a token id from 0 to vocab_size - 1 = 511, or null",
                c -> c.put("bos_token_id", 99999));
        refused.accept("config.json: bos_token_id = \"1\" is not an integer", c -> c.put("bos_token_id", "1"));
        // helper-75: a listed id past the vocabulary went unchecked, and a vocab_size of -1 was blamed on bos_token_id.
        refused.accept("config.json: eos_token_id[1] = 9999 is not valid: it must be a token id from 0 to vocab_size - 1 = 511, or null",
                c -> c.putArray("eos_token_id").add(2).add(9999));
        refused.accept("config.json: vocab_size = -1 is not valid: it must be positive", c -> c.put("vocab_size", -1));
        refused.accept("config.json: hidden_size = 2147483648 is not an integer this loader can use (at most 2147483647)",
                c -> c.put("hidden_size", 2_147_483_648L));
        refused.accept("config.json: hidden_size = \"64\" is not an integer", c -> c.put("hidden_size", "64"));
        refused.accept("config.json: hidden_size is missing", c -> c.remove("hidden_size"));
        // What checkpoints write: a list of end-of-sequence ids (the first is taken), null ids, LLaMA 1's pad_token_id -1 (none).
        ObjectNode lenient = base.deepCopy();
        lenient.putArray("eos_token_id").add(2).add(3);
        lenient.putNull("bos_token_id");
        lenient.put("pad_token_id", -1);
        LlamaConfig read = LlamaConfig.fromJson(lenient);
        assertEquals(2, read.eosTokenId());
        assertEquals(-1, read.bosTokenId());
        assertEquals(-1, read.padTokenId());

        Path twice = Files.createDirectory(dir.resolve("twice"));
        TestData.stories260KWithConfig(twice, config -> {});
        String text = Files.readString(twice.resolve("config.json"));
        Files.writeString(twice.resolve("config.json"), text.replace("\"hidden_size\":64", "\"hidden_size\":64,\"hidden_size\":32"));
        var duplicate = assertThrows(ModelLoadException.class, () -> LlamaConfig.read(twice));
        assertTrue(duplicate.getMessage().startsWith(twice.resolve("config.json") + " is not valid JSON at line 1, column "), duplicate.getMessage());
        assertTrue(duplicate.getMessage().contains("hidden_size") && duplicate.getMessage().contains("twice"), duplicate.getMessage());
        Files.writeString(twice.resolve("config.json"), text + "{}");
        assertTrue(assertThrows(ModelLoadException.class, () -> LlamaConfig.read(twice)).getMessage().startsWith(twice.resolve("config.json")
                + " is not valid JSON at line 1, column "), "a second object after the first");
        for (String content : new String[] {"", "  \n", "[1,2]", "\"llama\""}) {
            Path odd = Files.createDirectories(dir.resolve("odd" + content.length()));
            Files.writeString(odd.resolve("config.json"), content);
            String expected = odd.resolve("config.json") + (content.isBlank() ? " is empty" : " is not a JSON object: it holds " + content);
            assertEquals(expected, assertThrows(ModelLoadException.class, () -> LlamaConfig.read(odd)).getMessage());
        }
    }

    /** A number beyond int's range is reported as written, not wrapped; a truncated file is one line with its place, without Jackson's internals. */
    @Test
    void aHugeNumberAndATruncatedConfigAreNamedAsWritten(@TempDir Path dir) throws IOException {
        Path huge = Files.createDirectory(dir.resolve("huge"));
        TestData.stories260KWithConfig(huge, config -> config.put("max_position_embeddings", 1_000_000_000_000L));
        var overflow = assertThrows(ModelLoadException.class, () -> LlamaConfig.read(huge));
        assertEquals("config.json: max_position_embeddings = 1000000000000 is not an integer this loader can use (at most 2147483647)",
                overflow.getMessage());
        Path zero = Files.createDirectory(dir.resolve("zero"));
        TestData.stories260KWithConfig(zero, config -> config.put("max_position_embeddings", 0));
        assertEquals("config.json: max_position_embeddings = 0 is not valid: it must be positive", assertThrows(ModelLoadException.class,
                () -> LlamaConfig.read(zero)).getMessage(), "named as written, not as the sliding_window the file does not have");
        Path truncated = Files.createDirectory(dir.resolve("truncated"));
        String text = Files.readString(TestData.stories260K().resolve("config.json"));
        Files.writeString(truncated.resolve("config.json"), text.substring(0, text.length() / 2));
        var broken = assertThrows(ModelLoadException.class, () -> LlamaConfig.read(truncated));
        assertTrue(broken.getMessage().startsWith(truncated.resolve("config.json") + " is not valid JSON at line "), broken.getMessage());
        assertEquals(1, broken.getMessage().lines().count(), broken.getMessage());
        assertFalse(broken.getMessage().contains("Source") || broken.getMessage().contains("REDACTED"), broken.getMessage());
    }

    @Test
    void linearRopeScalingStretchesPositions() {
        RopeScaling linear = new RopeScaling(RopeScaling.Type.LINEAR, 4, 0, 0, 0);
        double[] plain = RopeScaling.NONE.inverseFrequencies(8, 10000);
        double[] stretched = linear.inverseFrequencies(8, 10000);
        for (int i = 0; i < plain.length; i++) {
            assertEquals(plain[i] / 4, stretched[i], 1e-15);
        }
    }

    @Test
    void bfloat16ComputeOnCpuIsRefusedBeforeLibtorchAborts() {
        var error = assertThrows(ModelLoadException.class,
                () -> LlamaModel.load(TestData.stories260K(), ModelOptions.cpu(ComputeDtype.BFLOAT16)));
        assertTrue(error.getMessage().startsWith("dtype bfloat16 needs a GPU device"), error.getMessage());
    }

    @Test
    void unknownDeviceAndDtypeNamesAreRefusedWithTheKey() {
        var device = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.parse("model.device", "tpu"));
        assertEquals("model.device = 'tpu' is not a device (use cpu, gpu, gpu:N or auto)", device.getMessage());
        var dtype = assertThrows(IllegalArgumentException.class, () -> ComputeDtype.parse("model.dtype", "int8"));
        assertEquals("model.dtype = 'int8' is not a compute dtype (choose one of float32, float64, float16, bfloat16)", dtype.getMessage());
    }

    private static double largestLogitDifference(Path copy) {
        float[] expected;
        float[] actual;
        try (LlamaModel original = LlamaModel.load(TestData.stories260K(), ModelOptions.CPU_FLOAT32)) {
            expected = LlamaModelTest.lastLogits(original, PROMPT);
        }
        try (LlamaModel loaded = LlamaModel.load(copy, ModelOptions.CPU_FLOAT32)) {
            actual = LlamaModelTest.lastLogits(loaded, PROMPT);
        }
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        return worst;
    }
}
