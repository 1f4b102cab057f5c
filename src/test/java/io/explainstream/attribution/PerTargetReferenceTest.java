package io.explainstream.attribution;

import io.explainstream.model.LlamaModel;
import io.explainstream.testing.Approx;
import io.explainstream.testing.BundledModel;
import io.explainstream.tokenize.LlamaTokenizer;
import org.junit.jupiter.api.Test;

/** Captum's per-target algorithm, written out, gives the fast path's matrix. */
class PerTargetReferenceTest {

    @Test
    void theFastPathEqualsOneIntegratedGradientsRunPerTarget() {
        LlamaModel model = BundledModel.get().model();
        LlamaTokenizer tokenizer = BundledModel.get().tokenizer();
        AttributionRequest request = new AttributionRequest(tokenizer.encodePrompt("Once upon a time, there was a little girl named"),
                tokenizer.encodeResponse("Lily. She loved to play"));
        AttributionSettings settings = AttributionSettings.DEFAULTS.withSteps(16).withTokenMatrix(true);
        Attribution fast = BundledModel.get().engine().attribute(request, settings);
        boolean[] attributed = new boolean[request.prompt().size()];
        for (int i = 0; i < attributed.length; i++) {
            attributed[i] = fast.promptTokens().get(i).attributed();
        }
        double[][] reference = new PerTargetReference(model, 64).tokenAttr(request.prompt().ids(), request.response().ids(), attributed,
                tokenizer.unkId(), QuadratureRule.GAUSSLEGENDRE.quadrature(16));
        // a budget of 64 tokens splits each run into passes of three or four points
        for (int t = 0; t < reference.length; t++) {
            Approx.assertArrayClose("token_attr[" + t + "]", reference[t], fast.tokenAttr()[t], 1e-5);
        }
    }
}
