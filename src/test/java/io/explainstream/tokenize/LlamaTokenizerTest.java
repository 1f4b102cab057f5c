package io.explainstream.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.explainstream.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaTokenizerTest {

    private static final String PROMPT = "Once upon a time, there was a little girl named";
    private static final String RESPONSE = "Lily. She loved to play";
    private static LlamaTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = LlamaTokenizer.load(TestData.stories260K());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void promptIdsPiecesAndOffsetsMatchTheModelReadme() {
        EncodedText prompt = tokenizer.encodePrompt(PROMPT);
        assertArrayEquals(new long[] {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395}, prompt.ids());
        JsonNode reference = TestData.captumParity().get("cases").get(0);
        List<String> pieces = prompt.tokens().stream().map(Token::piece).toList();
        assertEquals(textList(reference.get("prompt_tokens")), pieces);
        // Each span covers its piece in the prompt; "▁" stands for the space before a word, and the
        // span includes that space, as Hugging Face reports it.
        for (Token token : prompt.tokens().subList(1, prompt.size())) {
            String covered = PROMPT.substring(token.start(), token.end());
            assertEquals(token.piece().replace('▁', ' ').strip(), covered.strip(), "span of " + token);
        }
        assertEquals(new Token(1, "<s>", 0, 0), prompt.tokens().get(0));
        assertEquals(new Token(403, "▁Once", 0, 4), prompt.tokens().get(1));
        assertEquals(new Token(395, "▁named", 41, 47), prompt.tokens().get(13));
    }

    @Test
    void thePrependedSpacePieceStandsForNoCharacter() {
        // "A" is not a vocabulary word, so the normalizer's "▁" is a piece of its own: it covers
        // nothing (the Rust tokenizer says [0, 1), overlapping "A").
        EncodedText prompt = tokenizer.encodePrompt("A dog ran.");
        assertEquals(new Token(410, "▁", 0, 0), prompt.tokens().get(1));
        assertEquals(new Token(447, "A", 0, 1), prompt.tokens().get(2));
        // A real leading space keeps its span; only the prepended piece is empty.
        EncodedText spaced = tokenizer.encodePrompt("  lead");
        assertEquals(new Token(410, "▁", 0, 0), spaced.tokens().get(1));
        assertEquals(new Token(410, "▁", 0, 1), spaced.tokens().get(2));
        // After each literal <s> of a chat template, too.
        EncodedText chat = tokenizer.encodeChat(List.of(new ChatTurn(ChatTurn.Role.USER, "Hi.")));
        assertEquals(new Token(410, "▁", 3, 3), chat.tokens().get(1));
        assertEquals(new Token(508, "[", 3, 4), chat.tokens().get(2));
    }

    @Test
    void responseIsEncodedWithoutSpecialTokens() {
        EncodedText response = tokenizer.encodeResponse(RESPONSE);
        assertArrayEquals(new long[] {317, 426, 338, 401, 396, 267, 337}, response.ids());
        JsonNode reference = TestData.captumParity().get("cases").get(0);
        assertEquals(textList(reference.get("response_tokens")), response.tokens().stream().map(Token::piece).toList());
        assertEquals(new Token(317, "▁Lily", 0, 4), response.tokens().get(0));
        assertEquals(new Token(337, "▁play", 18, 23), response.tokens().get(6));
    }

    @Test
    void offsetsAreUtf16CodeUnitsAfterAnEmoji() {
        // The contract (schemas/Explanation.avsc) and JavaScript's substring count UTF-16 units:
        // the dog, one code point, is two units, so everything after it moves by one.
        String text = "Lily saw a \uD83D\uDC36 and ran.";
        EncodedText prompt = tokenizer.encodePrompt(text);
        List<Token> dog = prompt.tokens().stream().filter(t -> t.piece().startsWith("<0x")).toList();
        assertEquals(4, dog.size(), "byte-fallback pieces of the emoji: " + prompt.tokens());
        for (Token piece : dog) {
            assertEquals(11, piece.start(), "start of " + piece);
            assertEquals(13, piece.end(), "end of " + piece);
        }
        assertEquals("\uD83D\uDC36", text.substring(11, 13));
        assertSpansReproduceTheirPieces(text, prompt);
        Token last = prompt.tokens().get(prompt.size() - 1);
        assertEquals(text.length(), last.end(), "the last token ends at the text's UTF-16 length: " + last);
    }

    @Test
    void offsetsAreUtf16CodeUnitsForCjkCombiningMarksAndAstralCharacters() {
        // CJK (one unit each), a combining acute accent, and astral letters (two units each).
        for (String text : List.of("Once \u4E00\u4E8C\u4E09 upon \u732B time",
                "The cafe\u0301 was nice\u0301 and warm",
                "Math \uD835\uDC00\uD835\uDC01 then \uD83D\uDE00\uD83D\uDE00 end \uD83D\uDC36x")) {
            assertSpansReproduceTheirPieces(text, tokenizer.encodePrompt(text));
            assertSpansReproduceTheirPieces(text, tokenizer.encodeResponse(text));
        }
    }

    /**
     * Each token's span, cut out of the text with Java's substring, holds what the token stands for:
     * a word piece's letters, or the one character whose UTF-8 bytes a byte-fallback piece carries.
     */
    private static void assertSpansReproduceTheirPieces(String text, EncodedText encoded) {
        for (Token token : encoded.tokens()) {
            if (token.start() == token.end()) {
                continue;
            }
            assertTrue(0 <= token.start() && token.start() < token.end() && token.end() <= text.length(), "span of " + token);
            String covered = text.substring(token.start(), token.end());
            if (token.piece().matches("<0x[0-9A-F]{2}>")) {
                assertEquals(1, covered.codePointCount(0, covered.length()), "a byte piece covers one character: " + token);
                String hex = token.piece().substring(3, 5);
                byte value = (byte) Integer.parseInt(hex, 16);
                byte[] utf8 = covered.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                assertTrue(new String(utf8, java.nio.charset.StandardCharsets.ISO_8859_1).indexOf((char) (value & 0xff)) >= 0,
                        token + " is one of the UTF-8 bytes of '" + covered + "'");
            } else {
                assertEquals(token.piece().replace('▁', ' ').strip(), covered.strip(), "span of " + token + " in '" + text + "'");
            }
        }
    }

    @Test
    void specialTokenIdsComeFromTheTokenizerConfig() {
        assertEquals(1, tokenizer.bosId());
        assertEquals(0, tokenizer.unkId());
        assertEquals(-1, tokenizer.padId());
        assertTrue(tokenizer.addsBos());
    }

    @Test
    void chatTemplateRendersLlama2FormatAndEncodesBosFromText() {
        List<ChatTurn> messages = List.of(
                new ChatTurn(ChatTurn.Role.SYSTEM, "Be kind."),
                new ChatTurn(ChatTurn.Role.USER, "Tell a story."),
                new ChatTurn(ChatTurn.Role.ASSISTANT, "Once upon a time."),
                new ChatTurn(ChatTurn.Role.USER, "Another one."));
        String rendered = tokenizer.renderChat(messages);
        assertEquals("<s>[INST] <<SYS>>\nBe kind.\n<</SYS>>\n\nTell a story. [/INST] Once upon a time. </s>"
                + "<s>[INST] Another one. [/INST]", rendered);
        EncodedText encoded = tokenizer.encodeChat(messages);
        assertEquals(1, encoded.ids()[0]);
        assertEquals(2, encoded.tokens().stream().filter(t -> t.id() == 1).count(), "one BOS per user turn");
        assertEquals(1, encoded.tokens().stream().filter(t -> t.id() == 2).count(), "one EOS after the assistant turn");
        assertEquals(rendered, encoded.text());
    }

    @Test
    void chatRolesMustAlternateAndEndWithTheUser() {
        var error = assertThrows(IllegalArgumentException.class, () -> tokenizer.renderChat(List.of(
                new ChatTurn(ChatTurn.Role.USER, "a"), new ChatTurn(ChatTurn.Role.USER, "b"))));
        assertTrue(error.getMessage().contains("messages[1]"), error.getMessage());
        error = assertThrows(IllegalArgumentException.class, () -> tokenizer.renderChat(List.of(
                new ChatTurn(ChatTurn.Role.USER, "a"), new ChatTurn(ChatTurn.Role.ASSISTANT, "b"))));
        assertTrue(error.getMessage().contains("last message"), error.getMessage());
    }

    @Test
    void longTextsAreNotTruncated() {
        String longText = "the cat sat on the mat. ".repeat(200);
        assertTrue(tokenizer.encodeResponse(longText).size() > 1000);
    }

    @Test
    void missingOrBrokenTokenizerIsAClearError(@TempDir Path dir) throws IOException {
        var missing = assertThrows(TokenizerLoadException.class, () -> LlamaTokenizer.load(dir));
        assertEquals("no tokenizer.json in model directory " + dir, missing.getMessage());
        Files.writeString(dir.resolve("tokenizer.json"), "{ not json");
        var broken = assertThrows(TokenizerLoadException.class, () -> LlamaTokenizer.load(dir));
        assertTrue(broken.getMessage().startsWith("tokenizer.json in " + dir + " cannot be read"), broken.getMessage());
    }

    private static List<String> textList(JsonNode array) {
        return java.util.stream.StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
    }

    /** Jackson's asBoolean read "maybe" as true: a value that is not a boolean is refused, naming the file and the key. */
    @Test
    void anAddBosTokenThatIsNotABooleanIsRefused(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws java.io.IOException {
        for (String file : java.util.List.of("tokenizer.json", "config.json", "special_tokens_map.json")) {
            java.nio.file.Files.copy(TestData.stories260K().resolve(file), dir.resolve(file));
        }
        String config = java.nio.file.Files.readString(TestData.stories260K().resolve("tokenizer_config.json"));
        java.nio.file.Files.writeString(dir.resolve("tokenizer_config.json"), config.replaceFirst("\"add_bos_token\"\\s*:\\s*(true|false)", "\"add_bos_token\": \"maybe\""));
        TokenizerLoadException refused = org.junit.jupiter.api.Assertions.assertThrows(TokenizerLoadException.class, () -> LlamaTokenizer.load(dir));
        assertEquals("tokenizer_config.json in " + dir + ": add_bos_token = \"maybe\" is not valid: it must be true or false", refused.getMessage());
    }
}
