package io.explainstream.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Moves a checkpoint's tensors onto the compute device in the compute dtype, one tensor at a time:
 * at any moment the process holds the model loaded so far plus one tensor in flight, never a
 * second copy of the whole checkpoint.
 */
final class WeightLoader {

    private static final Pattern LAYER_TENSOR = Pattern.compile("model\\.layers\\.(\\d+)\\..*");

    private final Checkpoint checkpoint;
    private final NDManager manager;
    private final Device device;
    private final DataType dtype;

    WeightLoader(Checkpoint checkpoint, NDManager manager, Device device, DataType dtype) {
        this.checkpoint = checkpoint;
        this.manager = manager;
        this.device = device;
        this.dtype = dtype;
    }

    LlamaWeights load() {
        LlamaConfig c = checkpoint.config();
        requireNoLayerBeyond(c.numLayers());
        long h = c.hiddenSize();
        long qWidth = (long) c.numHeads() * c.headDim();
        long kvWidth = (long) c.numKeyValueHeads() * c.headDim();
        long f = c.intermediateSize();
        NDArray embed = tensor("model.embed_tokens.weight", c.vocabSize(), h);
        List<LlamaWeights.Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            layers.add(new LlamaWeights.Layer(
                    tensor(p + "input_layernorm.weight", h),
                    transposed(p + "self_attn.q_proj.weight", qWidth, h),
                    transposed(p + "self_attn.k_proj.weight", kvWidth, h),
                    transposed(p + "self_attn.v_proj.weight", kvWidth, h),
                    transposed(p + "self_attn.o_proj.weight", h, qWidth),
                    tensor(p + "post_attention_layernorm.weight", h),
                    transposed(p + "mlp.gate_proj.weight", f, h),
                    transposed(p + "mlp.up_proj.weight", f, h),
                    transposed(p + "mlp.down_proj.weight", h, f)));
        }
        NDArray norm = tensor("model.norm.weight", h);
        // A tied head reads the embedding table even when a copy of it is stored as lm_head.weight.
        NDArray lmHeadT = c.tieWordEmbeddings() ? embed.transpose() : transposed("lm_head.weight", c.vocabSize(), h);
        return new LlamaWeights(embed, List.copyOf(layers), norm, lmHeadT);
    }

    /**
     * Weights of a layer past {@code num_hidden_layers} mean that config.json describes another
     * model than the weights (a config edited, or copied from a smaller variant): loading the first
     * layers only would explain a model nobody trained, without a word.
     */
    private void requireNoLayerBeyond(int layers) {
        checkpoint.entries().keySet().stream().sorted().forEach(name -> {
            Matcher m = LAYER_TENSOR.matcher(name);
            if (m.matches() && (m.group(1).length() > 9 || Integer.parseInt(m.group(1)) >= layers)) {
                throw new ModelLoadException("tensor " + name + " belongs to layer " + m.group(1) + ", but config.json's num_hidden_layers = " + layers
                        + " in " + checkpoint.directory() + ": config.json and the weights do not belong together");
            }
        });
    }

    /**
     * A NaN or an infinity in one weight turns every activation downstream into NaN: refused at
     * load, naming the tensor, rather than found later as NaN scores that look like numbers.
     */
    private void requireFinite(String name, NDArray values, java.util.function.Supplier<String> where) {
        long bad = values.isNaN().logicalOr(values.isInfinite()).countNonzero().getLong(); // () count
        if (bad > 0) {
            throw new ModelLoadException("tensor " + name + " in " + checkpoint.directory() + " holds " + bad + " NaN or infinite values (of "
                    + values.size() + ") " + where.get());
        }
    }

    private NDArray transposed(String name, long... shape) {
        return tensor(name, shape).transpose();
    }

    private NDArray tensor(String name, long... shape) {
        SafetensorsFile.Entry entry = checkpoint.entry(name, shape);
        try (NDManager staging = manager.newSubManager(Device.cpu())) {
            NDArray onCpu = staging.create(checkpoint.readFloat32(entry), new Shape(shape), DataType.FLOAT32);
            requireFinite(name, onCpu, () -> "in the checkpoint: the weights are damaged (explanations and generated text from them would be"
                    + " NaN or <unk>); convert or download the checkpoint again");
            // Device first, then dtype: bfloat16 conversions must happen on the GPU.
            NDArray converted = onCpu.toDevice(device, false).toType(dtype, false);
            requireFinite(name, converted, () -> "once converted to " + dtype.name().toLowerCase(java.util.Locale.ROOT) + " (its largest |value| is "
                    + onCpu.abs().max().getFloat() + ", beyond that type's range): run the model in float32, or bfloat16 on a GPU");
            converted.setName(name);
            converted.attach(manager);
            return converted;
        }
    }
}
