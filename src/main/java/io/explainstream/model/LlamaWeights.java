package io.explainstream.model;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * The tensors of a LLaMA model on the compute device, named after the checkpoint's tensors.
 * Projection matrices are kept transposed (a view, no copy) so that a linear layer is
 * {@code x.matMul(weightT)} with the activation as first operand: results then belong to the
 * activation's (per-call) manager, never to the model's.
 *
 * @param embedTokens {@code model.embed_tokens.weight}: (V, H)
 * @param layers the decoder layers, in order
 * @param norm {@code model.norm.weight}: (H)
 * @param lmHeadT {@code lm_head.weight} transposed, or the embedding table's when tied: (H, V)
 */
public record LlamaWeights(NDArray embedTokens, List<Layer> layers, NDArray norm, NDArray lmHeadT) {

    /**
     * One decoder layer, {@code model.layers.N.*}.
     *
     * @param inputLayernorm {@code input_layernorm.weight}: (H)
     * @param qProjT {@code self_attn.q_proj.weight}ᵀ: (H, heads·D)
     * @param kProjT {@code self_attn.k_proj.weight}ᵀ: (H, kvHeads·D)
     * @param vProjT {@code self_attn.v_proj.weight}ᵀ: (H, kvHeads·D)
     * @param oProjT {@code self_attn.o_proj.weight}ᵀ: (heads·D, H)
     * @param postAttentionLayernorm {@code post_attention_layernorm.weight}: (H)
     * @param gateProjT {@code mlp.gate_proj.weight}ᵀ: (H, F)
     * @param upProjT {@code mlp.up_proj.weight}ᵀ: (H, F)
     * @param downProjT {@code mlp.down_proj.weight}ᵀ: (F, H)
     */
    public record Layer(
            NDArray inputLayernorm,
            NDArray qProjT,
            NDArray kProjT,
            NDArray vProjT,
            NDArray oProjT,
            NDArray postAttentionLayernorm,
            NDArray gateProjT,
            NDArray upProjT,
            NDArray downProjT) {}
}
