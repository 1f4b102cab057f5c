package io.explainstream.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import java.nio.file.Path;

/**
 * A LLaMA-family decoder on DJL's PyTorch engine, following the Hugging Face {@code LlamaModel}
 * conventions: RMSNorm before attention and MLP, rotary embeddings in the {@code rotate_half}
 * layout, grouped-query causal attention, SwiGLU MLP.
 *
 * <p>Every array a call creates belongs to the manager of the input embeddings, so a caller that
 * opens a sub-manager per batch frees all of a batch's native memory by closing it. Constants that
 * enter a differentiable operation are tensors, never Java numbers: DJL frees the temporary tensor
 * of a scalar operand before autograd reads it in the backward pass. Nothing on the differentiable
 * path changes dtype: DJL's {@code toType} runs without autograd and would cut the gradient.
 *
 * <p>Not thread-safe in use: one thread owns the model (DJL's grad mode is per thread).
 */
public final class LlamaModel implements AutoCloseable {

    static {
        // Never download anything at run time: libtorch comes from the native jar on the class path.
        System.setProperty("ai.djl.offline", "true");
    }

    /** Added to masked attention scores: large enough to vanish in softmax, finite in every dtype. */
    private static final float MASKED_SCORE_FLOAT32 = -1e9f;
    private static final float MASKED_SCORE_HALF = -6e4f;

    private final Checkpoint checkpoint;
    private final LlamaConfig config;
    private final ComputeDtype dtype;
    private final Device device;
    private final NDManager manager;
    private final LlamaWeights weights;
    /** Rotary inverse frequencies, (D/2). */
    private final float[] inverseFrequencies;

    private LlamaModel(Checkpoint checkpoint, ComputeDtype dtype, Device device, NDManager manager, LlamaWeights weights) {
        this.checkpoint = checkpoint;
        this.config = checkpoint.config();
        this.dtype = dtype;
        this.device = device;
        this.manager = manager;
        this.weights = weights;
        double[] inverse = config.ropeScaling().inverseFrequencies(config.headDim(), config.ropeTheta());
        this.inverseFrequencies = new float[inverse.length];
        for (int i = 0; i < inverse.length; i++) {
            inverseFrequencies[i] = (float) inverse[i];
        }
    }

