package io.explainstream;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.stream.config.Setting;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Keeps the README's configuration reference true to the code. */
class ReadmeTest {

    @Test
    void everyServiceKeyIsDocumentedWithItsDefault() throws IOException {
        String readme = Files.readString(TestData.repo().resolve("README.md"));
        List<String> missing = new ArrayList<>();
        for (Setting setting : Setting.values()) {
            String row = "| `" + setting.key() + "` | " + (setting.defaultValue().isEmpty() ? "(empty)" : "`" + setting.defaultValue() + "`") + " |";
            if (!readme.contains(row)) {
                missing.add(row);
            }
        }
        assertTrue(missing.isEmpty(), "README rows missing or with another default: " + missing);
    }

    @Test
    void theQuickstartIsTheDemoAndTheTestCommand() throws IOException {
        String readme = Files.readString(TestData.repo().resolve("README.md"));
        assertTrue(readme.contains("```sh\n./explainstream demo\nmvn -B verify\n```"), "two commands");
        assertTrue(Files.readString(TestData.repo().resolve(".ci/run")).contains("mvn -B verify"), ".ci/run runs the README's test command");
    }
}
