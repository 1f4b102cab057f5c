package io.explainstream.attribution;

import io.explainstream.tokenize.Token;
import java.util.List;

/**
 * The explanation of one response. Arrays over prompt positions align with {@code promptTokens};
 * arrays over response positions align with {@code responseTokens}.
 *
 * @param promptTokens the prompt tokens, P of them
 * @param responseTokens the response tokens, T of them
 * @param seqAttr (P) each prompt token's attribution to the whole response, Σ_t token_attr[t][i]
 * @param seqAttrNormalized (P) {@code seqAttr} scaled by the normalization
 * @param tokenAttr (T, P) attribution of each prompt token to each response token; null unless asked
 * @param tokenAttrNormalized (T, P) each row scaled by the normalization; null unless asked
 * @param responseLogProbs (T) f_t(x) = log p(r_t | prompt, r_<t)
 * @param baselineLogProbs (T) f_t(b), the same with attributed prompt tokens replaced by the
 *     baseline; empty for methods without a baseline
 * @param convergenceDelta (T) f_t(x) − f_t(b) − Σ_i token_attr[t][i], with the token matrix; empty
 *     without it (per-target sums need the per-target passes) and for methods without a baseline
 * @param sequenceDelta Σ_t (f_t(x) − f_t(b)) − Σ_i seq_attr[i]: the completeness gap of seq_attr,
 *     always reported for integrated gradients (0 for the gradient methods); equals Σ_t delta_t
 * @param steps the path points used (after adaptation); 1 for the gradient methods
 * @param targetSteps (T) with the token matrix and adaptive steps, the points each target's row was
 *     integrated with (the level it converged at: the fixed-steps row there); empty otherwise,
 *     where every row took {@code steps}
 * @param settings the settings that produced it
 */
public record Attribution(
        List<AttributionToken> promptTokens,
        List<Token> responseTokens,
        double[] seqAttr,
        double[] seqAttrNormalized,
        double[][] tokenAttr,
        double[][] tokenAttrNormalized,
        double[] responseLogProbs,
        double[] baselineLogProbs,
        double[] convergenceDelta,
        double sequenceDelta,
        int steps,
        int[] targetSteps,
        AttributionSettings settings) {

    /** Every row at {@code steps}: fixed steps, the gradient methods, or no token matrix. */
    public Attribution(List<AttributionToken> promptTokens, List<Token> responseTokens, double[] seqAttr, double[] seqAttrNormalized, double[][] tokenAttr,
            double[][] tokenAttrNormalized, double[] responseLogProbs, double[] baselineLogProbs, double[] convergenceDelta, double sequenceDelta, int steps,
            AttributionSettings settings) {
        this(promptTokens, responseTokens, seqAttr, seqAttrNormalized, tokenAttr, tokenAttrNormalized, responseLogProbs, baselineLogProbs, convergenceDelta,
                sequenceDelta, steps, new int[0], settings);
    }

    /** The largest |delta_t| with the matrix, else |sequence delta|. */
    public double maxAbsDelta() {
        double worst = convergenceDelta.length == 0 ? Math.abs(sequenceDelta) : 0;
        for (double delta : convergenceDelta) {
            worst = Math.max(worst, Math.abs(delta));
        }
        return worst;
    }
}
