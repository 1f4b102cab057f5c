package io.explainstream.model;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.json.JsonProblem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The shape of a LLaMA-family model, read from a Hugging Face {@code config.json}.
 *
 * @param hiddenSize width of the residual stream, H
 * @param intermediateSize width of the SwiGLU MLP
 * @param numHeads query heads
 * @param numKeyValueHeads key/value heads (fewer than {@code numHeads} for grouped-query attention)
 * @param headDim width of one head, D ({@code head_dim}, or H / heads when absent)
 * @param numLayers decoder layers
 * @param vocabSize rows of the embedding table, V
 * @param maxPositions {@code max_position_embeddings}, or a smaller {@code sliding_window} (Mistral): the longest input explained
 * @param rmsNormEps epsilon of every RMSNorm
 * @param ropeTheta base of the rotary frequencies
 * @param ropeScaling stretch of the rotary frequencies
 * @param tieWordEmbeddings whether the LM head reuses the embedding table
 * @param bosTokenId id of the beginning-of-sequence token, or -1
 * @param eosTokenId id of the end-of-sequence token, or -1
 * @param padTokenId id of the padding token, or -1 when the checkpoint defines none
 */
public record LlamaConfig(
        int hiddenSize,
        int intermediateSize,
        int numHeads,
        int numKeyValueHeads,
        int headDim,
        int numLayers,
        int vocabSize,
        int maxPositions,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int eosTokenId,
        int padTokenId) {

    private static final Set<String> MODEL_TYPES = Set.of("llama", "mistral");
    /**
     * Refuses a key given twice (Jackson would take the last, and the weights' shapes then disagree
     * with a number the reader never saw) and text after the object (a second object pasted in).
     */
    private static final ObjectMapper JSON = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    public LlamaConfig {
        require(hiddenSize > 0, "hidden_size", hiddenSize, "must be positive");
        require(intermediateSize > 0, "intermediate_size", intermediateSize, "must be positive");
        require(numHeads > 0, "num_attention_heads", numHeads, "must be positive");
        require(numKeyValueHeads > 0 && numHeads % numKeyValueHeads == 0, "num_key_value_heads", numKeyValueHeads,
                "must be positive and divide num_attention_heads = " + numHeads + " (each key/value head serves the same number of query heads)");
        require(headDim > 0 && headDim % 2 == 0, "head_dim", headDim, "must be even and positive (rotary embeddings turn pairs of dimensions)");
        require(numLayers > 0, "num_hidden_layers", numLayers, "must be positive");
        require(vocabSize > 0, "vocab_size", vocabSize, "must be positive");
        require(maxPositions > 0, "max_position_embeddings", maxPositions, "must be positive");
        require(rmsNormEps > 0, "rms_norm_eps", rmsNormEps, "must be positive");
        require(ropeTheta > 0, "rope_theta", ropeTheta, "must be positive");
    }

    private static void require(boolean ok, String key, Object value, String rule) {
        if (!ok) {
            throw new ModelLoadException("config.json: " + key + " = " + value + " is not valid: it " + rule);
        }
    }

    /** Query heads that share one key/value head. */
    public int headsPerKeyValueHead() {
        return numHeads / numKeyValueHeads;
    }

    /** Reads {@code config.json} from a checkpoint directory. */
    public static LlamaConfig read(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("no config.json in model directory " + modelDir);
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelLoadException(file + " is not valid JSON" + JsonProblem.describe(e), e);
        }
        if (root == null || root.isMissingNode()) {
            throw new ModelLoadException(file + " is empty");
        }
        if (!root.isObject()) {
            throw new ModelLoadException(file + " is not a JSON object: it holds " + shortened(root));
        }
        return fromJson(root);
    }

    static LlamaConfig fromJson(JsonNode root) {
        String modelType = root.path("model_type").asText("llama");
        if (!MODEL_TYPES.contains(modelType)) {
            throw new ModelLoadException(
                    "config.json: model_type '" + modelType + "' is not supported (supported: " + MODEL_TYPES + ")");
        }
        String act = root.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new ModelLoadException("config.json: hidden_act '" + act + "' is not supported (supported: silu)");
        }
        for (String bias : new String[] {"attention_bias", "mlp_bias"}) {
            if (optionalBoolean(root, bias)) {
                throw new ModelLoadException("config.json: " + bias + " = true is not supported");
            }
        }
        int hidden = requiredInt(root, "hidden_size");
        int heads = requiredInt(root, "num_attention_heads");
        int vocab = requiredInt(root, "vocab_size");
        // Before the token ids that are checked against it (a vocab_size of -1 was blamed on bos_token_id).
        require(vocab > 0, "vocab_size", vocab, "must be positive");
        return new LlamaConfig(
                hidden,
                requiredInt(root, "intermediate_size"),
                heads,
                optionalInt(root, "num_key_value_heads", heads),
                optionalInt(root, "head_dim", headDimOf(hidden, heads)),
                requiredInt(root, "num_hidden_layers"),
                vocab,
                contextLength(root),
                optionalDouble(root, "rms_norm_eps", 1e-6),
                optionalDouble(root, "rope_theta", 10000.0),
                RopeScaling.fromConfig(root.get("rope_scaling")),
                optionalBoolean(root, "tie_word_embeddings"),
                tokenId(root, "bos_token_id", vocab),
                tokenId(root, "eos_token_id", vocab),
                padTokenId(root));
    }

    /**
     * The head width Hugging Face takes where {@code head_dim} is absent: hidden_size / heads, which
     * must come out whole (zero heads is left to the constructor, which names it).
     */
    private static int headDimOf(int hidden, int heads) {
        if (heads > 0 && hidden % heads != 0) {
            throw new ModelLoadException("config.json: num_attention_heads = " + heads + " is not valid: without head_dim it must divide hidden_size = " + hidden);
        }
        return heads > 0 ? hidden / heads : 0;
    }

    /**
     * The tokens the model attends over in full. Mistral attends to the last {@code sliding_window}
     * tokens only, which is the same as full attention up to that length: this engine attends in
     * full, so a longer input would get another model's numbers, and is refused as one past the
     * context.
     */
    private static int contextLength(JsonNode root) {
        int maxPositions = optionalInt(root, "max_position_embeddings", 2048);
        if (maxPositions <= 0) {
            throw new ModelLoadException("config.json: max_position_embeddings = " + maxPositions + " is not valid: it must be positive");
        }
        int window = optionalInt(root, "sliding_window", maxPositions);
        if (window <= 0) {
            throw new ModelLoadException("config.json: sliding_window = " + window + " is not valid: it must be positive, or null");
        }
        return Math.min(maxPositions, window);
    }

    /** An integer that may be left out (or null). */
    private static int optionalInt(JsonNode root, String key, int absent) {
        JsonNode node = root.get(key);
        return node == null || node.isNull() ? absent : integer(key, node);
    }

    private static int requiredInt(JsonNode root, String key) {
        JsonNode node = root.get(key);
        if (node == null || node.isNull()) {
            throw new ModelLoadException("config.json: " + key + " is missing");
        }
        return integer(key, node);
    }

    /**
     * A whole number as written: 5.5 is not read as 5 (a layer count or width must be whole), "64"
     * not as 64 (a file that quotes one number may quote others wrongly), and one beyond int's range
     * is refused as written, not wrapped to another number.
     */
    private static int integer(String key, JsonNode node) {
        if (!node.isIntegralNumber()) {
            throw new ModelLoadException("config.json: " + key + " = " + shortened(node) + " is not an integer");
        }
        if (!node.canConvertToInt()) {
            throw new ModelLoadException("config.json: " + key + " = " + node + " is not an integer this loader can use (at most " + Integer.MAX_VALUE + ")");
        }
        return node.asInt();
    }

    /** A number that may be left out (or null); a string, even of digits, is refused: Jackson would read "abc" as the default and "5e5" as a number. */
    private static double optionalDouble(JsonNode root, String key, double absent) {
        JsonNode node = root.get(key);
        if (node == null || node.isNull()) {
            return absent;
        }
        if (!node.isNumber()) {
            throw new ModelLoadException("config.json: " + key + " = " + shortened(node) + " is not a number");
        }
        return node.asDouble();
    }

    /** A flag that may be left out (or null, both false); "yes" or "true" as a string is refused, not read as false. */
    private static boolean optionalBoolean(JsonNode root, String key) {
        JsonNode node = root.get(key);
        if (node == null || node.isNull()) {
            return false;
        }
        if (!node.isBoolean()) {
            throw new ModelLoadException("config.json: " + key + " = " + shortened(node) + " is not true, false or null");
        }
        return node.asBoolean();
    }

    /**
     * The beginning- or end-of-sequence id, or -1 where null or absent. Some checkpoints list several
     * end-of-sequence ids; the first is the canonical one. It must name a row of the embedding table:
     * generation stops at it and prompts begin with it.
     */
    private static int tokenId(JsonNode root, String key, int vocab) {
        JsonNode node = root.get(key);
        if (node == null || node.isNull() || (node.isArray() && node.isEmpty())) {
            return -1;
        }
        // Every listed id is checked (generation stops at any of them), the first returned.
        List<JsonNode> ids = new ArrayList<>();
        if (node.isArray()) {
            node.forEach(ids::add);
        } else {
            ids.add(node);
        }
        int[] values = new int[ids.size()];
        for (int i = 0; i < ids.size(); i++) {
            String name = node.isArray() ? key + "[" + i + "]" : key;
            values[i] = integer(name, ids.get(i));
            if (values[i] < 0 || values[i] >= vocab) {
                throw new ModelLoadException("config.json: " + name + " = " + values[i] + " is not valid: it must be a token id from 0 to vocab_size - 1 = "
                        + (vocab - 1) + ", or null");
            }
        }
        return values[0];
    }

    /**
     * The padding id, or -1 where null, absent or negative (LLaMA 1's configs wrote -1 for none). Any other
     * integer is kept as written: a pad token added for fine-tuning may lie past the embedding table,
     * and nothing here looks it up.
     */
    private static int padTokenId(JsonNode root) {
        JsonNode node = root.get("pad_token_id");
        return node == null || node.isNull() ? -1 : Math.max(-1, integer("pad_token_id", node));
    }

    /** A value as the file writes it, cut for a one-line message. */
    private static String shortened(JsonNode node) {
        return io.explainstream.text.Shortened.cut(node.toString(), 60);
    }

    /** The config as Hugging Face writes it, for generated checkpoints. */
    public ObjectNode toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.putArray("architectures").add("LlamaForCausalLM");
        root.put("model_type", "llama");
        root.put("hidden_size", hiddenSize);
        root.put("intermediate_size", intermediateSize);
        root.put("num_attention_heads", numHeads);
        root.put("num_key_value_heads", numKeyValueHeads);
        root.put("num_hidden_layers", numLayers);
        root.put("head_dim", headDim);
        root.put("rms_norm_eps", rmsNormEps);
        root.put("vocab_size", vocabSize);
        root.put("max_position_embeddings", maxPositions);
        root.put("rope_theta", ropeTheta);
        root.putNull("rope_scaling");
        root.put("tie_word_embeddings", tieWordEmbeddings);
        root.put("hidden_act", "silu");
        root.put("attention_bias", false);
        root.put("mlp_bias", false);
        putId(root, "bos_token_id", bosTokenId);
        putId(root, "eos_token_id", eosTokenId);
        putId(root, "pad_token_id", padTokenId);
        return root;
    }

    private static void putId(ObjectNode root, String key, int id) {
        if (id >= 0) {
            root.put(key, id);
        } else {
            root.putNull(key);
        }
    }
}
