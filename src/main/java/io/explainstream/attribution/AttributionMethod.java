package io.explainstream.attribution;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The attribution methods; all score prompt tokens at the embedding-layer outputs. */
public enum AttributionMethod {
    /** Integrated Gradients along the straight path from the baseline (Captum's LayerIntegratedGradients). */
    INTEGRATED_GRADIENTS,
    /** Σ_d ∂f/∂e at the input: one forward and backward, no baseline. */
    GRADIENT,
    /** Σ_d e · ∂f/∂e at the input: one forward and backward, no baseline. */
    INPUT_X_GRADIENT;

    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static AttributionMethod parse(String key, String value) {
        for (AttributionMethod method : values()) {
            if (method.optionName().equals(value.trim().toLowerCase(Locale.ROOT))) {
                return method;
            }
        }
        throw new IllegalArgumentException(key + " = '" + value + "' is not an attribution method (choose one of "
                + Arrays.stream(values()).map(AttributionMethod::optionName).collect(Collectors.joining(", ")) + ")");
    }
}
