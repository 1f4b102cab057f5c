package io.explainstream.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a checkpoint directory in the Hugging Face layout: {@code config.json} and either one
 * {@code model.safetensors} or shards {@code model-0000N-of-0000M.safetensors} with
 * {@code model.safetensors.index.json}.
 */
public final class CheckpointWriter {

    private final LlamaConfig config;
    private final Map<String, SafetensorsWriter.Tensor> tensors = new LinkedHashMap<>();

    public CheckpointWriter(LlamaConfig config) {
        this.config = config;
    }

    /** The shape config.json will hold. */
    public LlamaConfig config() {
        return config;
    }

    public CheckpointWriter add(String name, long[] shape, float[] values) {
        tensors.put(name, new SafetensorsWriter.Tensor(shape, values));
        return this;
    }

    /** Writes the tensors in {@code shards} files (1: a single {@code model.safetensors}). */
    public void write(Path directory, TensorDtype dtype, int shards) throws IOException {
        if (shards < 1 || shards > tensors.size()) {
            throw new IllegalArgumentException("shards = " + shards + " must be between 1 and the tensor count " + tensors.size());
        }
        Files.createDirectories(directory);
        ObjectMapper json = new ObjectMapper();
        ObjectNode configJson = config.toJson();
        configJson.put("torch_dtype", torchDtypeName(dtype));
        json.writerWithDefaultPrettyPrinter().writeValue(directory.resolve("config.json").toFile(), configJson);
        if (shards == 1) {
            SafetensorsWriter writer = new SafetensorsWriter();
            tensors.forEach(writer::add);
            writer.write(directory.resolve(Checkpoint.SINGLE_FILE), dtype);
            return;
        }
        List<String> names = new ArrayList<>(tensors.keySet());
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata").put("total_size", totalBytes(dtype));
        ObjectNode weightMap = index.putObject("weight_map");
        for (int shard = 0; shard < shards; shard++) {
            String file = String.format("model-%05d-of-%05d.safetensors", shard + 1, shards);
            SafetensorsWriter writer = new SafetensorsWriter();
            int from = names.size() * shard / shards;
            int to = names.size() * (shard + 1) / shards;
            for (String name : names.subList(from, to)) {
                writer.add(name, tensors.get(name));
                weightMap.put(name, file);
            }
            writer.write(directory.resolve(file), dtype);
        }
        json.writerWithDefaultPrettyPrinter().writeValue(directory.resolve(Checkpoint.INDEX_FILE).toFile(), index);
    }

    private long totalBytes(TensorDtype dtype) {
        return tensors.values().stream().mapToLong(t -> (long) t.values().length * dtype.bytes()).sum();
    }

    private static String torchDtypeName(TensorDtype dtype) {
        switch (dtype) {
            case F16:
                return "float16";
            case BF16:
                return "bfloat16";
            case F64:
                return "float64";
            default:
                return "float32";
        }
    }

    /** Copies every tensor of an existing checkpoint, for re-sharding or dtype conversion. */
    public static CheckpointWriter copyOf(Checkpoint source) {
        CheckpointWriter writer = new CheckpointWriter(source.config());
        source.entries().forEach((name, entry) -> writer.add(name, entry.shape(), source.readArray(name)));
        return writer;
    }
}
