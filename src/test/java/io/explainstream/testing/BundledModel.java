package io.explainstream.testing;

import io.explainstream.TestData;
import io.explainstream.attribution.AttributionEngine;
import io.explainstream.model.LlamaModel;
import io.explainstream.model.ModelOptions;
import io.explainstream.tokenize.LlamaTokenizer;

/**
 * The bundled stories260K model in float32 on the CPU, its tokenizer and an engine on them: loaded
 * once per test JVM, on first use, and shared by the tests that only read them. Never closed: the
 * JVM's exit frees the native memory. A test that needs another dtype, or closes what it loads,
 * loads its own.
 */
public record BundledModel(LlamaModel model, LlamaTokenizer tokenizer, AttributionEngine engine) {

    /** Initialized when first asked for (the class-holder idiom), by the JVM's class loading. */
    private static final class Holder {
        static final BundledModel INSTANCE = load();

        private static BundledModel load() {
            LlamaModel model = LlamaModel.load(TestData.stories260K(), ModelOptions.CPU_FLOAT32);
            LlamaTokenizer tokenizer = LlamaTokenizer.load(TestData.stories260K());
            return new BundledModel(model, tokenizer, new AttributionEngine(model, tokenizer));
        }
    }

    public static BundledModel get() {
        return Holder.INSTANCE;
    }
}
