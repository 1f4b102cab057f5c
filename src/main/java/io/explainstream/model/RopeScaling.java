package io.explainstream.model;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The {@code rope_scaling} block of a Hugging Face LLaMA config: how the rotary frequencies are
 * stretched for contexts longer than the model was trained on.
 *
 * @param type {@link Type#NONE} when the config has {@code rope_scaling: null}
 * @param factor the stretch factor ({@code factor}); 1 for {@code NONE}
 * @param lowFreqFactor {@code low_freq_factor} (llama3 only)
 * @param highFreqFactor {@code high_freq_factor} (llama3 only)
 * @param originalMaxPositions {@code original_max_position_embeddings} (llama3 only)
 */
public record RopeScaling(
        Type type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {

    /** The scaling rules implemented; any other {@code rope_type} is refused at load time. */
    public enum Type {
        NONE,
        LINEAR,
        LLAMA3
    }

    public static final RopeScaling NONE = new RopeScaling(Type.NONE, 1, 0, 0, 0);

    /** The checks of Hugging Face's rope validation: a factor under 1 compresses positions instead of stretching them. */
    public RopeScaling {
        if (type != Type.NONE && !(factor >= 1)) {
            throw new ModelLoadException("config.json: rope_scaling.factor = " + factor + " is not valid: it must be at least 1");
        }
        if (type == Type.LLAMA3) {
            if (!(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor)) {
                throw new ModelLoadException("config.json: rope_scaling.low_freq_factor = " + lowFreqFactor + " and high_freq_factor = " + highFreqFactor
                        + " are not valid: they must be positive, with high_freq_factor above low_freq_factor");
            }
            if (originalMaxPositions <= 0) {
                throw new ModelLoadException("config.json: rope_scaling.original_max_position_embeddings = " + originalMaxPositions
                        + " is not valid: it must be positive");
            }
        }
    }

    static RopeScaling fromConfig(JsonNode node) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        String name = node.has("rope_type") ? node.get("rope_type").asText() : node.path("type").asText("");
        switch (name) {
            case "default":
                return NONE;
            case "linear":
                return new RopeScaling(Type.LINEAR, required(node, "factor"), 0, 0, 0);
            case "llama3":
                return new RopeScaling(
                        Type.LLAMA3,
                        required(node, "factor"),
                        required(node, "low_freq_factor"),
                        required(node, "high_freq_factor"),
                        (int) required(node, "original_max_position_embeddings"));
            default:
                throw new ModelLoadException(
                        "config.json: rope_scaling type '" + name
                                + "' is not supported (supported: null, default, linear, llama3)");
        }
    }

    private static double required(JsonNode node, String key) {
        if (!node.hasNonNull(key) || !node.get(key).isNumber()) {
            throw new ModelLoadException("config.json: rope_scaling." + key + " is missing or not a number");
        }
        return node.get(key).asDouble();
    }

    /**
     * The rotary inverse frequencies {@code theta^(-2i/d)}, i = 0..d/2-1, after scaling.
     *
     * @return (headDim/2)
     */
    double[] inverseFrequencies(int headDim, double ropeTheta) {
        double[] inverse = new double[headDim / 2];
        for (int i = 0; i < inverse.length; i++) {
            double frequency = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headDim);
            inverse[i] = scale(frequency);
        }
        return inverse;
    }

    private double scale(double frequency) {
        switch (type) {
            case LINEAR:
                return frequency / factor;
            case LLAMA3: {
                // Meta's Llama 3.1 rule: long wavelengths are stretched, short ones kept, and the band
                // between them interpolated smoothly.
                double wavelength = 2 * Math.PI / frequency;
                double lowFreqWavelength = originalMaxPositions / lowFreqFactor;
                double highFreqWavelength = originalMaxPositions / highFreqFactor;
                if (wavelength < highFreqWavelength) {
                    return frequency;
                }
                if (wavelength > lowFreqWavelength) {
                    return frequency / factor;
                }
                double smooth = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                return (1 - smooth) * frequency / factor + smooth * frequency;
            }
            default:
                return frequency;
        }
    }
}
