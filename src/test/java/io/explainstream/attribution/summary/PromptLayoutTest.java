package io.explainstream.attribution.summary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import io.explainstream.tokenize.ChatTurn;
import io.explainstream.tokenize.EncodedText;
import io.explainstream.tokenize.LlamaTokenizer;
import io.explainstream.tokenize.LlamaTokenizer.ChatEncoding;
import io.explainstream.tokenize.Token;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The partition rules, on the bundled tokenizer's real pieces and offsets. */
class PromptLayoutTest {

    private static LlamaTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = LlamaTokenizer.load(TestData.stories260K());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static PromptLayout plain(String text, SpanRequest... spans) {
        return PromptLayout.plain(tokenizer.encodePrompt(text), List.of(spans), tokenizer::isSpecial);
    }

    /** The segment name of each token, as "piece=name". */
    private static List<String> segmentOfEachToken(EncodedText prompt, PromptLayout layout) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < prompt.size(); i++) {
            out.add(prompt.tokens().get(i).piece() + "=" + layout.segments().get(layout.tokenSegment()[i]).name());
        }
        return out;
    }

    private static List<String> wordTexts(PromptLayout layout) {
        return layout.words().stream().map(WordSpan::text).toList();
    }

    /** Every token is in exactly one word, in order. */
    private static void assertWordsCoverTokens(PromptLayout layout, int tokens) {
        int next = 0;
        for (WordSpan word : layout.words()) {
            assertEquals(next, word.tokenStart(), "words must follow each other: " + word);
            assertTrue(word.tokenEnd() > word.tokenStart(), "a word holds a token: " + word);
            next = word.tokenEnd();
        }
        assertEquals(tokens, next);
    }

    @Test
    void plainPromptIsOneSegmentWithBos() {
        EncodedText prompt = tokenizer.encodePrompt("Once upon a time, there was a dog.");
        PromptLayout layout = plain(prompt.text());
        assertEquals(List.of(new SegmentDefinition("prompt", SegmentKind.PROMPT, 0, prompt.text().length())), layout.segments());
        for (int segment : layout.tokenSegment()) {
            assertEquals(0, segment);
        }
        assertEquals(List.of("<s>", "Once", "upon", "a", "time,", "there", "was", "a", "dog."), wordTexts(layout));
        assertWordsCoverTokens(layout, prompt.size());
    }

    @Test
    void leadingSpacePieceHasAnEmptySpanAndJoinsItsWord() {
        // "A" is not a word of the vocabulary: the normalizer's "▁" comes as a piece of its own.
        EncodedText prompt = tokenizer.encodePrompt("A dog ran.");
        assertEquals(new Token(410, "▁", 0, 0), prompt.tokens().get(1));
        assertEquals(new Token(447, "A", 0, 1), prompt.tokens().get(2));
        PromptLayout layout = plain(prompt.text(), new SpanRequest("a", null, 0, 1));
        assertEquals(List.of("<s>=prompt", "▁=a", "A=a", "▁do=prompt", "g=prompt", "▁r=prompt", "an=prompt", ".=prompt"),
                segmentOfEachToken(prompt, layout));
        assertEquals(List.of(new WordSpan("<s>", 0, 0, 0, 1), new WordSpan("A", 0, 1, 1, 3), new WordSpan("dog", 2, 5, 3, 5),
                new WordSpan("ran.", 6, 10, 5, 8)), layout.words());
    }

    @Test
    void straddlingTokenGoesToTheSpanHoldingItsFirstCharacter() {
        // "▁do" covers " do" (1..4), "g" covers 4..5: a span [3, 10) starts inside "▁do", whose
        // first (non-space) character 'd' at 2 is outside it.
        EncodedText prompt = tokenizer.encodePrompt("A dog ran.");
        PromptLayout layout = plain(prompt.text(), new SpanRequest("tail", null, 3, 10));
        assertEquals(List.of("<s>=prompt", "▁=prompt", "A=prompt", "▁do=prompt", "g=tail", "▁r=tail", "an=tail", ".=tail"),
                segmentOfEachToken(prompt, layout));
        // The span cuts the word "dog": words never cross a segment edge.
        assertEquals(List.of("<s>", "A", "do", "g", "ran."), wordTexts(layout));
        // A span starting at the space before a word takes the word piece: its anchor is inside.
        PromptLayout atSpace = plain(prompt.text(), new SpanRequest("tail", null, 1, 10));
        assertEquals("▁do=tail", segmentOfEachToken(prompt, atSpace).get(3));
    }

    @Test
    void byteFallbackPiecesOfEmojiAndCjkStayTogether() {
        String text = "Hi 😀 there 猫 x";
        EncodedText prompt = tokenizer.encodePrompt(text);
        // The emoji is 2 UTF-16 units (3..5) and 4 byte pieces; 猫 is 1 unit (12..13) and 3 pieces.
        PromptLayout layout = plain(text, new SpanRequest("emoji", null, 3, 5), new SpanRequest("cat", null, 12, 13));
        List<String> segments = segmentOfEachToken(prompt, layout);
        assertEquals(List.of("<s>=prompt", "▁H=prompt", "i=prompt", "▁=prompt", "<0xF0>=emoji", "<0x9F>=emoji", "<0x98>=emoji", "<0x80>=emoji",
                "▁there=prompt", "▁=prompt", "<0xE7>=cat", "<0x8C>=cat", "<0xAB>=cat", "▁=prompt", "x=prompt"), segments);
        // A "▁" standing for the space before a word goes with it (" x"), but not across a segment edge:
        // before the emoji and the cat, whose spans begin after the space, it is whitespace, a word of its own.
        assertEquals(List.of("<s>", "Hi", " ", "😀", "there", " ", "猫", "x"), wordTexts(layout));
        assertEquals(new WordSpan("😀", 3, 5, 4, 8), layout.words().get(3));
        assertEquals(new WordSpan("x", 14, 15, 13, 15), layout.words().get(7));
        assertWordsCoverTokens(layout, prompt.size());
        // Without spans, each "▁" goes with its word: no word " " to rank among the top words.
        PromptLayout whole = plain(text);
        assertEquals(List.of("<s>", "Hi", "😀", "there", "猫", "x"), wordTexts(whole));
        assertEquals(new WordSpan("😀", 3, 5, 3, 8), whole.words().get(2));
        assertEquals(new WordSpan("猫", 12, 13, 9, 13), whole.words().get(4));
        assertWordsCoverTokens(whole, prompt.size());
        // A newline is no word's space: it stays a word of its own.
        assertEquals(List.of("<s>", "Hi", "\n", "x"), wordTexts(plain("Hi\nx")));
    }

    /**
     * However many tokens spell the spaces before a word (a run of spaces, the byte pieces of an
     * ideographic space, a prepended "▁" before leading spaces), they go with the word: a word " "
     * ranked among the top words. Other whitespace is a word of its own, its byte pieces together.
     */
    @Test
    void spacesGoWithTheWordAfterThemAndOtherWhitespaceIsOneWordPerCharacter() {
        for (String text : List.of("I like  dogs", "a          b", "  Hi there", "Hi\u3000dog \u3000 cat", "Hi\u2028x\ty")) {
            assertWordsCoverTokens(plain(text), tokenizer.encodePrompt(text).size());
        }
        assertEquals(List.of("<s>", "I", "like", "dogs"), wordTexts(plain("I like  dogs")));
        assertEquals(new WordSpan("b", 11, 12, 2, 12), plain("a          b").words().get(2), "ten spaces' pieces go with b");
        assertEquals(new WordSpan("Hi", 2, 4, 1, 5), plain("  Hi there").words().get(1), "the prepended ▁ and the leading spaces go with Hi");
        // An ideographic space, U+3000, is three byte pieces: they go with the word after it.
        assertEquals(List.of(new WordSpan("dog", 3, 6, 3, 9), new WordSpan("cat", 9, 12, 9, 15)), plain("Hi\u3000dog \u3000 cat").words().subList(2, 4));
        // A line separator, U+2028, is three byte pieces too: one word of its own, as a tab is.
        assertEquals(List.of(new WordSpan("\u2028", 2, 3, 3, 6), new WordSpan("x", 3, 4, 6, 7), new WordSpan("\t", 4, 5, 7, 8)),
                plain("Hi\u2028x\ty").words().subList(2, 5));
        // Leading spaces that end their segment are a word of their own, with the prepended "▁" (no word "▁" of no span).
        PromptLayout edge = plain("   x", new SpanRequest("s", null, 0, 3));
        assertWordsCoverTokens(edge, tokenizer.encodePrompt("   x").size());
        assertEquals(List.of(new WordSpan("<s>", 0, 0, 0, 1), new WordSpan("   ", 0, 3, 1, 5), new WordSpan("x", 3, 4, 5, 6)), edge.words());
        // ... and so are spaces before a special token.
        assertEquals(List.of("<s>", "  ", "</s>", "  ", "<s>", "x"), wordTexts(plain("  </s>  <s>  x")));
    }

    @Test
    void chatTokensGoToTheirMessageAndMarkupToTemplate() {
        List<ChatTurn> messages = List.of(new ChatTurn(ChatTurn.Role.SYSTEM, "Be kind."),
                new ChatTurn(ChatTurn.Role.USER, "  Tell a story."), new ChatTurn(ChatTurn.Role.ASSISTANT, "Once upon."),
                new ChatTurn(ChatTurn.Role.USER, "More."));
        ChatEncoding chat = tokenizer.encodeChatWithSpans(messages);
        String text = chat.encoded().text();
        assertEquals("<s>[INST] <<SYS>>\nBe kind.\n<</SYS>>\n\nTell a story. [/INST] Once upon. </s><s>[INST] More. [/INST]", text);
        // The spans are of the stripped contents, in the rendered text.
        assertEquals("Tell a story.", text.substring(chat.messages().get(1).start(), chat.messages().get(1).end()));
        assertEquals(2, chat.messages().get(1).leadingTrimmed());
        // "story" (content offsets 9..14 of "  Tell a story.") is a span inside user[0].
        PromptLayout layout = PromptLayout.chat(chat, chat.encoded().tokens(), messages, List.of(new SpanRequest("story", 1, 9, 14)),
                tokenizer::isSpecial);
        assertEquals(List.of("template", "system", "user[0]", "assistant[0]", "user[1]", "story"),
                layout.segments().stream().map(SegmentDefinition::name).toList());
        assertEquals(new SegmentDefinition("story", SegmentKind.SPAN, 44, 49), layout.segments().get(5));
        String joined = String.join(" ", segmentOfEachToken(chat.encoded(), layout));
        assertTrue(joined.startsWith("<s>=template ▁=template [=template I=template"), joined);
        assertTrue(joined.contains("<0x0A>=template B=system e=system ▁k=system i=system nd=system .=system <0x0A>=template"), joined);
        // user[0] holds tokens on both sides of the span inside it.
        assertTrue(joined.contains("T=user[0] e=user[0] ll=user[0] ▁a=user[0] ▁st=story or=story y=story .=user[0] ▁=template"), joined);
        assertTrue(joined.contains("▁Once=assistant[0] ▁upon=assistant[0] .=assistant[0] ▁=template </s>=template <s>=template"), joined);
        assertTrue(joined.contains("▁M=user[1] o=user[1] re=user[1] .=user[1] ▁=template"), joined);
        // Template markup is words of its own, never merged with a message's words; BOS and EOS alone.
        List<String> words = wordTexts(layout);
        assertTrue(words.containsAll(List.of("[INST]", "<<SYS>>", "Be", "kind.", "<</SYS>>", "Tell", "a", "story", ".", "[/INST]", "</s>", "<s>")),
                words.toString());
        assertWordsCoverTokens(layout, chat.encoded().size());
    }

    /**
     * The text {@code <s>} or {@code </s>} in a prompt or message is the special token, as Hugging
     * Face's tokenizer reads it; its characters lie in the user's text, so it belongs to the segment
     * holding them (a hostile test: typed into a user message, both went to {@code template}, moving
     * the user's mass there). Only a BOS of no characters (the one prepended) stays in the first segment.
     */
    @Test
    void aSpecialTokenSpelledInTheTextBelongsToTheSegmentHoldingItsCharacters() {
        EncodedText prompt = tokenizer.encodePrompt("Once upon <s> a time </s> there");
        PromptLayout layout = plain(prompt.text(), new SpanRequest("typed", null, 10, 25));
        String joined = String.join(" ", segmentOfEachToken(prompt, layout));
        assertTrue(joined.startsWith("<s>=prompt "), "the prepended BOS: " + joined);
        assertTrue(joined.contains(" <s>=typed ") && joined.contains(" </s>=typed "), joined);
        assertEquals(2, java.util.stream.IntStream.range(0, prompt.size()).filter(i -> tokenizer.isSpecial(prompt.tokens().get(i).id())
                && layout.tokenSegment()[i] == 1).count());

        List<ChatTurn> messages = List.of(new ChatTurn(ChatTurn.Role.USER, "obey <s> me </s> now"));
        ChatEncoding chat = tokenizer.encodeChatWithSpans(messages);
        PromptLayout chatLayout = PromptLayout.chat(chat, chat.encoded().tokens(), messages, List.of(), tokenizer::isSpecial);
        String chatJoined = String.join(" ", segmentOfEachToken(chat.encoded(), chatLayout));
        assertTrue(chatJoined.startsWith("<s>=template "), "the template's own BOS: " + chatJoined);
        assertTrue(chatJoined.contains(" <s>=user[0] ") && chatJoined.contains(" </s>=user[0] "), chatJoined);
    }

    /**
     * Whitespace that tokens of their own spell (a lone ▁ piece, a newline) is attributed like any
     * token, so a span over it alone holds those tokens and their share; spaces inside a word piece
     * ({@code ▁ran}) do not make a span of them hold the piece.
     */
    @Test
    void aSpanOfSpacesHoldsTheTokensThatSpellOnlyThoseSpaces() {
        EncodedText prompt = tokenizer.encodePrompt("then   ran.");
        PromptLayout layout = plain(prompt.text(), new SpanRequest("ws", null, 4, 7));
        List<String> pieces = segmentOfEachToken(prompt, layout);
        assertTrue(pieces.contains("▁=ws"), pieces.toString());
        assertTrue(pieces.stream().filter(p -> p.endsWith("=ws")).allMatch(p -> p.equals("▁=ws")), "only pieces of spaces: " + pieces);
        PromptLayout oneSpace = plain("then ran.", new SpanRequest("ws", null, 4, 5));
        assertTrue(segmentOfEachToken(tokenizer.encodePrompt("then ran."), oneSpace).stream().noneMatch(p -> p.endsWith("=ws")),
                "the space of ▁ran goes with its word");
    }

    @Test
    void truncatedPromptStartingInsideAWord() {
        EncodedText prompt = tokenizer.encodePrompt("A dog ran.");
        // Keep BOS and drop "▁ A ▁do" (truncate_left): the first kept token, "g", is inside "dog".
        List<Token> kept = new ArrayList<>();
        kept.add(prompt.tokens().get(0));
        kept.addAll(prompt.tokens().subList(4, prompt.size()));
        PromptLayout layout = PromptLayout.plain(new EncodedText(prompt.text(), kept), List.of(), tokenizer::isSpecial);
        assertEquals(kept.size(), layout.tokenSegment().length);
        assertWordsCoverTokens(layout, kept.size());
        assertEquals(List.of(new WordSpan("<s>", 0, 0, 0, 1), new WordSpan("g", 4, 5, 1, 2), new WordSpan("ran.", 6, 10, 2, 5)), layout.words());
    }

    @Test
    void badSpansAreRejectedNamingTheSpan() {
        String text = "Once upon a time, there was a dog.";
        assertMessage("segments[1] 'b' [5, 12) overlaps segments[0] 'a' [0, 10)",
                () -> plain(text, new SpanRequest("a", null, 0, 10), new SpanRequest("b", null, 5, 12)));
        assertMessage("segments[0] 'a': start = 30, end = 40 is out of range of the prompt's 34 characters (0 <= start < end <= 34)",
                () -> plain(text, new SpanRequest("a", null, 30, 40)));
        assertMessage("segments[0] 'a': start = -1, end = 3", () -> plain(text, new SpanRequest("a", null, -1, 3)));
        assertMessage("segments[0] 'a': start = 3, end = 3", () -> plain(text, new SpanRequest("a", null, 3, 3)));
        String emoji = "I \uD83D\uDE00 this dog.";
        assertMessage("segments[0] 'a': start = 3 falls inside the character U+1F600, between its two UTF-16 code units; offsets count UTF-16"
                + " code units (a character beyond U+FFFF, such as most emoji, counts 2), not code points",
                () -> plain(emoji, new SpanRequest("a", null, 3, 8)));
        assertMessage("segments[0] 'a': end = 3 falls inside the character U+1F600", () -> plain(emoji, new SpanRequest("a", null, 0, 3)));
        assertEquals(2, plain(emoji, new SpanRequest("a", null, 2, 4)).segments().size(), "around the whole emoji: fine");
        assertMessage("segments[0].name is only white space (1 characters)", () -> plain(text, new SpanRequest(" ", null, 0, 3)));
        assertMessage("segments[0].name is empty", () -> plain(text, new SpanRequest("", null, 0, 3)));
        assertMessage("segments[0].name contains the control character U+0007 at index 3", () -> plain(text, new SpanRequest("doc\u0007", null, 0, 3)));
        assertMessage("segments[0].name is 129 characters, at most 128", () -> plain(text, new SpanRequest("n".repeat(129), null, 0, 3)));
        // Characters are code points: 128 🐶 (256 UTF-16 units) are a name, 129 are not.
        assertTrue(plain(text, new SpanRequest("🐶".repeat(128), null, 0, 3)).segments().stream().anyMatch(s -> s.name().equals("🐶".repeat(128))));
        assertMessage("segments[0].name is 129 characters, at most 128", () -> plain(text, new SpanRequest("🐶".repeat(129), null, 0, 3)));
        SpanRequest[] many = new SpanRequest[65];
        for (int i = 0; i < many.length; i++) {
            many[i] = new SpanRequest("s" + i, null, 0, 1);
        }
        assertMessage("segments has 65 spans, at most 64", () -> plain(text, many));
        assertMessage("segments[1] 'a': the name is also segments[0]'s",
                () -> plain(text, new SpanRequest("a", null, 0, 3), new SpanRequest("a", null, 5, 7)));
        String reserved = ": the name is reserved for the built-in segments (prompt, template, system, user[N], assistant[N]); give the span"
                + " another name";
        for (String builtIn : List.of("prompt", "template", "system", "user[0]", "assistant[12]", "Prompt", "USER[0]")) {
            assertMessage("segments[0] '" + builtIn + "'" + reserved, () -> plain(text, new SpanRequest(builtIn, null, 0, 3)));
        }
        // Found by a hostile pass: "prompt " was taken, and the table then had two rows named prompt.
        for (String padded : List.of("prompt ", " doc", "doc\u2003")) {
            assertMessage("segments[0] '" + padded + "': the name begins or ends with white space", () -> plain(text, new SpanRequest(padded, null, 0, 3)));
        }
        assertMessage("segments[0] 'a': start = 3, end = 3 holds no character: a span needs start < end", () -> plain(text, new SpanRequest("a", null, 3, 3)));
        assertMessage("segments[0] 'a': start = 5, end = 4 holds no character: a span needs start < end", () -> plain(text, new SpanRequest("a", null, 5, 4)));
        assertEquals(2, plain(text, new SpanRequest("user[x]", null, 0, 3)).segments().size(), "not a built-in name");
        assertEquals(2, plain(text, new SpanRequest("prompt:doc", null, 0, 3)).segments().size(), "not a built-in name");
        assertMessage("segments[0] 'a': message = 0, but the prompt is plain text", () -> plain(text, new SpanRequest("a", 0, 0, 3)));
        List<ChatTurn> messages = List.of(new ChatTurn(ChatTurn.Role.USER, "Tell a story."));
        ChatEncoding chat = tokenizer.encodeChatWithSpans(messages);
        assertMessage("segments[0] 'a': message = 1 is out of range: the prompt has 1 messages",
                () -> PromptLayout.chat(chat, chat.encoded().tokens(), messages, List.of(new SpanRequest("a", 1, 0, 3)), tokenizer::isSpecial));
        assertMessage("segments[0] 'a': message is required for a chat prompt",
                () -> PromptLayout.chat(chat, chat.encoded().tokens(), messages, List.of(new SpanRequest("a", null, 0, 3)), tokenizer::isSpecial));
        assertMessage("segments[0] 'a': start = 0, end = 14 is out of range of messages[0].content's 13 characters",
                () -> PromptLayout.chat(chat, chat.encoded().tokens(), messages, List.of(new SpanRequest("a", 0, 0, 14)), tokenizer::isSpecial));
    }

    /**
     * A name reads as it is spelt (two hostile tests): no invisible character in any plane, no name
     * of blanks only or framed by them, no-break spaces included; the parts of emoji sequences and
     * the bidirectional controls (spelt out everywhere) are allowed.
     */
    @Test
    void spanNamesThatDoNotReadAsTheyAreSpeltAreRefused() {
        String text = "Once upon a time, there was a dog.";
        java.util.function.Function<String, PromptLayout> named = name -> plain(text, new SpanRequest(name, null, 0, 4));
        for (String[] bad : new String[][] {{"doc\u200BA", "U+200B at index 3"}, {"doc\uDB40\uDC41A", "U+E0041 at index 3"},
                {"doc\uD834\uDD73A", "U+1D173 at index 3"}, {"doc\u200DA", "U+200D at index 3"}, {"\u200D", "U+200D at index 0"},
                {"doc\u034FA", "U+034F at index 3"}, {"\u3164", "U+3164 at index 0"}, {"\u2800\u2800", "U+2800 at index 0"},
                {"doc\uFE0FA", "U+FE0F at index 3"}, {"doc\uFFA0A", "U+FFA0 at index 3"}}) {
            assertMessage("segments[0].name contains the invisible character " + bad[1], () -> named.apply(bad[0]));
        }
        assertMessage("segments[0].name is only white space (2 characters)", () -> named.apply("\u202F\u202F"));
        assertMessage("segments[0] '\u00A0doc': the name begins or ends with white space", () -> named.apply("\u00A0doc"));
        assertMessage("segments[0] 'doc\u00A0': the name begins or ends with white space", () -> named.apply("doc\u00A0"));
        for (String good : List.of("👩\u200D💻", "🏳\uFE0F\u200D🌈", "🏴\uDB40\uDC67\uDB40\uDC62\uDB40\uDC73\uDB40\uDC63\uDB40\uDC74\uDB40\uDC7F",
                "doc:\u202Eabc", "👍🏽")) {
            assertEquals(good, named.apply(good).segments().get(1).name(), "allowed: " + good);
        }
    }

    private static void assertMessage(String expectedStart, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(expectedStart), e.getMessage());
    }
}
