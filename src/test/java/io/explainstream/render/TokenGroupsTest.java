package io.explainstream.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.tokenize.ChatTurn;
import io.explainstream.tokenize.EncodedText;
import io.explainstream.tokenize.LlamaTokenizer;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Text rebuilt from the pieces and offsets of the bundled tokenizer's real encodings. */
class TokenGroupsTest {

    private static LlamaTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = LlamaTokenizer.load(TestData.stories260K());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static List<TokenGroups.Piece> pieces(EncodedText encoded) {
        return encoded.tokens().stream().map(t -> new TokenGroups.Piece(t.piece(), t.start(), t.end())).toList();
    }

    @Test
    void byteFallbackPiecesReadAsTheCharactersTheyEncode() {
        String prompt = "Lily saw a 🐶 and 猫.\nShe smiled";
        EncodedText encoded = tokenizer.encodePrompt(prompt);
        assertTrue(encoded.tokens().stream().anyMatch(t -> t.piece().equals("<0xF0>")), "the tiny vocabulary spells the emoji in bytes");
        String text = TokenGroups.text(pieces(encoded));
        assertEquals(prompt, text);
        assertFalse(text.contains("<0x"), text);
        List<TokenGroups.Group> groups = TokenGroups.of(pieces(encoded));
        assertEquals(TokenGroups.Kind.BOUNDARY, groups.get(0).kind(), "the added BOS covers no text");
        TokenGroups.Group dog = groups.stream().filter(g -> g.text().equals("🐶")).findFirst().orElseThrow();
        assertEquals(TokenGroups.Kind.CHARACTER, dog.kind());
        assertEquals(4, dog.size(), "four byte tokens, one character");
        assertTrue(groups.stream().anyMatch(g -> g.kind() == TokenGroups.Kind.LINE_BREAK && g.text().equals("\n")), groups.toString());
    }

    @Test
    void aResponseKeepsItsOwnLeadingCharacterAndSpaces() {
        for (String response : List.of("Lily. She loved to play", " two spaces  inside", "🐶 first")) {
            assertEquals(response, TokenGroups.text(pieces(tokenizer.encodeResponse(response))), response);
        }
    }

    @Test
    void chatTemplateMarkupIsOneGroupEach() {
        List<ChatTurn> chat = List.of(new ChatTurn(ChatTurn.Role.SYSTEM, "Tell stories."), new ChatTurn(ChatTurn.Role.USER, "A dog story."));
        EncodedText encoded = tokenizer.encodeChat(chat);
        List<TokenGroups.Group> groups = TokenGroups.of(pieces(encoded));
        assertEquals(tokenizer.renderChat(chat), TokenGroups.text(pieces(encoded)));
        List<String> markup = groups.stream().filter(g -> g.kind() == TokenGroups.Kind.MARKUP).map(g -> g.text().strip()).toList();
        assertTrue(markup.containsAll(List.of("[INST]", "<<SYS>>", "<</SYS>>", "[/INST]")), groups.toString());
        assertTrue(groups.stream().noneMatch(g -> g.text().equals("I") || g.text().equals("SY")), "no markup spelled letter by letter: " + groups);
    }

    @Test
    void charactersMergeBytePiecesButKeepMarkupTokenByToken() {
        List<ChatTurn> chat = List.of(new ChatTurn(ChatTurn.Role.SYSTEM, "Tell stories."), new ChatTurn(ChatTurn.Role.USER, "A 🐶 story."));
        EncodedText encoded = tokenizer.encodeChat(chat);
        List<TokenGroups.Group> groups = TokenGroups.characters(pieces(encoded));
        assertEquals(encoded.tokens().size() - 3, groups.size(), "one group per token, the emoji's four bytes one: " + groups);
        assertTrue(groups.stream().anyMatch(g -> g.kind() == TokenGroups.Kind.CHARACTER && g.text().equals("🐶") && g.size() == 4), groups.toString());
        assertTrue(groups.stream().noneMatch(g -> g.kind() == TokenGroups.Kind.MARKUP), "markup stays a token per cell: " + groups);
        for (int g = 1; g < groups.size(); g++) {
            assertEquals(groups.get(g - 1).last() + 1, groups.get(g).first(), "the groups cover every token once, in order");
        }
    }

    /**
     * A user-perceived character (an extended grapheme cluster) of several code points is one
     * group: the tiny vocabulary spells each code point in bytes, and the tokens of one grapheme
     * must not be split across cells.
     */
    @Test
    void theTokensOfOneGraphemeAreOneGroup() {
        String prompt = "Ada 👩\u200D💻 in 🇫🇷 said cafe\u0301 👍🏽 ok";
        List<TokenGroups.Group> groups = TokenGroups.characters(pieces(tokenizer.encodePrompt(prompt)));
        for (String grapheme : List.of("👩\u200D💻", "🇫🇷", "👍🏽")) {
            assertTrue(groups.stream().anyMatch(g -> g.kind() == TokenGroups.Kind.CHARACTER && g.text().equals(grapheme)), grapheme + " is one group: " + groups);
        }
        assertTrue(groups.stream().anyMatch(g -> g.text().endsWith("e\u0301")), "e and its combining accent are in one group: " + groups);
        assertEquals(List.of(), splitGraphemes(groups), "no group ends inside a grapheme");
        for (int g = 1; g < groups.size(); g++) {
            assertEquals(groups.get(g - 1).last() + 1, groups.get(g).first(), "the groups cover every token once, in order");
        }
        assertEquals(prompt, TokenGroups.text(pieces(tokenizer.encodePrompt(prompt))));
        assertEquals(List.of(), splitGraphemes(TokenGroups.of(pieces(tokenizer.encodePrompt(prompt)))), "the CLI's groups too");
    }

