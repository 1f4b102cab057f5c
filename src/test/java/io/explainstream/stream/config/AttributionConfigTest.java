package io.explainstream.stream.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The engine's refusals of attribution settings, as the service's configuration names them. */
class AttributionConfigTest {

    private static String refusal(Map<String, String> values) {
        return assertThrows(ConfigException.class, () -> ServiceConfig.of(values).attributionSettings()).getMessage();
    }

    @Test
    void refusedAttributionSettingsNameTheConfigurationKeysNotTheEnginesOptions() {
        assertEquals("attribution.target.delta refines a rule whose points nest: attribution.integration = gausslegendre or clenshaw_curtis (refined as Clenshaw–Curtis) or riemann_trapezoid; "
                + "attribution.integration = riemann_left has points that do not nest under doubling",
                refusal(Map.of("attribution.integration", "riemann_left", "attribution.target.delta", "0.01")));
        assertEquals("attribution.steps = 1 is too few for attribution.target.delta: adaptive steps start from clenshaw_curtis with at least 2 points",
                refusal(Map.of("attribution.steps", "1", "attribution.target.delta", "0.01")));
        assertEquals("attribution.steps = 1 is too few for attribution.integration = riemann_trapezoid (at least 2)",
                refusal(Map.of("attribution.steps", "1", "attribution.integration", "riemann_trapezoid")));
        assertEquals("attribution.max.steps = 20000 is more than the limit of 10000",
                refusal(Map.of("attribution.max.steps", "20000")));
        assertEquals("attribution.target.delta = 1.5 must be a fraction in [0, 1) (0.01 is 1%; 0 turns adaptive steps off)",
                refusal(Map.of("attribution.target.delta", "1.5")));
    }

    /** What the CLI refuses, the service refuses too, instead of starting with a setting it then ignores. */
    @Test
    void aCapUnderTheFirstStepsAndATargetDeltaWithoutStepsAreRefused() {
        assertEquals("attribution.max.steps = 10 must be at least attribution.steps = 50",
                refusal(Map.of("attribution.steps", "50", "attribution.max.steps", "10", "attribution.target.delta", "0.01")));
        assertEquals(50, ServiceConfig.of(Map.of("attribution.steps", "50", "attribution.max.steps", "10")).attributionSettings().steps(),
                "without adaptive steps the cap plays no part");
        assertEquals("attribution.target.delta = 0.01 adapts the steps of integrated_gradients; attribution.method = gradient takes one pass at the input "
                + "and has no steps to adapt", refusal(Map.of("attribution.method", "gradient", "attribution.target.delta", "0.01")));
    }
}
