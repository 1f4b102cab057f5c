package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.explainstream.attribution.AttributionSettings;
import io.explainstream.stream.config.ServiceConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The attribution defaults are one thing: the engine's, the service's and the attribute command's. */
class DefaultsAgreeTest {

    @Test
    void theServiceAndTheAttributeCommandUseTheEnginesDefaults() {
        assertEquals(AttributionSettings.DEFAULTS, ServiceConfig.of(Map.of()).attributionSettings(), "the service's settings");
        AttributeCommand command = new AttributeCommand();
        new CommandLine(command).parseArgs("--prompt", "One day,", "--response", "a girl");
        assertEquals(AttributionSettings.DEFAULTS, command.settings(), "the attribute command's options");
    }
}
