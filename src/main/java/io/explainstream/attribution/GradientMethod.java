package io.explainstream.attribution;

import io.explainstream.model.Choices;
import java.util.Locale;

/** The attribution methods; all score prompt tokens at the embedding-layer outputs. */
public enum GradientMethod {
    /** Integrated Gradients along the straight path from the baseline (Captum's LayerIntegratedGradients). */
    INTEGRATED_GRADIENTS,
    /** Σ_d ∂f/∂e at the input: one forward and backward, no baseline. */
    GRADIENT,
    /** Σ_d e · ∂f/∂e at the input: one forward and backward, no baseline. */
    INPUT_X_GRADIENT;

    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static GradientMethod parse(String key, String value) {
        return Choices.parse(GradientMethod.class, GradientMethod::optionName, key, value, "an attribution method");
    }
}
