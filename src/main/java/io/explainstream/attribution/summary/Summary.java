package io.explainstream.attribution.summary;

import io.explainstream.attribution.ScoreNormalization;
import io.explainstream.attribution.AttributionToken;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The coarse view of one explanation: scores per segment and per word, the strongest tokens and
 * words, and how concentrated the attribution is. Every segment and word score is a plain sum of
 * token scores over a partition ({@link PromptLayout}), so it inherits the tokens' completeness:
 * the segment scores sum to Σ seq_attr. A share is a fraction of attribution mass (Σ|score|), not
 * a probability.
 *
 * @param segments the scored segments, in the layout's order
 * @param tokenSegment (P) each prompt token's segment index
 * @param words the scored words
 * @param topTokens the k attributed prompt tokens with the largest |score|, largest first (fewer when the prompt has fewer)
 * @param topWords the k words with an attributed token with the largest |score|, largest first (fewer when there are fewer)
 * @param topSegment the name of the segment with the largest share; null when every score is 0
 * @param attributionEntropy −Σ p ln p over p_i = |seq_attr[i]| / Σ|seq_attr| (nats): 0 when one
 *     token holds all the mass, ln P when all hold the same
 */
public record Summary(List<Segment> segments, int[] tokenSegment, List<Word> words, List<Top> topTokens, List<Top> topWords, String topSegment,
        double attributionEntropy) {

    /**
     * A scored segment.
     *
     * @param name its name
     * @param kind what it stands for
     * @param start first character of the message or span
     * @param end one past its last character
     * @param tokens how many prompt tokens it holds
     * @param score Σ of its tokens' raw scores (signed, nats)
     * @param share Σ|score| of its tokens / Σ|score| of all tokens; the shares sum to 1 (all 0 when
     *     every score is 0)
     * @param tokenScores (T) Σ of its tokens' token_attr[t] for each response token; null without
     *     the token matrix
     */
    public record Segment(String name, SegmentKind kind, int start, int end, int tokens, double score, double share, double[] tokenScores) {}

    /**
     * A scored word.
     *
     * @param text the characters it covers
     * @param start first character
     * @param end one past the last
     * @param tokenStart its first prompt token
     * @param tokenEnd one past its last prompt token
     * @param score Σ of its tokens' raw scores
     * @param scoreNormalized {@code score} under the tokens' normalization, applied to the word scores
     */
    public record Word(String text, int start, int end, int tokenStart, int tokenEnd, double score, double scoreNormalized) {}

    /**
     * One of the strongest tokens or words.
     *
     * @param index into the prompt tokens or the words
     * @param text its text (the piece for a token)
     * @param start first character
     * @param end one past the last
     * @param score its raw score
     */
    public record Top(int index, String text, int start, int end, double score) {}

    /**
     * Scores a layout.
     *
     * @param layout the partition of the prompt tokens
     * @param tokens (P) the prompt tokens, for the texts of the top tokens
     * @param seqAttr (P) raw scores
     * @param tokenAttr (T, P) the token matrix, or null
     * @param normalization the tokens' normalization, applied to the word scores too
     * @param topK how many top tokens and words
     */
    public static Summary of(PromptLayout layout, List<AttributionToken> tokens, double[] seqAttr, double[][] tokenAttr, ScoreNormalization normalization,
            int topK) {
        int promptLength = seqAttr.length;
        if (layout.tokenSegment().length != promptLength || tokens.size() != promptLength) {
            throw new IllegalArgumentException("the layout has " + layout.tokenSegment().length + " tokens and the scores " + promptLength
                    + ": they must describe the same prompt");
        }
        double mass = 0;
        for (double score : seqAttr) {
            mass += Math.abs(score);
        }
        List<Segment> segments = segments(layout, seqAttr, tokenAttr, mass);
        List<Word> words = words(layout, seqAttr, normalization);
        // Tokens kept fixed (BOS when skipped) have no score, only a 0: they rank nowhere, nor do words of such tokens alone.
        List<Top> topTokens = top(promptLength, i -> tokens.get(i).attributed(),
                i -> new Top(i, tokens.get(i).text(), tokens.get(i).start(), tokens.get(i).end(), seqAttr[i]), topK);
        List<Top> topWords = top(words.size(), i -> anyAttributed(tokens, words.get(i)), i -> {
            Word word = words.get(i);
            return new Top(i, word.text(), word.start(), word.end(), word.score());
        }, topK);
        String topSegment = null;
        double topShare = 0;
        for (Segment segment : segments) {
            if (segment.share() > topShare) {
                topShare = segment.share();
                topSegment = segment.name();
            }
        }
        return new Summary(segments, layout.tokenSegment().clone(), words, topTokens, topWords, topSegment, entropy(seqAttr, mass));
    }

    private static List<Segment> segments(PromptLayout layout, double[] seqAttr, double[][] tokenAttr, double mass) {
        int count = layout.segments().size();
        int[] held = new int[count];
        double[] score = new double[count];
        double[] absolute = new double[count];
        double[][] rows = tokenAttr == null ? null : new double[count][tokenAttr.length];
        for (int i = 0; i < seqAttr.length; i++) {
            int s = layout.tokenSegment()[i];
            held[s]++;
            score[s] += seqAttr[i];
            absolute[s] += Math.abs(seqAttr[i]);
            if (rows != null) {
                for (int t = 0; t < tokenAttr.length; t++) {
                    rows[s][t] += tokenAttr[t][i];
                }
            }
        }
        List<Segment> segments = new ArrayList<>(count);
        for (int s = 0; s < count; s++) {
            SegmentDefinition definition = layout.segments().get(s);
            segments.add(new Segment(definition.name(), definition.kind(), definition.start(), definition.end(), held[s], score[s],
                    mass > 0 ? absolute[s] / mass : 0, rows == null ? null : rows[s]));
        }
        return segments;
    }

    private static List<Word> words(PromptLayout layout, double[] seqAttr, ScoreNormalization normalization) {
        double[] scores = new double[layout.words().size()];
        for (int w = 0; w < scores.length; w++) {
            WordSpan word = layout.words().get(w);
            for (int i = word.tokenStart(); i < word.tokenEnd(); i++) {
                scores[w] += seqAttr[i];
            }
        }
        double[] normalized = normalization.apply(scores);
        List<Word> words = new ArrayList<>(scores.length);
        for (int w = 0; w < scores.length; w++) {
            WordSpan word = layout.words().get(w);
            words.add(new Word(word.text(), word.start(), word.end(), word.tokenStart(), word.tokenEnd(), scores[w], normalized[w]));
        }
        return words;
    }

    /** The k items with the largest |score|, largest first; ties keep prompt order. */
    /** The {@code k} items with the largest |score| among those {@code ranked}, largest first (fewer where fewer are ranked). */
    private static List<Top> top(int size, java.util.function.IntPredicate ranked, IntFunction<Top> item, int k) {
        List<Top> all = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            if (ranked.test(i)) {
                all.add(item.apply(i));
            }
        }
        all.sort(Comparator.comparingDouble((Top top) -> -Math.abs(top.score())).thenComparingInt(Top::index));
        return List.copyOf(all.subList(0, Math.min(k, all.size())));
    }

    private static boolean anyAttributed(List<AttributionToken> tokens, Word word) {
        for (int i = word.tokenStart(); i < word.tokenEnd(); i++) {
            if (tokens.get(i).attributed()) {
                return true;
            }
        }
        return false;
    }

    private static double entropy(double[] seqAttr, double mass) {
        if (mass <= 0) {
            return 0;
        }
        double entropy = 0;
        for (double score : seqAttr) {
            double p = Math.abs(score) / mass;
            if (p > 0) {
                entropy -= p * Math.log(p);
            }
        }
        return entropy;
    }
}
