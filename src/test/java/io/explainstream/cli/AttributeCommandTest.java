package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.TestData;
import io.explainstream.testing.Chromium;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AttributeCommandTest {

    private static final String PROMPT = "Once upon a time, there was a little girl named";
    private static final String RESPONSE = "Lily. She loved to play";

    @Test
    void helpListsTheCommands() {
        CliRun run = CliRun.of("--help");
        assertEquals(0, run.exitCode());
        for (String command : List.of("attribute", "generate", "make-checkpoint")) {
            assertTrue(run.out().contains(command), run.out());
        }
        assertTrue(CliRun.of("attribute", "--help").out().contains("--target-delta"));
    }

    /** {@code --out -} is standard output, as for diff; no file named "-" is written. */
    @Test
    void aDashOutIsStandardOutput() throws IOException {
        Path dash = Path.of("-").toAbsolutePath();
        Assumptions.assumeTrue(Files.notExists(dash), "a file named - is here already");
        try {
            CliRun run = CliRun.of("attribute", "--prompt", PROMPT, "--response", RESPONSE, "--format", "json", "--steps", "4", "--out", "-");
            assertEquals(0, run.exitCode(), run.err());
            assertTrue(run.out().startsWith("{"), run.out());
            assertTrue(Files.notExists(dash), "no file named -");
        } finally {
            Files.deleteIfExists(dash);
        }
    }

    /**
     * A model whose forward pass overflows (an embedding row of 3e38, finite, read by the tied head)
     * gives NaN scores: attribute says so and exits 1; it printed "sequence delta NaN" and exited 0.
     */
    @Test
    void aScoreThatIsNotFiniteIsAnErrorNotAReport(@TempDir Path dir) throws IOException {
        TestData.stories260KWith(dir, "model.embed_tokens.weight", values -> java.util.Arrays.fill(values, 403 * 64, 404 * 64, 3e38f));
        CliRun run = CliRun.of("attribute", "--model", dir.toString(), "--prompt", PROMPT, "--response", RESPONSE, "--steps", "4", "--format", "json");
        assertEquals(1, run.exitCode(), run.err());
        assertEquals("", run.out());
        assertTrue(run.err().startsWith("error: the attribution is not finite (sequence_delta = NaN, seq_attr has "), run.err());
        assertEquals(1, run.err().strip().lines().count(), run.err());
    }

    /** Bytes of the command line that are not UTF-8 reach Java as U+FFFD: explained, with a note, where they were replaced without a word. */
    @Test
    void aReplacementCharacterInTheTextIsNoted() {
        CliRun run = CliRun.of("attribute", "--prompt", "Lily went to the caf\uFFFD", "--response", RESPONSE, "--steps", "2", "--format", "json");
        assertEquals(0, run.exitCode(), run.err());
        assertEquals("note: --prompt holds U+FFFD (the replacement character) at index 20: bytes of the command line that are not UTF-8 become it;"
                + " the text is explained as it reads now", run.err().strip());
    }

    @Test
    void jsonHasTheDocumentedFieldsAndCaptumsNumbers() throws IOException {
        CliRun run = CliRun.of("attribute", "--prompt", PROMPT, "--response", RESPONSE, "--token-matrix", "--format", "json");
        assertEquals(0, run.exitCode(), run.err());
        JsonNode json = new ObjectMapper().readTree(run.out());
        for (String field : List.of("prompt_tokens", "response_tokens", "seq_attr", "seq_attr_normalized", "token_attr", "response_logprobs",
                "convergence_delta", "steps", "integration", "baseline", "method")) {
            assertTrue(json.has(field), "missing " + field);
        }
        assertEquals(14, json.get("prompt_tokens").size());
        assertEquals(14, json.get("seq_attr").size());
        assertEquals(7, json.get("token_attr").size());
        assertEquals(14, json.get("token_attr").get(0).size());
        assertEquals(7, json.get("response_tokens").size());
        assertEquals(50, json.get("steps").asInt());
        assertEquals("gausslegendre", json.get("integration").asText());
        assertEquals("unk", json.get("baseline").asText());
        assertEquals("integrated_gradients", json.get("method").asText());
        JsonNode first = json.get("prompt_tokens").get(1);
        assertEquals(403, first.get("id").asInt());
        assertEquals("▁Once", first.get("text").asText());
        assertEquals(0, first.get("start").asInt());
        assertEquals(4, first.get("end").asInt());
        assertFalse(json.get("prompt_tokens").get(0).get("attributed").asBoolean(), "BOS skipped by default");
        // Captum's seq_attr for this case (skip_bos_default_steps) at the "named" token
        JsonNode reference = TestData.captumParity().get("cases").get(0).get("runs").get("skip_bos_default_steps").get("seq_attr");
        assertEquals(reference.get(12).asDouble(), json.get("seq_attr").get(13).asDouble(), 5e-5 + 1e-4 * Math.abs(reference.get(12).asDouble()));
    }

    @Test
    void jsonOffsetsAreUtf16CodeUnitsAsTheContractSays() throws IOException {
        String prompt = "Lily saw a \uD83D\uDC36 and \u732B, cafe\u0301.";
        CliRun run = CliRun.of("attribute", "--prompt", prompt, "--response", "The \uD83D\uDC36 ran.", "--format", "json", "--steps", "4");
        assertEquals(0, run.exitCode(), run.err());
        JsonNode json = new ObjectMapper().readTree(run.out());
        int dogPieces = 0;
        for (JsonNode token : json.get("prompt_tokens")) {
            if (token.get("text").asText().matches("<0xF0>|<0x9F>|<0x90>|<0xB6>")) {
                dogPieces++;
                assertEquals(11, token.get("start").asInt(), token.toString());
                assertEquals(13, token.get("end").asInt(), token.toString());
            }
        }
        assertEquals(4, dogPieces, json.get("prompt_tokens").toString());
        JsonNode lastPrompt = json.get("prompt_tokens").get(json.get("prompt_tokens").size() - 1);
        assertEquals(prompt.length(), lastPrompt.get("end").asInt());
        JsonNode lastResponse = json.get("response_tokens").get(json.get("response_tokens").size() - 1);
        assertEquals("The \uD83D\uDC36 ran.".length(), lastResponse.get("end").asInt());
    }

    @Test
    void chatInputIsRenderedWithTheTemplate(@TempDir Path dir) throws IOException {
        Path chat = dir.resolve("chat.json");
        Files.writeString(chat, "[{\"role\":\"system\",\"content\":\"Tell stories.\"},{\"role\":\"user\",\"content\":\"A dog story.\"}]");
        CliRun run = CliRun.of("attribute", "--chat", chat.toString(), "--response", "The dog ran.", "--format", "json", "--steps", "8");
        assertEquals(0, run.exitCode(), run.err());
        JsonNode json = new ObjectMapper().readTree(run.out());
        assertEquals("<s>[INST] <<SYS>>\nTell stories.\n<</SYS>>\n\nA dog story. [/INST]", json.get("prompt").asText());
    }

    @Test
    void jsonHasSegmentsWordsAndTopListsThatSumToTheTokens() throws IOException {
        String prompt = "Docs: Lily has a red ball. The sun is hot. Q: What does Lily have?";
        CliRun run = CliRun.of("attribute", "--prompt", prompt, "--response", "Lily has a red ball.", "--steps", "8", "--token-matrix",
                "--segment", "doc:ball:6:26", "--segment", "doc:sun:27:42", "--format", "json");
        assertEquals(0, run.exitCode(), run.err());
        JsonNode json = new ObjectMapper().readTree(run.out());
        double total = 0;
        for (JsonNode score : json.get("seq_attr")) {
            total += score.asDouble();
        }
        JsonNode segments = json.get("segments");
        assertEquals(List.of("prompt", "doc:ball", "doc:sun"), List.of(segments.get(0).get("name").asText(), segments.get(1).get("name").asText(),
                segments.get(2).get("name").asText()));
        assertEquals("span", segments.get(1).get("kind").asText());
        assertEquals(6, segments.get(1).get("start").asInt());
        double segmentTotal = 0;
        double shares = 0;
        for (JsonNode segment : segments) {
            segmentTotal += segment.get("score").asDouble();
            shares += segment.get("share").asDouble();
            assertEquals(json.get("response_tokens").size(), segment.get("token_scores").size(), "one per response token");
        }
        assertEquals(total, segmentTotal, 1e-12);
        assertEquals(1, shares, 1e-12);
        // Each token names its segment; the words of doc:ball are its tokens'.
        for (JsonNode token : json.get("prompt_tokens")) {
            int start = token.get("start").asInt();
            boolean inBall = token.get("end").asInt() > start && prompt.substring(start, token.get("end").asInt()).strip().length() > 0
                    && start >= 6 && token.get("end").asInt() <= 26;
            if (inBall) {
                assertEquals(1, token.get("segment").asInt(), token.toString());
            }
        }
        double wordTotal = 0;
        for (JsonNode word : json.get("words")) {
            wordTotal += word.get("score").asDouble();
        }
        assertEquals(total, wordTotal, 1e-12);
        assertTrue(json.get("words").toString().contains("\"text\":\"Lily\""), json.get("words").toString());
        assertEquals(5, json.get("top_tokens").size());
        assertEquals(5, json.get("top_words").size());
        assertTrue(json.get("top_segment").isTextual());
        assertTrue(json.get("attribution_entropy").asDouble() > 0);
    }

    @Test
    void chatFileWithSegmentsAndTheAggregatedViews(@TempDir Path dir) throws IOException {
        Path chat = dir.resolve("rag.json");
        Files.writeString(chat, "{\"messages\": [{\"role\":\"system\",\"content\":\"Answer from the documents.\"},"
                + "{\"role\":\"user\",\"content\":\"Lily has a red ball. The sun is hot. What does Lily have?\"}],"
                + " \"segments\": [{\"name\":\"doc:ball\",\"message\":1,\"start\":0,\"end\":20},{\"name\":\"doc:sun\",\"message\":1,\"start\":21,\"end\":36}]}");
        CliRun json = CliRun.of("attribute", "--chat", chat.toString(), "--response", "Lily has a red ball.", "--steps", "4", "--format", "json");
        assertEquals(0, json.exitCode(), json.err());
        JsonNode root = new ObjectMapper().readTree(json.out());
        List<String> names = new java.util.ArrayList<>();
        root.get("segments").forEach(segment -> names.add(segment.get("name").asText()));
        assertEquals(List.of("template", "system", "user[0]", "doc:ball", "doc:sun"), names);

        CliRun segments = CliRun.of("attribute", "--chat", chat.toString(), "--response", "Lily has a red ball.", "--steps", "4", "--no-color",
                "--aggregate", "segments");
        assertEquals(0, segments.exitCode(), segments.err());
        assertTrue(segments.out().contains("doc:ball") && segments.out().contains("top segment:"), segments.out());
        CliRun words = CliRun.of("attribute", "--chat", chat.toString(), "--response", "Lily has a red ball.", "--steps", "4", "--no-color",
                "--aggregate", "words");
        assertEquals(0, words.exitCode(), words.err());
        assertTrue(words.out().contains("'[INST]'") && words.out().contains("'Lily'"), words.out());
        // BOS as in the token table, not as a score of 0 (a hostile test read "'<s>' +0.0000 +0.0000").
        assertTrue(java.util.regex.Pattern.compile("'<s>' +- +- +\\(not attributed\\)").matcher(words.out()).find(), words.out());
        Path html = dir.resolve("page.html");
        CliRun page = CliRun.of("attribute", "--chat", chat.toString(), "--response", "Lily has a red ball.", "--steps", "4", "--format", "html",
                "--aggregate", "segments", "--out", html.toString());
        assertEquals(0, page.exitCode(), page.err());
        String text = Files.readString(html);
        assertTrue(text.contains("class=\"shares\"") && text.contains("doc:sun"), text);
    }

    /**
     * Words and spans in CJK, with an emoji and a combining accent, from the real model: the scores
     * after them start in one terminal column (padded in UTF-16 units, 中文's row was two columns
     * wider than an ASCII word's and 👩‍💻's three narrower).
     */
    @Test
    void theWordAndSegmentTablesLineUpInTerminalColumns() {
        String prompt = "Lily saw 中文 and \uD83D\uDC69\u200D\uD83D\uDCBB in the cafe\u0301.";
        CliRun words = CliRun.of("attribute", "--prompt", prompt, "--response", "She smiled.", "--steps", "4", "--no-color", "--aggregate", "words");
        assertEquals(0, words.exitCode(), words.err());
        CliRun segments = CliRun.of("attribute", "--prompt", prompt, "--response", "She smiled.", "--steps", "4", "--no-color", "--aggregate",
                "segments", "--segment", "文書:9:11", "--segment", "\uD83D\uDC69\u200D\uD83D\uDCBB:16:21");
        assertEquals(0, segments.exitCode(), segments.err());
        java.util.Set<Integer> scoreEnds = new java.util.TreeSet<>();
        java.util.Set<Integer> kindStarts = new java.util.TreeSet<>();
        java.util.regex.Pattern score = java.util.regex.Pattern.compile("' +([+-]\\d+\\.\\d{4})");
        java.util.regex.Pattern kind = java.util.regex.Pattern.compile(" (span|prompt) +\\d+ +[+-]"); // the kind column, then tokens and score
        for (String line : words.out().split("\n")) {
            java.util.regex.Matcher number = score.matcher(line);
            if (line.matches(" +\\d+  '.*") && number.find()) {
                scoreEnds.add(io.explainstream.text.Columns.width(line.substring(0, number.end(1))));
            }
        }
        for (String line : segments.out().split("\n")) {
            java.util.regex.Matcher segment = kind.matcher(line);
            if (segment.find()) {
                kindStarts.add(io.explainstream.text.Columns.width(line.substring(0, segment.start(1))));
            }
        }
        assertTrue(segments.out().contains("  文書 ") && segments.out().contains("  \uD83D\uDC69\u200D\uD83D\uDCBB "), segments.out());
        assertTrue(words.out().contains("'中文'") && words.out().contains("'cafe\u0301.'"), words.out());
        assertEquals(1, scoreEnds.size(), "every word's raw score ends in one column: " + scoreEnds + "\n" + words.out());
        assertEquals(1, kindStarts.size(), "every segment's kind starts in one column: " + kindStarts + "\n" + segments.out());
    }

    @Test
    void badSegmentsAreOneLineErrors(@TempDir Path dir) throws IOException {
        assertError("error: --segment = 'doc' must be NAME:START:END, for example doc:a:0:120", "--prompt", PROMPT, "--response", RESPONSE,
                "--segment", "doc");
        assertError("error: --segment: segments[0] 'doc': start = 0, end = 99 is out of range of the prompt's 47 characters (0 <= start < end <= 47)",
                "--prompt", PROMPT, "--response", RESPONSE, "--segment", "doc:0:99");
        assertError("error: --segment: segments[1] 'b' [3, 9) overlaps segments[0] 'a' [0, 5)", "--prompt", PROMPT, "--response", RESPONSE,
                "--segment", "a:0:5", "--segment", "b:3:9");
        assertError("error: --chat = '' is empty; give the chat's JSON file", "--chat", "", "--response", RESPONSE);
        CliRun both = CliRun.of("attribute", "--prompt", PROMPT, "--chat", "chat.json", "--response", RESPONSE);
        assertEquals(2, both.exitCode());
        assertTrue(both.err().startsWith("error: --prompt=<text>, --chat=FILE are mutually exclusive"), "it read 'error: Error: …': " + both.err());
        assertError("error: --segment: segments[0] 'prompt': the name is reserved for the built-in segments (prompt, template, system, user[N],"
                + " assistant[N]); give the span another name", "--prompt", PROMPT, "--response", RESPONSE, "--segment", "prompt:0:11");
        assertError("error: --aggregate = 'lines' is not an aggregation (choose one of tokens, words, segments)", "--prompt", PROMPT, "--response", RESPONSE, "--aggregate", "lines");
        Path chat = dir.resolve("chat.json");
        Files.writeString(chat, "{\"messages\": [{\"role\":\"user\",\"content\":\"A dog.\"}], \"segments\": [{\"name\":\"x\",\"start\":0,\"end\":2}]}");
        assertError("error: --chat = " + chat + ": segments[0] 'x': message is required for a chat prompt"
                + " (the index of the message whose content the offsets point into)", "--chat", chat.toString(), "--response",
                RESPONSE);
    }

    @Test
    void textIsReadableWithoutColor() {
        CliRun run = CliRun.of("attribute", "--prompt", PROMPT, "--response", RESPONSE, "--format", "text", "--no-color", "--token-matrix");
        assertEquals(0, run.exitCode(), run.err());
        assertFalse(run.out().contains("\u001b["), "no escape codes without color");
        assertTrue(run.out().contains("' named'"), run.out());
        assertTrue(run.out().contains("(not attributed)"), run.out());
        assertTrue(run.out().contains("max |delta| 0.02"), run.out());
        assertTrue(run.out().contains("token matrix"), run.out());
    }

    @Test
    @Tag("slow") // starts Chromium
    void htmlRendersInHeadlessChromium(@TempDir Path dir) throws Exception {
        Path page = dir.resolve("report.html");
        CliRun run = CliRun.of("attribute", "--prompt", PROMPT, "--response", RESPONSE, "--format", "html", "--token-matrix", "--out", page.toString());
        assertEquals(0, run.exitCode(), run.err());
        String html = Files.readString(page);
        assertTrue(html.contains("title=\"#13 id 395: raw +7.63"), "hover values present");
        assertFalse(html.contains("<script"), "self-contained page without scripts");

        // CI installs Chromium (.ci/run); elsewhere the rendering check needs it installed first.
        Path chromium = Chromium.required();
        Path screenshot = dir.resolve("shot.png");
        List<String> command = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + dir.resolve("profile"), "--enable-logging=stderr", "--v=0", "--window-size=1200,1000",
                "--screenshot=" + screenshot, page.toUri().toString()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "chromium did not finish");
        assertFalse(log.contains(":CONSOLE("), "page logged console messages:\n" + log);
        assertTrue(Files.size(screenshot) > 0, "no screenshot:\n" + log);
        BufferedImage image = ImageIO.read(screenshot.toFile());
        int red = 0;
        int blue = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                int r = (rgb >> 16) & 0xff;
                int g = (rgb >> 8) & 0xff;
                int b = rgb & 0xff;
                red += r > 200 && g < 120 && b < 120 ? 1 : 0;
                blue += b > 150 && r < 120 && g < 160 ? 1 : 0;
            }
        }
        // " named" (the strongest token) and the strongest matrix cells are saturated red; the
        // negative cells of the matrix are blue.
        assertTrue(red > 300, "saturated red pixels: " + red);
        assertTrue(blue > 100, "saturated blue pixels: " + blue);
    }

    /** An option's value quoted in an error is escaped as traffic text is (helper-75: an escape sequence in --method cleared the terminal). */
    @Test
    void anErrorQuotingTheUsersValueEscapesWhatWouldActOnTheTerminal() {
        CliRun method = CliRun.of("attribute", "--prompt", PROMPT, "--response", RESPONSE, "--method", "i\u001b[2Jg\u202e");
        assertEquals(2, method.exitCode());
        assertTrue(method.err().startsWith("error: --method = 'i\\x1b[2Jg\\u202e' is not an attribution method"), method.err());
        CliRun format = CliRun.of("attribute", "--prompt", PROMPT, "--response", RESPONSE, "--format", "j\u001b[2J");
        assertEquals(2, format.exitCode());
        assertTrue(format.err().contains("but was 'j\\x1b[2J'") && !format.err().contains("\u001b"), format.err());
    }

    @Test
    void badOptionsAreOneLineErrorsNamingTheOption() {
        assertError("error: --prompt is empty: give the prompt the response answered", "--prompt", "", "--response", RESPONSE);
        assertError("error: --response is empty: give the response to explain", "--prompt", PROMPT, "--response", "");
        assertError("error: --prompt is empty (only whitespace): give the prompt the response answered", "--prompt", " \n\t ", "--response", RESPONSE);
        assertError("error: --response is empty (only whitespace): give the response to explain", "--prompt", PROMPT, "--response", "   ");
        assertError("error: --steps = 0 must be positive", "--prompt", PROMPT, "--response", RESPONSE, "--steps", "0");
        assertError("error: --baseline = 'nothing' is not a baseline (use unk, pad, zero or a token id ≥ 0)",
                "--prompt", PROMPT, "--response", RESPONSE, "--baseline", "nothing");
        assertError("error: model directory /nonexistent-model does not exist", "--prompt", PROMPT, "--response", RESPONSE,
                "--model", "/nonexistent-model");
        CliRun tooLong = CliRun.of("attribute", "--prompt", PROMPT, "--response", "the cat sat on the mat. ".repeat(60));
        assertEquals(2, tooLong.exitCode());
        assertTrue(tooLong.err().contains("exceed the model's context of 512 tokens"), tooLong.err());
    }

    /**
     * A checkpoint with fewer embeddings than its tokenizer has pieces fails every event (and
     * crashed generate in libtorch): attribute, generate and the service refuse it when it loads.
     */
    @Test
    void aModelWithFewerEmbeddingsThanTheTokenizersPiecesIsRefusedWhenItLoads(@TempDir Path dir) throws IOException {
        io.explainstream.model.RandomCheckpoint.write(new io.explainstream.model.LlamaConfig(32, 64, 4, 2, 8, 1, 300, 256, 1e-5, 10000.0,
                io.explainstream.model.RopeScaling.NONE, true, 1, 2, -1), TestData.stories260K(), 7, io.explainstream.model.TensorDtype.F32, 1, dir);
        String expected = "error: config.json: vocab_size = 300 is smaller than the vocabulary of tokenizer.json (512 pieces) in " + dir
                + ": text would encode to token ids the model has no embedding for; the tokenizer and the checkpoint do not belong together";
        assertError(expected, "--prompt", PROMPT, "--response", RESPONSE, "--model", dir.toString());
        CliRun generate = CliRun.of("generate", "--prompt", "Once", "--model", dir.toString());
        assertEquals(2, generate.exitCode(), generate.out() + generate.err());
        assertEquals(expected, generate.err().strip());
        var service = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class, () -> io.explainstream.stream.service.ExplainService.start(
                io.explainstream.stream.config.ServiceConfig.of(java.util.Map.of("model.dir", dir.toString())), TestData.repo(),
                java.time.Clock.systemUTC()));
        assertEquals(expected.substring("error: ".length()), service.getMessage());
    }

    @Test
    void parserErrorsAreTheProblemAndAPointerToHelpNotTheUsage() {
        List<List<String>> cases = List.of(
                List.of("--prompt", PROMPT, "--response", RESPONSE, "--colour"),
                List.of("--prompt", PROMPT),
                List.of("--prompt", PROMPT, "--response", RESPONSE, "--steps", "abc"),
                List.of("--prompt", PROMPT, "--response", RESPONSE, "--format", "csv"));
        List<String> expected = List.of("error: Unknown option: '--colour'", "error: Missing required option: '--response=<response>'",
                "error: Invalid value for option '--steps': 'abc' is not an int",
                "error: Invalid value for option '--format': expected one of [json, text, html] (case-insensitive) but was 'csv'");
        for (int i = 0; i < cases.size(); i++) {
            List<String> args = new ArrayList<>(List.of("attribute"));
            args.addAll(cases.get(i));
            CliRun run = CliRun.of(args.toArray(String[]::new));
            assertEquals(2, run.exitCode(), run.err());
            assertEquals(expected.get(i) + "\nRun 'explainstream attribute --help' for the options.", run.err().strip().replace("\r", ""));
            assertEquals("", run.out());
        }
    }

    @Test
    void stepsAreCappedAtTheDocumentedLimitBeforeAnythingIsComputed() {
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20), () -> {
            assertError("error: --steps = 100000000 is more than the limit of 10000 path points",
                    "--prompt", PROMPT, "--response", RESPONSE, "--steps", "100000000");
            assertError("error: --max-steps = 20000 is more than the limit of 10000 path points",
                    "--prompt", PROMPT, "--response", RESPONSE, "--max-steps", "20000", "--target-delta", "0.01");
        });
    }

    @Test
    void fileAndCombinationErrorsAreOneLineNamingTheOptionAndValue(@TempDir Path dir) throws IOException {
        Path missingFolder = dir.resolve("no-such-folder").resolve("out.json");
        assertError("error: --out = " + missingFolder + " cannot be written: folder " + missingFolder.getParent() + " does not exist",
                "--prompt", PROMPT, "--response", RESPONSE, "--out", missingFolder.toString());
        assertError("error: --out = " + dir + " is a directory; give a file name", "--prompt", PROMPT, "--response", RESPONSE, "--out", dir.toString());
        Path badJson = dir.resolve("bad.json");
        Files.writeString(badJson, "[{\"role\": \"user\", content: 1}]");
        CliRun bad = CliRun.of("attribute", "--chat", badJson.toString(), "--response", RESPONSE);
        assertEquals(2, bad.exitCode());
        assertTrue(bad.err().startsWith("error: --chat = " + badJson + " is not valid JSON at line 1, column 19: Unexpected character ('c'"), bad.err());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        assertFalse(bad.err().contains("Source") || bad.err().contains("fasterxml") || bad.err().contains("\tat "), bad.err());
        Path missing = dir.resolve("missing.json");
        assertError("error: --chat = " + missing + " does not exist", "--chat", missing.toString(), "--response", RESPONSE);
        Path blank = dir.resolve("blank.json");
        Files.writeString(blank, "[{\"role\": \"user\", \"content\": \"  \"}]");
        assertError("error: --chat message 0 content is empty (only whitespace) in " + blank, "--chat", blank.toString(), "--response", RESPONSE);
        Path file = TestData.stories260K().resolve("config.json");
        assertError("error: model directory " + file + " is a file, not a directory: give the checkpoint's directory"
                + " (with config.json, *.safetensors and tokenizer.json)", "--prompt", PROMPT, "--response", RESPONSE, "--model", file.toString());
        assertError("error: --target-delta refines a rule whose points nest: --integration = gausslegendre or clenshaw_curtis (refined as Clenshaw–Curtis) or riemann_trapezoid; "
                + "--integration = riemann_left has points that do not nest under doubling",
                "--prompt", PROMPT, "--response", RESPONSE, "--integration", "riemann_left", "--target-delta", "0.01");
        assertError("error: --max-steps = 100 is below --steps = 200: with --target-delta the steps start at --steps and double up to --max-steps",
                "--prompt", PROMPT, "--response", RESPONSE, "--steps", "200", "--max-steps", "100", "--target-delta", "0.01");
        assertError("error: --target-delta = 1.5 must be a fraction in [0, 1) (0.01 is 1%; 0 turns adaptive steps off)",
                "--prompt", PROMPT, "--response", RESPONSE, "--target-delta", "1.5");
        assertError("error: --target-delta = 0.01 adapts the steps of integrated_gradients; --method gradient takes one pass at the input"
                + " and has no steps to adapt", "--prompt", PROMPT, "--response", RESPONSE, "--method", "gradient", "--target-delta", "0.01");
        assertError("error: --delta-warn = -1.0 must be a finite number ≥ 0 (a fraction: 0.05 is 5%)",
                "--prompt", PROMPT, "--response", RESPONSE, "--delta-warn", "-1");
        assertError("error: --baseline = 999999 is outside the model's vocabulary of 512", "--prompt", PROMPT, "--response", RESPONSE, "--baseline",
                "999999");
    }

    /** What the stream dead-letters in an event is refused here too, naming where it is; a chat file is read as strictly as an event. */
    @Test
    void textsTheStreamRefusesAndLooseChatFilesAreOneLineErrors(@TempDir Path dir) throws IOException {
        Path lone = dir.resolve("lone.json");
        Files.writeString(lone, "[{\"role\":\"user\",\"content\":\"a\\ud800b\"}]");
        assertError("error: --chat message 0 content contains a lone surrogate U+D800 at index 1 (not a Unicode character; it cannot be written as UTF-8)",
                "--chat", lone.toString(), "--response", RESPONSE);
        Path nul = dir.resolve("nul.json");
        Files.writeString(nul, "[{\"role\":\"user\",\"content\":\"a\\u0000b\"}]");
        assertError("error: --chat message 0 content contains a NUL character at index 1", "--chat", nul.toString(), "--response", RESPONSE);
        assertError("error: --prompt contains a lone surrogate U+DC00 at index 3 (not a Unicode character; it cannot be written as UTF-8)",
                "--prompt", "abc\udc00", "--response", RESPONSE);
        assertError("error: --response contains a NUL character at index 2", "--prompt", PROMPT, "--response", "ab\u0000");
        assertChatError(dir, "[{\"role\":\"user\",\"content\":\"A dog story.\",\"extra\":1}]",
                "error: --chat message 0 has an unknown field 'extra' (known: role, content) in ");
        // A wrongly typed field is named with what it held, as the service names it in an event (a hostile test read only
        // "needs text fields role and content").
        assertChatError(dir, "[{\"role\":\"user\",\"content\":[\"a\uD83D\uDC36\"]}]",
                "error: --chat message 0 content must be a string, found array [\"a\uD83D\uDC36\"] in ");
        assertChatError(dir, "[{\"content\":\"A dog story.\"}]", "error: --chat message 0 has no role in ");
        assertChatError(dir, "[\"A dog story.\"]", "error: --chat message 0 must be an object {role, content}, found string \"A dog story.\" in ");
        Path twice = dir.resolve("twice.json");
        Files.writeString(twice, "[{\"role\":\"user\",\"role\":\"assistant\",\"content\":\"A dog story.\"}]");
        CliRun duplicate = CliRun.of("attribute", "--chat", twice.toString(), "--response", RESPONSE);
        assertEquals(2, duplicate.exitCode());
        assertTrue(duplicate.err().startsWith("error: --chat = " + twice + " is not valid JSON at line 1, column "), duplicate.err());
        assertTrue(duplicate.err().contains("the key 'role' is given twice"), duplicate.err());
        Path none = dir.resolve("none.json");
        Files.writeString(none, "[]");
        assertError("error: --chat = " + none + " holds no message: give at least one {\"role\": \"user\", \"content\": …}", "--chat", none.toString(),
                "--response", RESPONSE);
        Path trailingObject = dir.resolve("trailing-object.json");
        Files.writeString(trailingObject, "[{\"role\":\"user\",\"content\":\"A dog story.\"}] {}");
        CliRun object = CliRun.of("attribute", "--chat", trailingObject.toString(), "--response", RESPONSE);
        assertEquals(2, object.exitCode());
        assertFalse(object.err().contains("bound as") || object.err().contains("DeserializationFeature"), object.err());
        Path trailing = dir.resolve("trailing.json");
        Files.writeString(trailing, "[{\"role\":\"user\",\"content\":\"A dog story.\"}] trailing");
        CliRun after = CliRun.of("attribute", "--chat", trailing.toString(), "--response", RESPONSE);
        assertEquals(2, after.exitCode());
        assertTrue(after.err().startsWith("error: --chat = " + trailing + " is not valid JSON at line 1, column "), after.err());
        assertEquals(1, after.err().strip().lines().count(), after.err());
    }

    /** Logged text is untrusted: an ESC sequence must not clear or recolor the terminal, a bidi override must not reorder it. */
    @Test
    void charactersThatWouldActOnTheTerminalAreShownEscaped() {
        CliRun run = CliRun.of("attribute", "--prompt", "Once upon a time \u001b]0;PWNED\u0007 there", "--response",
                "a girl \u001b[2J\u202e named\nLily\u200f\u2028👩\u200d💻", "--no-color", "--steps", "4");
        assertEquals(0, run.exitCode(), run.err());
        assertFalse(run.out().chars().anyMatch(c -> c == 0x1b || c == 0x07 || c == 0x202e || c == 0x200f || c == 0x2028), run.out());
        assertTrue(run.out().contains("response: 'a girl \\x1b[2J\\u202e named\\nLily\\u200f\\u2028👩\u200d💻'"), "the emoji's joiner stays: " + run.out());
        assertTrue(run.out().contains("\\x1b"), "the prompt's tokens too: " + run.out());
    }

    @Test
    void gradientMethodsShowOnlyWhatApplies() {
        for (String method : List.of("gradient", "input_x_gradient")) {
            CliRun run = CliRun.of("attribute", "--prompt", PROMPT, "--response", RESPONSE, "--method", method, "--no-color");
            assertEquals(0, run.exitCode(), run.err());
            String header = run.out().lines().skip(1).findFirst().orElseThrow();
            assertEquals(method + " · BOS skipped · normalized l1", header);
        }
        String header = CliRun.of("attribute", "--prompt", PROMPT, "--response", RESPONSE, "--no-color", "--steps", "16").out().lines().skip(1)
                .findFirst().orElseThrow();
        assertTrue(header.startsWith("integrated_gradients · gausslegendre · 16 steps · baseline unk · BOS skipped · normalized l1 · sequence delta "),
                header);
    }

    @Test
    void theDeltaIsShownRelativeAndWarnedAboutOverTheThreshold(@TempDir Path dir) throws IOException {
        CliRun good = CliRun.of("attribute", "--prompt", PROMPT, "--response", RESPONSE, "--no-color", "--token-matrix");
        assertEquals(0, good.exitCode(), good.err());
        assertTrue(good.out().matches("(?s).*max \\|delta\\| 0\\.0\\d+ \\([0-9.<]+% of Σ\\|f\\(x\\)−f\\(b\\)\\|\\)\n.*"), good.out());
        assertFalse(good.out().contains("warning"), good.out());
        // Two left Riemann points leave most of the integral out.
        CliRun coarse = CliRun.of("attribute", "--prompt", PROMPT, "--response", RESPONSE, "--no-color", "--steps", "2", "--integration", "riemann_left");
        assertEquals(0, coarse.exitCode(), coarse.err());
        assertTrue(coarse.out().contains("% of Σ|f(x)−f(b)|) · warning: relative delta over 5%: the scores do not add up"), coarse.out());
        CliRun tolerant = CliRun.of("attribute", "--prompt", PROMPT, "--response", RESPONSE, "--no-color", "--steps", "2", "--integration",
                "riemann_left", "--delta-warn", "1000");
        assertFalse(tolerant.out().contains("warning"), tolerant.out());
    }

    /** attribute --chat with a file holding {@code json} fails with {@code expected} followed by the file's path. */
    private static void assertChatError(Path dir, String json, String expected) throws IOException {
        Path chat = Files.createTempFile(dir, "chat", ".json");
        Files.writeString(chat, json);
        assertError(expected + chat, "--chat", chat.toString(), "--response", RESPONSE);
    }

    private static void assertError(String expected, String... options) {
        List<String> args = new ArrayList<>(List.of("attribute"));
        args.addAll(List.of(options));
        CliRun run = CliRun.of(args.toArray(String[]::new));
        assertEquals(2, run.exitCode(), run.out() + run.err());
        assertEquals(expected, run.err().strip());
    }
}