    /** Loads a checkpoint directory; every problem surfaces as one {@link ModelLoadException}. */
    public static LlamaModel load(Path directory, ModelOptions options) {
        Checkpoint checkpoint = Checkpoint.open(directory);
        Device device = options.device().resolve();
        if (options.dtype() == ComputeDtype.BFLOAT16 && !device.isGpu()) {
            throw new ModelLoadException("dtype bfloat16 needs a GPU device (libtorch's CPU build aborts on it); use float32 on cpu");
        }
        NDManager manager = NDManager.newBaseManager(device, "PyTorch");
        options.threads().apply(); // the engine is loaded now; the threads that compute have not started
        if (!device.isGpu()) {
            NativeHeap.keepFreedMemory(); // a CPU's passes allocate their activations from the native heap
        }
        try {
            LlamaWeights weights = new WeightLoader(checkpoint, manager, device, options.dtype().dataType()).load();
            return new LlamaModel(checkpoint, options.dtype(), device, manager, weights);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    public LlamaConfig config() {
        return config;
    }

    public Checkpoint checkpoint() {
        return checkpoint;
    }

    public ComputeDtype dtype() {
        return dtype;
    }

    public Device device() {
        return device;
    }

    public LlamaWeights weights() {
        return weights;
    }

    /**
     * The embedding-layer outputs for token ids.
     *
     * @param ids (B, S) int64 token ids, on this model's device
     * @return (B, S, H) in the compute dtype, owned by the manager of {@code ids}
     */
    public NDArray embed(NDArray ids) {
        Shape shape = ids.getShape();
        NDArray flat = ids.reshape(-1); // (B·S)
        NDArray rows = weights.embedTokens().get(new NDIndex("{}", flat)); // (B·S, H)
        rows.attach(ids.getManager());
        return rows.reshape(shape.get(0), shape.get(1), config.hiddenSize());
    }

    /** The logits for every position: {@code logits(hiddenStates(...))}. */
    public NDArray forward(NDArray inputEmbeddings, NDArray attentionMask) {
        return logits(hiddenStates(inputEmbeddings, attentionMask));
    }

    /**
     * The decoder stack, ending with the final RMSNorm.
     *
     * @param inputEmbeddings (B, S, H) embedding-layer outputs; right-padded
     * @param attentionMask (B, S) 1 for real tokens, 0 for padding
     * @return (B, S, H)
     */
    public NDArray hiddenStates(NDArray inputEmbeddings, NDArray attentionMask) {
        NDManager call = inputEmbeddings.getManager();
        long s = inputEmbeddings.getShape().get(1);
        Rotary rotary = rotary(call, s);
        NDArray scoreMask = scoreMask(call, attentionMask, s); // (B, 1, 1, S, S)
        NDArray scale = call.full(new Shape(), (float) (1.0 / Math.sqrt(config.headDim())), dtype.dataType());
        NDArray x = inputEmbeddings;
        for (LlamaWeights.Layer layer : weights.layers()) {
            // attention block, residual back into x
            x = x.add(attention(rmsNorm(x, layer.inputLayernorm()), layer, rotary, scoreMask, scale));
            // MLP block, residual back into x
            x = x.add(mlp(rmsNorm(x, layer.postAttentionLayernorm()), layer));
        }
        return rmsNorm(x, weights.norm());
    }

    /**
     * The LM head. Call it on the positions whose scores are needed only: at a 32k vocabulary it
     * is the largest matrix of the model.
     *
     * @param hidden (…, H)
     * @return (…, V)
     */
    public NDArray logits(NDArray hidden) {
        return hidden.matMul(weights.lmHeadT());
    }

    /** Grouped-query causal self-attention. x: (B, S, H) → (B, S, H). */
    private NDArray attention(NDArray x, LlamaWeights.Layer layer, Rotary rotary, NDArray scoreMask, NDArray scale) {
        long b = x.getShape().get(0);
        long s = x.getShape().get(1);
        long kv = config.numKeyValueHeads();
        long rep = config.headsPerKeyValueHead();
        long d = config.headDim();
        // Query heads sharing a key/value head sit on their own axis, so keys and values broadcast
        // to them with no copy; head h = kvHead·rep + r, as Hugging Face's repeat_kv orders them.
        NDArray q = x.matMul(layer.qProjT()).reshape(b, s, kv, rep, d).transpose(0, 2, 3, 1, 4); // (B, KV, R, S, D)
        NDArray k = x.matMul(layer.kProjT()).reshape(b, s, kv, 1, d).transpose(0, 2, 3, 1, 4); // (B, KV, 1, S, D)
        NDArray v = x.matMul(layer.vProjT()).reshape(b, s, kv, 1, d).transpose(0, 2, 3, 1, 4); // (B, KV, 1, S, D)
        q = rotary.apply(q);
        k = rotary.apply(k);
        NDArray scores = q.matMul(k.transpose(0, 1, 2, 4, 3)).mul(scale).add(scoreMask); // (B, KV, R, S, S)
        // Half-precision softmax kernels accumulate in float32 internally, as Hugging Face's upcast does.
        NDArray probs = scores.softmax(4); // (B, KV, R, S, S)
        NDArray context = probs.matMul(v); // (B, KV, R, S, D)
        NDArray merged = context.transpose(0, 3, 1, 2, 4).reshape(b, s, kv * rep * d); // (B, S, heads·D)
        return merged.matMul(layer.oProjT()); // (B, S, H)
    }

    /** SwiGLU: down(silu(gate(x)) · up(x)). x: (B, S, H) → (B, S, H). */
    private NDArray mlp(NDArray x, LlamaWeights.Layer layer) {
        NDArray gate = x.matMul(layer.gateProjT()); // (B, S, F)
        NDArray up = x.matMul(layer.upProjT()); // (B, S, F)
        NDArray silu = gate.mul(Activation.sigmoid(gate)); // (B, S, F)
        return silu.mul(up).matMul(layer.downProjT()); // (B, S, H)
    }

    /** RMSNorm: x / sqrt(mean(x²) + eps) · weight. x: (B, S, H) → (B, S, H). */
    private NDArray rmsNorm(NDArray x, NDArray weight) {
        if (dtype.isHalf()) {
            return rmsNormHalf(x, weight);
        }
        NDArray meanSquare = x.mul(x).mean(new int[] {-1}, true); // (B, S, 1)
        return x.div(meanSquare.add(config.rmsNormEps()).sqrt()).mul(weight);
    }

    /**
     * RMSNorm in float16/bfloat16 without leaving the dtype: Hugging Face computes it in float32,
     * but DJL's dtype conversion runs under a no-grad guard and would cut the gradient. Squares
     * of activations in the thousands overflow float16, so x is first divided by s = max(1,
     * max|x|) per position; x / sqrt(mean(x²) + eps) = (x/s) / sqrt(mean((x/s)²) + eps/s²) for
     * any s, so s can be a constant for autograd (detached) and the gradient stays exact.
     */
    private NDArray rmsNormHalf(NDArray x, NDArray weight) {
        NDArray scale = x.abs().max(new int[] {-1}, true).stopGradient().maximum(1); // (B, S, 1)
        NDArray scaled = x.div(scale); // (B, S, H), |values| ≤ 1
        NDArray scaledEps = scale.mul(scale).pow(-1).mul(config.rmsNormEps()); // (B, S, 1), constant
        NDArray meanSquare = scaled.mul(scaled).mean(new int[] {-1}, true); // (B, S, 1)
        return scaled.div(meanSquare.add(scaledEps).sqrt()).mul(weight);
    }

    /**
     * Additive attention-score mask: 0 where query i may attend key j (j ≤ i and j is a real
     * token), a large negative number elsewhere. Built from two broadcast parts, so it never
     * materializes B·S·S values.
     *
     * @return (B, 1, 1, S, S)
     */
    private NDArray scoreMask(NDManager call, NDArray attentionMask, long s) {
        float masked = dtype.isHalf() ? MASKED_SCORE_HALF : MASKED_SCORE_FLOAT32;
        float[] causal = new float[(int) (s * s)];
        for (int i = 0; i < s; i++) {
            for (int j = i + 1; j < s; j++) {
                causal[(int) (i * s + j)] = masked;
            }
        }
        NDArray causalMask = call.create(causal, new Shape(s, s)).toDevice(device, false).toType(dtype.dataType(), false); // (S, S)
        NDArray padding = attentionMask.toType(dtype.dataType(), false).neg().add(1) // (B, S): 1 at padding
                .mul(call.full(new Shape(), masked, dtype.dataType()))
                .reshape(attentionMask.getShape().get(0), 1, 1, 1, s); // (B, 1, 1, 1, S)
        return padding.add(causalMask);
    }

    private Rotary rotary(NDManager call, long s) {
        int half = inverseFrequencies.length;
        int d = config.headDim();
        float[] cos = new float[(int) s * d];
        float[] sin = new float[(int) s * d];
        for (int p = 0; p < s; p++) {
            for (int i = 0; i < half; i++) {
                // Hugging Face computes the angle in float32; so do we, for the same rounding.
                float angle = p * inverseFrequencies[i];
                float c = (float) Math.cos(angle);
                float sn = (float) Math.sin(angle);
                cos[p * d + i] = c;
                cos[p * d + i + half] = c;
                sin[p * d + i] = sn;
                sin[p * d + i + half] = sn;
            }
        }
        return new Rotary(
                call.create(cos, new Shape(s, d)).toDevice(device, false).toType(dtype.dataType(), false),
                call.create(sin, new Shape(s, d)).toDevice(device, false).toType(dtype.dataType(), false),
                half);
    }

    /**
     * Rotary position embedding in the {@code rotate_half} layout.
     *
     * @param cos (S, D)
     * @param sin (S, D)
     */
    private record Rotary(NDArray cos, NDArray sin, long half) {

        /** x: (…, S, D) → x·cos + rotate_half(x)·sin, where rotate_half(x) = [−x₂, x₁]. */
        NDArray apply(NDArray x) {
            int lastAxis = x.getShape().dimension() - 1;
            NDList halves = x.split(new long[] {half}, lastAxis); // 2 × (…, S, D/2)
            NDArray rotated = NDArrays.concat(new NDList(halves.get(1).neg(), halves.get(0)), lastAxis); // (…, S, D)
            return x.mul(cos).add(rotated.mul(sin));
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
