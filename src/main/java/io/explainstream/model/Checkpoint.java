package io.explainstream.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.json.JsonProblem;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Hugging Face checkpoint directory: {@code config.json} plus weights in one
 * {@code model.safetensors} or in shards listed by {@code model.safetensors.index.json}.
 */
public final class Checkpoint {

    /** Where the bundled model (stories260K) sits in an installation, relative to its home directory. */
    public static final String BUNDLED_DIRECTORY = "models/stories260K";

    static final String SINGLE_FILE = "model.safetensors";
    static final String INDEX_FILE = "model.safetensors.index.json";
    private static final int FINGERPRINT_SAMPLE_BYTES = 64 * 1024;

    private final Path directory;
    private final LlamaConfig config;
    /** Tensor name to the shard that holds it. */
    private final Map<String, SafetensorsFile> shardOf;

    private Checkpoint(Path directory, LlamaConfig config, Map<String, SafetensorsFile> shardOf) {
        this.directory = directory;
        this.config = config;
        this.shardOf = shardOf;
    }

    public static Checkpoint open(Path directory) {
        if (Files.isRegularFile(directory)) {
            throw new ModelLoadException("model directory " + directory + " is a file, not a directory: give the checkpoint's directory"
                    + " (with config.json, *.safetensors and tokenizer.json)");
        }
        if (!Files.isDirectory(directory)) {
            throw new ModelLoadException("model directory " + directory + " does not exist");
        }
        LlamaConfig config = LlamaConfig.read(directory);
        return new Checkpoint(directory, config, indexShards(directory));
    }

    /**
     * The tensors and the file of each. model.safetensors comes first when both it and an index are
     * there, as Hugging Face's transformers loads them: the same directory is the same model in both.
     */
    private static Map<String, SafetensorsFile> indexShards(Path directory) {
        Map<String, SafetensorsFile> shardOf = new LinkedHashMap<>();
        Path single = directory.resolve(SINGLE_FILE);
        Path index = directory.resolve(INDEX_FILE);
        if (Files.isRegularFile(single)) {
            SafetensorsFile file = SafetensorsFile.open(single);
            file.entries().keySet().forEach(name -> shardOf.put(name, file));
            return shardOf;
        }
        if (!Files.isRegularFile(index)) {
            throw new ModelLoadException("no " + SINGLE_FILE + " or " + INDEX_FILE + " in model directory " + directory);
        }
        JsonNode weightMap = readIndex(index);
        Map<String, SafetensorsFile> opened = new LinkedHashMap<>();
        Path inside = directory.toAbsolutePath().normalize();
        for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> mapping = it.next();
            String shardName = mapping.getValue().asText();
            Path shardPath = inside.resolve(shardName).normalize();
            if (!shardPath.getParent().equals(inside)) {
                // An index is data from the checkpoint's publisher: it names files of the directory, never a path out of it.
                throw new ModelLoadException(INDEX_FILE + " maps tensor " + mapping.getKey() + " to '" + shardName + "', which is not a file of the model"
                        + " directory " + directory + " (shards are named by their file name alone)");
            }
            if (!Files.isRegularFile(shardPath)) {
                throw new ModelLoadException(INDEX_FILE + " maps tensor " + mapping.getKey() + " to " + shardName + ", which does not exist in " + directory);
            }
            shardOf.put(mapping.getKey(), opened.computeIfAbsent(shardName, name -> SafetensorsFile.open(shardPath)));
        }
        return shardOf;
    }

    private static JsonNode readIndex(Path index) {
        try {
            JsonNode weightMap = new ObjectMapper().readTree(index.toFile()).get("weight_map");
            if (weightMap == null || !weightMap.isObject()) {
                throw new ModelLoadException(index + " has no weight_map object");
            }
            return weightMap;
        } catch (IOException e) {
            throw new ModelLoadException(index + " is not valid JSON" + JsonProblem.describe(e), e);
        }
    }

    public Path directory() {
        return directory;
    }

    public LlamaConfig config() {
        return config;
    }

    public boolean has(String tensorName) {
        return shardOf.containsKey(tensorName) && shardOf.get(tensorName).entries().containsKey(tensorName);
    }

    /** The location of a tensor, checked against the shape the config implies. */
    public SafetensorsFile.Entry entry(String tensorName, long... expectedShape) {
        SafetensorsFile file = shardOf.get(tensorName);
        SafetensorsFile.Entry entry = file == null ? null : file.entries().get(tensorName);
        if (entry == null) {
            throw new ModelLoadException("tensor " + tensorName + " is missing from the checkpoint in " + directory);
        }
        if (!java.util.Arrays.equals(entry.shape(), expectedShape)) {
            throw new ModelLoadException("tensor " + tensorName + " has shape " + java.util.Arrays.toString(entry.shape())
                    + " in " + file.path().getFileName() + ", expected " + java.util.Arrays.toString(expectedShape)
                    + " from config.json");
        }
        return entry;
    }

    /** A tensor's values as a float32 direct buffer (see {@link SafetensorsFile#readFloat32}). */
    public ByteBuffer readFloat32(SafetensorsFile.Entry entry) {
        return shardOf.get(entry.name()).readFloat32(entry);
    }

    /** A tensor's values as a Java array; for tests and tools on small checkpoints. */
    public float[] readArray(String tensorName) {
        SafetensorsFile.Entry entry = shardOf.get(tensorName).entries().get(tensorName);
        float[] values = new float[(int) entry.elementCount()];
        readFloat32(entry).asFloatBuffer().get(values);
        return values;
    }

    public Map<String, SafetensorsFile.Entry> entries() {
        Map<String, SafetensorsFile.Entry> all = new LinkedHashMap<>();
        shardOf.forEach((name, file) -> all.put(name, file.entries().get(name)));
        return all;
    }

    /**
     * A SHA-256 over config.json, every tensor's name, dtype and shape, and the first 64 KiB of each
     * tensor's bytes. Any fine-tune or conversion changes it; it reads a few MB, not the whole
     * checkpoint, so start-up stays fast on a 13 GB model.
     */
    public String fingerprint() {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(Files.readAllBytes(directory.resolve("config.json")));
            for (SafetensorsFile.Entry entry : entries().values()) {
                sha.update((entry.name() + ':' + entry.dtype() + ':' + java.util.Arrays.toString(entry.shape())).getBytes(StandardCharsets.UTF_8));
                ByteBuffer bytes = shardOf.get(entry.name()).map(entry);
                bytes.limit((int) Math.min(bytes.limit(), FINGERPRINT_SAMPLE_BYTES));
                sha.update(bytes);
            }
            return "sha256:" + HexFormat.of().formatHex(sha.digest());
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new ModelLoadException("cannot fingerprint checkpoint " + directory + ": " + e.getMessage(), e);
        }
    }
}