    /**
     * A span may end inside a grapheme (🇫 of 🇫🇷, at a code point's edge): the tokens of each
     * segment are then groups of their own, so no cell shows one segment's score under another's
     * name. Found by a hostile pass: the cell 🇫🇷 read "tokens 8–15 · flag" while 12–15 were prompt's.
     */
    @Test
    void aGraphemeCutByASegmentIsOneGroupPerSegment() {
        String prompt = "Je suis 🇫🇷 en France.";
        List<TokenGroups.Piece> plain = pieces(tokenizer.encodePrompt(prompt));
        // The span [8, 10) holds 🇫 (U+1F1EB, two UTF-16 units) and not 🇷.
        List<TokenGroups.Piece> cut = plain.stream().map(p -> new TokenGroups.Piece(p.piece(), p.start(), p.end(), p.start() >= 8 && p.start() < 10 ? 1 : 0))
                .toList();
        assertTrue(TokenGroups.characters(plain).stream().anyMatch(g -> g.text().equals("🇫🇷")), "one character without segments");
        for (List<TokenGroups.Group> groups : List.of(TokenGroups.characters(cut), TokenGroups.of(cut))) {
            assertTrue(groups.stream().noneMatch(g -> g.text().equals("🇫🇷")), "not across the span's edge: " + groups);
            assertTrue(groups.stream().anyMatch(g -> g.text().equals("🇫")) && groups.stream().anyMatch(g -> g.text().equals("🇷")), groups.toString());
            for (TokenGroups.Group group : groups) {
                assertEquals(1, cut.subList(group.first(), group.last() + 1).stream().mapToInt(TokenGroups.Piece::segment).distinct().count(),
                        "one segment per group: " + group);
            }
        }
        assertEquals(prompt, TokenGroups.text(cut), "the text reads the same");
    }

    /** The groups whose text ends inside a grapheme of the whole text (\X: JDK 17's BreakIterator splits emoji sequences). */
    /** Unicode 15.1's conjuncts (GB9c), which JDK 17's \\X splits: स्ते in नमस्ते is one character, as a browser draws it. */
    @Test
    void aConsonantAViramaAndTheNextConsonantAreOneGroup() {
        List<String> texts = TokenGroups.characters(pieces(tokenizer.encodePrompt("नमस्ते क्षत्रिय"))).stream()
                .filter(g -> g.kind() != TokenGroups.Kind.BOUNDARY).map(TokenGroups.Group::text).map(String::strip).filter(t -> !t.isEmpty()).toList();
        assertEquals(List.of("न", "म", "स्ते", "क्ष", "त्रि", "य"), texts);
        List<String> apart = TokenGroups.characters(pieces(tokenizer.encodePrompt("स्अ"))).stream()
                .filter(g -> g.kind() != TokenGroups.Kind.BOUNDARY).map(TokenGroups.Group::text).map(String::strip).filter(t -> !t.isEmpty()).toList();
        assertEquals(List.of("स्", "अ"), apart, "an independent vowel after a virama starts a character of its own");
    }

    private static List<TokenGroups.Group> splitGraphemes(List<TokenGroups.Group> groups) {
        StringBuilder text = new StringBuilder();
        List<Integer> ends = new java.util.ArrayList<>();
        for (TokenGroups.Group group : groups) {
            if (group.kind() != TokenGroups.Kind.BOUNDARY) {
                text.append(group.text());
            }
            ends.add(text.length());
        }
        java.util.Set<Integer> boundaries = new java.util.HashSet<>(List.of(0));
        java.util.regex.Matcher grapheme = java.util.regex.Pattern.compile("\\X").matcher(text);
        while (grapheme.find()) {
            boundaries.add(grapheme.end());
        }
        List<TokenGroups.Group> split = new java.util.ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            if (!boundaries.contains(ends.get(g))) {
                split.add(groups.get(g));
            }
        }
        return split;
    }

    @Test
    void redactedAndCutBytesStillReadSafely() {
        List<TokenGroups.Piece> pieces = List.of(new TokenGroups.Piece("<s>", 0, 0), new TokenGroups.Piece(null, 0, 4),
                new TokenGroups.Piece("<0xF0>", 4, 5), new TokenGroups.Piece("<0x9F>", 4, 5), new TokenGroups.Piece("▁end", 5, 9));
        assertEquals("▒\uFFFD end", TokenGroups.text(pieces));
    }
}
