package io.explainstream.attribution;

/**
 * The attribution defaults, once, as the text a user would type: {@link AttributionSettings#DEFAULTS}
 * parses them, the service's settings and the {@code attribute} command's options take them as
 * their defaults. Captum's defaults: 50 Gauss–Legendre steps, the {@code <unk>} baseline, BOS
 * skipped.
 */
public final class AttributionDefaults {

    public static final String METHOD = "integrated_gradients";
    public static final String STEPS = "50";
    public static final String INTEGRATION = "gausslegendre";
    public static final String BASELINE = "unk";
    public static final String INCLUDE_BOS = "false";
    public static final String TOKEN_MATRIX = "false";
    public static final String TARGET_DELTA = "0";
    public static final String MAX_STEPS = "800";
    public static final String NORMALIZE = "l1";
    public static final String MAX_BATCH_TOKENS = "4096";

    private AttributionDefaults() {}
}
