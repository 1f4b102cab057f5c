package io.explainstream.attribution;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.explainstream.TestData;
import io.explainstream.model.ComputeDtype;
import io.explainstream.model.LlamaModel;
import io.explainstream.model.ModelOptions;
import io.explainstream.tokenize.LlamaTokenizer;
import org.junit.jupiter.api.Test;

/**
 * The engine in other compute dtypes. On a GPU the forward runs in float16 or bfloat16; the CPU
 * build of libtorch runs float16 (slowly) but aborts on bfloat16, so float16 stands in here for
 * the half-precision path: the same casts, a float32 softmax and log-softmax, float32 sums.
 */
class ComputeDtypeAttributionTest {

    private static Attribution attribute(ComputeDtype dtype) {
        try (LlamaModel model = LlamaModel.load(TestData.stories260K(), ModelOptions.cpu(dtype));
                LlamaTokenizer tokenizer = LlamaTokenizer.load(TestData.stories260K())) {
            AttributionRequest request = new AttributionRequest(tokenizer.encodePrompt("Once upon a time, there was a little girl named"),
                    tokenizer.encodeResponse("Lily. She loved to play"));
            return new AttributionEngine(model, tokenizer).attribute(request, AttributionSettings.DEFAULTS.withSteps(16));
        }
    }

    @Test
    void float64AndFloat16AgreeWithFloat32WithinTheirPrecision() {
        Attribution float32 = attribute(ComputeDtype.FLOAT32);
        Attribution float64 = attribute(ComputeDtype.FLOAT64);
        Attribution float16 = attribute(ComputeDtype.FLOAT16);
        for (int i = 0; i < float32.seqAttr().length; i++) {
            assertEquals(float64.seqAttr()[i], float32.seqAttr()[i], 1e-4, "float64 vs float32 at " + i);
            // float16 keeps 11 significant bits; scores of size ~8 move by a few hundredths
            assertEquals(float32.seqAttr()[i], float16.seqAttr()[i], 0.05 + 0.02 * Math.abs(float32.seqAttr()[i]), "float16 vs float32 at " + i);
        }
        for (int t = 0; t < float32.responseLogProbs().length; t++) {
            assertEquals(float32.responseLogProbs()[t], float16.responseLogProbs()[t], 0.05, "float16 log-prob " + t);
        }
    }
}
