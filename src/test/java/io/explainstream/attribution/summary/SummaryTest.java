package io.explainstream.attribution.summary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionEngine;
import io.explainstream.attribution.AttributionRequest;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.ScoreNormalization;
import io.explainstream.attribution.AttributionToken;
import io.explainstream.model.LlamaModel;
import io.explainstream.testing.BundledModel;
import io.explainstream.tokenize.ChatTurn;
import io.explainstream.tokenize.LlamaTokenizer.ChatEncoding;
import io.explainstream.tokenize.LlamaTokenizer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Segment and word scores are exact sums of the token scores the bundled model gives. */
class SummaryTest {

    private static final LlamaModel model = BundledModel.get().model();
    private static final LlamaTokenizer tokenizer = BundledModel.get().tokenizer();
    private static final AttributionEngine engine = BundledModel.get().engine();

    @Test
    void chatWithTwoDocumentsSumsExactly() {
        String relevant = "Lily has a red ball.";
        String other = "The sun is hot.";
        String question = "Documents: " + relevant + " " + other + " What does Lily have?";
        int relevantStart = question.indexOf(relevant);
        int otherStart = question.indexOf(other);
        List<ChatTurn> messages = List.of(new ChatTurn(ChatTurn.Role.SYSTEM, "Answer from the documents."),
                new ChatTurn(ChatTurn.Role.USER, question));
        ChatEncoding chat = tokenizer.encodeChatWithSpans(messages);
        PromptLayout layout = PromptLayout.chat(chat, chat.encoded().tokens(), messages,
                List.of(new SpanRequest("doc:ball", 1, relevantStart, relevantStart + relevant.length()),
                        new SpanRequest("doc:sun", 1, otherStart, otherStart + other.length())), tokenizer::isSpecial);
        Attribution attribution = engine.attribute(new AttributionRequest(chat.encoded(), tokenizer.encodeResponse("Lily has a red ball.")),
                AttributionSettings.DEFAULTS.withSteps(4).withTokenMatrix(true)); // sums are exact at any step count
        Summary summary = Summary.of(layout, attribution.promptTokens(), attribution.seqAttr(), attribution.tokenAttr(), ScoreNormalization.L1, 5);

        double[] seqAttr = attribution.seqAttr();
        double total = 0;
        double mass = 0;
        for (double score : seqAttr) {
            total += score;
            mass += Math.abs(score);
        }
        assertEquals(List.of("template", "system", "user[0]", "doc:ball", "doc:sun"), summary.segments().stream().map(Summary.Segment::name).toList());
        double segmentTotal = 0;
        double shares = 0;
        int tokens = 0;
        for (int s = 0; s < summary.segments().size(); s++) {
            Summary.Segment segment = summary.segments().get(s);
            double expected = 0;
            double expectedMass = 0;
            for (int i = 0; i < seqAttr.length; i++) {
                if (summary.tokenSegment()[i] == s) {
                    expected += seqAttr[i];
                    expectedMass += Math.abs(seqAttr[i]);
                }
            }
            assertEquals(expected, segment.score(), 1e-12, segment.name());
            assertEquals(expectedMass / mass, segment.share(), 1e-12, segment.name());
            // With the matrix, a segment's per-target scores sum to its score (seq_attr = Σ_t token_attr[t]).
            double rowTotal = 0;
            for (double score : segment.tokenScores()) {
                rowTotal += score;
            }
            assertEquals(segment.score(), rowTotal, 1e-5, segment.name());
            assertTrue(segment.tokens() > 0, segment.name());
            segmentTotal += segment.score();
            shares += segment.share();
            tokens += segment.tokens();
        }
        assertEquals(total, segmentTotal, 1e-12);
        assertEquals(1, shares, 1e-12);
        assertEquals(seqAttr.length, tokens);

        double wordTotal = 0;
        for (Summary.Word word : summary.words()) {
            double expected = 0;
            for (int i = word.tokenStart(); i < word.tokenEnd(); i++) {
                expected += seqAttr[i];
            }
            assertEquals(expected, word.score(), 1e-12, word.text());
            wordTotal += word.score();
        }
        assertEquals(total, wordTotal, 1e-12);

        assertEquals(5, summary.topTokens().size());
        for (int k = 1; k < 5; k++) {
            assertTrue(Math.abs(summary.topTokens().get(k - 1).score()) >= Math.abs(summary.topTokens().get(k).score()));
            assertTrue(Math.abs(summary.topWords().get(k - 1).score()) >= Math.abs(summary.topWords().get(k).score()));
        }
        Summary.Top strongest = summary.topTokens().get(0);
        assertEquals(seqAttr[strongest.index()], strongest.score());
        for (double score : seqAttr) {
            assertTrue(Math.abs(score) <= Math.abs(strongest.score()));
        }
        Summary.Segment top = summary.segments().stream().max((a, b) -> Double.compare(a.share(), b.share())).orElseThrow();
        assertEquals(top.name(), summary.topSegment());
        assertTrue(summary.attributionEntropy() > 0 && summary.attributionEntropy() <= Math.log(seqAttr.length), "entropy "
                + summary.attributionEntropy());
    }

