package io.explainstream.stream.topology;

import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionEngine;
import io.explainstream.attribution.AttributionRequest;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.model.LlamaModel;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.ingest.EventValidator;
import io.explainstream.stream.ingest.ValidationPolicy;
import io.explainstream.stream.output.EngineExplainer;
import io.explainstream.testing.BundledModel;
import io.explainstream.tokenize.LlamaTokenizer;
import java.time.Clock;

/** The real model, tokenizer and engine shared by the stream tests, loaded once per JVM. */
public final class StreamFixture {

    public static final AttributionSettings SETTINGS = AttributionSettings.DEFAULTS.withSteps(8);
    private static StreamFixture instance;

    final LlamaModel model;
    final LlamaTokenizer tokenizer;
    final AttributionEngine engine;

    private StreamFixture() {
        BundledModel bundled = BundledModel.get();
        model = bundled.model();
        tokenizer = bundled.tokenizer();
        engine = bundled.engine();
    }

    public static synchronized StreamFixture get() {
        if (instance == null) {
            instance = new StreamFixture();
        }
        return instance;
    }

    EventValidator validator(ValidationPolicy policy) {
        return new EventValidator(policy, tokenizer, model.config().maxPositions(), Clock.systemUTC());
    }

    EngineExplainer explainer(ValidationPolicy policy) {
        return new EngineExplainer(engine, SETTINGS,
                new EngineExplainer.Identity("stories260K", model.checkpoint().fingerprint(), null, false), Clock.systemUTC());
    }

    /** What the attribute command computes for the same prompt and response. */
    public Attribution direct(String prompt, String response) {
        return engine.attribute(new AttributionRequest(tokenizer.encodePrompt(prompt), tokenizer.encodeResponse(response)), SETTINGS);
    }

    /** The default /health rules, on the system clock. */
    public static Liveness liveness() {
        return Liveness.from(ServiceConfig.of(java.util.Map.of()), Clock.systemUTC());
    }

    public static ValidationPolicy defaultPolicy() {
        return ServiceConfig.of(java.util.Map.of()).validationPolicy();
    }
}
