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

    /**
     * "The Avro contract" names every field of the records a dashboard reads, the flags' and the
     * input's included: a sink schema written from the README missed sequence_delta and the
     * response's truncation flags (helper-77).
     */
    @Test
    void theAvroContractNamesEveryFieldOfTheInputAndTheOutput() throws IOException {
        String readme = Files.readString(TestData.repo().resolve("README.md"));
        List<String> missing = new ArrayList<>();
        missing.addAll(unnamed(paragraph(readme, "**Output, `Explanation`**"), io.explainstream.schema.Explanation.getClassSchema()));
        missing.addAll(unnamed(paragraph(readme, "**Input, `LlmInteraction`**"), io.explainstream.schema.LlmInteraction.getClassSchema()));
        assertTrue(missing.isEmpty(), "fields the README's Avro contract does not name: " + missing);
    }

    /** The README's text from {@code start} up to the next blank line. */
    private static String paragraph(String readme, String start) {
        int from = readme.indexOf(start);
        assertTrue(from >= 0, start);
        int to = readme.indexOf("\n\n", from);
        return readme.substring(from, to < 0 ? readme.length() : to);
    }

    /** The fields of a record, and of the records it holds directly (Flags), that the text does not name in backquotes. */
    private static List<String> unnamed(String text, org.apache.avro.Schema record) {
        List<String> missing = new ArrayList<>();
        for (org.apache.avro.Schema.Field field : record.getFields()) {
            if (!text.contains("`" + field.name() + "`")) {
                missing.add(record.getName() + "." + field.name());
            }
            if (field.schema().getType() == org.apache.avro.Schema.Type.RECORD) {
                missing.addAll(unnamed(text, field.schema()));
            }
        }
        return missing;
    }
}