    @Test
    void allZeroScoresGiveZeroSharesAndNoTopSegment() {
        PromptLayout layout = PromptLayout.plain(tokenizer.encodePrompt("A dog."), List.of(), tokenizer::isSpecial);
        int size = layout.tokenSegment().length;
        List<AttributionToken> tokens = java.util.Collections.nCopies(size, new AttributionToken(1, "x", 0, 0, true));
        Summary summary = Summary.of(layout, tokens, new double[size], null, ScoreNormalization.MAX_ABS, 3);
        assertEquals(0, summary.segments().get(0).share());
        assertNull(summary.segments().get(0).tokenScores());
        assertNull(summary.topSegment());
        assertEquals(0, summary.attributionEntropy());
        assertEquals(List.of(0, 1, 2), summary.topTokens().stream().map(Summary.Top::index).toList());
    }

    /**
     * BOS, kept fixed by default, has no score (a 0): it is neither a top token nor a top word, so a
     * short prompt lists fewer than k (it filled the last slot with "<s>" and 0). Attributed
     * (include_bos), it ranks as any token.
     */
    @Test
    void tokensKeptFixedRankAmongNeitherTopTokensNorTopWords() {
        io.explainstream.tokenize.EncodedText prompt = tokenizer.encodePrompt("A dog sat.");
        PromptLayout layout = PromptLayout.plain(prompt, List.of(), tokenizer::isSpecial);
        Attribution fixed = engine.attribute(new AttributionRequest(prompt, tokenizer.encodeResponse("The dog")), AttributionSettings.DEFAULTS.withSteps(4));
        assertEquals(false, fixed.promptTokens().get(0).attributed(), "BOS is kept fixed by default");
        Summary summary = Summary.of(layout, fixed.promptTokens(), fixed.seqAttr(), null, ScoreNormalization.L1, 100);
        assertEquals(List.of("<s>", "A", "dog", "sat."), summary.words().stream().map(Summary.Word::text).toList());
        assertEquals(prompt.size() - 1, summary.topTokens().size());
        assertTrue(summary.topTokens().stream().noneMatch(top -> top.index() == 0), summary.topTokens().toString());
        assertEquals(java.util.Set.of("A", "dog", "sat."), summary.topWords().stream().map(Summary.Top::text).collect(java.util.stream.Collectors.toSet()));
        List<AttributionToken> allAttributed = fixed.promptTokens().stream()
                .map(t -> new AttributionToken(t.id(), t.text(), t.start(), t.end(), true)).toList();
        Summary withBos = Summary.of(layout, allAttributed, fixed.seqAttr(), null, ScoreNormalization.L1, 100);
        assertEquals(prompt.size(), withBos.topTokens().size());
        assertEquals(4, withBos.topWords().size());
    }

    /** A span that holds no token's first character is listed, with nothing in it: the scores of the others are unchanged. */
    @Test
    void aSpanHoldingNoTokenIsListedWithZeroTokensScoreAndShare() {
        String text = "Lily ran.  The dog sat.";
        int gap = text.indexOf("  ") + 1; // the second of two spaces: no token starts its non-space text there
        io.explainstream.tokenize.EncodedText prompt = tokenizer.encodePrompt(text);
        PromptLayout layout = PromptLayout.plain(prompt, List.of(new SpanRequest("gap", null, gap, gap + 1)), tokenizer::isSpecial);
        Attribution attribution = engine.attribute(new AttributionRequest(prompt, tokenizer.encodeResponse("The dog")),
                AttributionSettings.DEFAULTS.withSteps(4));
        Summary summary = Summary.of(layout, attribution.promptTokens(), attribution.seqAttr(), null, ScoreNormalization.L1, 5);
        assertEquals(List.of("prompt", "gap"), summary.segments().stream().map(Summary.Segment::name).toList());
        Summary.Segment empty = summary.segments().get(1);
        assertEquals(List.of(0, 0.0, 0.0), List.of(empty.tokens(), empty.score(), empty.share()));
        assertEquals(attribution.seqAttr().length, summary.segments().get(0).tokens(), "every token stays in the prompt");
        assertEquals(1.0, summary.segments().get(0).share(), 1e-12);
    }

    @Test
    void entropyIsZeroForOneTokenAndLogNForEqualMass() {
        PromptLayout layout = PromptLayout.plain(tokenizer.encodePrompt("A dog."), List.of(), tokenizer::isSpecial);
        int size = layout.tokenSegment().length;
        List<AttributionToken> tokens = java.util.Collections.nCopies(size, new AttributionToken(1, "x", 0, 0, true));
        double[] one = new double[size];
        one[2] = -3;
        assertEquals(0, Summary.of(layout, tokens, one, null, ScoreNormalization.L1, 5).attributionEntropy(), 1e-15);
        double[] equal = new double[size];
        for (int i = 0; i < size; i++) {
            equal[i] = i % 2 == 0 ? 0.5 : -0.5;
        }
        assertEquals(Math.log(size), Summary.of(layout, tokens, equal, null, ScoreNormalization.L1, 5).attributionEntropy(), 1e-12);
    }
}
