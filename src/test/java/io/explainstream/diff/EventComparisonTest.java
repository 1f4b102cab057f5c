package io.explainstream.diff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.diff.DiffRecords.Seg;
import io.explainstream.diff.DiffRecords.Tok;
import io.explainstream.schema.AttributionMethod;
import io.explainstream.schema.Explanation;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two explanations of the prompt "Lily has a ball", compared by hand: once with the same tokens,
 * once after a tokenizer change that splits "Lily" and "ball" (compared on words, marked).
 */
class EventComparisonTest {

    // Old tokenizer: <s> | Lily | has | a | ball
    private static final List<Tok> OLD_TOKENS = List.of(new Tok(1, "<s>", 0, 0, false, 0), new Tok(100, "▁Lily", 0, 4, true, 0),
            new Tok(101, "▁has", 5, 8, true, 0), new Tok(102, "▁a", 9, 10, true, 0), new Tok(103, "▁ball", 11, 15, true, 0));
    // New tokenizer: <s> | Li ly | has | a | ba ll
    private static final List<Tok> NEW_TOKENS = List.of(new Tok(1, "<s>", 0, 0, false, 0), new Tok(200, "▁Li", 0, 2, true, 0),
            new Tok(201, "ly", 2, 4, true, 0), new Tok(101, "▁has", 5, 8, true, 0), new Tok(102, "▁a", 9, 10, true, 0),
            new Tok(202, "▁ba", 11, 13, true, 1), new Tok(203, "ll", 13, 15, true, 1));

    private static final Explanation OLD = DiffRecords.explanation("e1", OLD_TOKENS, new double[] {0, 0.9, -0.2, 0.1, 0.5}, new int[] {1, 2, 3, 4, 5},
            List.of(new Seg("prompt", 1.0)), "prompt", 0.05, List.of(-1.0, -0.5));

    @Test
    void sameTokensAreComparedTokenByToken() {
        Explanation replay = DiffRecords.explanation("e1", OLD_TOKENS, new double[] {0, 0.2, 0.9, 0.1, -0.5}, new int[] {1, 2, 3, 4, 5},
                List.of(new Seg("prompt", 0.6), new Seg("doc", 0.4)), "doc", 0.05, List.of(-1.0, -0.5));
        EventDiff diff = new EventComparison(2, List.of()).compare(replay, OLD);
        assertEquals(EventDiff.Basis.TOKENS, diff.basis());
        // top-2: old {Lily .9, ball .5}, new {has .9, ball -.5}: 1 shared of 3.
        assertEquals(1.0 / 3, diff.jaccard().getAsDouble(), 1e-12);
        // BOS is not attributed: 4 tokens. ranks old [4 1 2 3], new [3 4 2 1]: Σdxdy = -2, Σdx² = Σdy² = 5.
        assertEquals(4, diff.comparedItems());
        assertEquals(-0.4, diff.spearman().getAsDouble(), 1e-12);
        assertEquals(List.of("prompt", "doc"), diff.segmentChanges().stream().map(DiffMeasures.ShareChange::name).toList());
        assertEquals(-0.4, diff.segmentChanges().get(0).change(), 1e-12);
        assertEquals(0.4, diff.maxShareChange(), 1e-12);
        assertTrue(diff.topSegmentChanged());
        assertEquals(0, diff.deltaChange().getAsDouble(), 1e-12);
        assertEquals(0, diff.logProbChange(), 1e-12);
        assertEquals(List.of("▁has +0.900", "▁ball -0.500"), diff.replayTop());
        assertEquals(List.of("▁Lily +0.900", "▁ball +0.500"), diff.againstTop());
        assertEquals(((1 - 1.0 / 3) + (1 + 0.4) / 2 + 0.4) / 3, diff.change(), 1e-12);
    }

    @Test
    void differingTokenizationsAreComparedOnWordsAndMarked() {
        // Word scores: Lily .5+.25 = .75, has -.625, a .25, ball .125+.125 = .25, a tie with a (binary fractions: an exact tie).
        Explanation replay = DiffRecords.explanation("e1", NEW_TOKENS, new double[] {0, 0.5, 0.25, -0.625, 0.25, 0.125, 0.125}, new int[] {1, 3, 4, 5, 7},
                List.of(new Seg("prompt", 0.7), new Seg("doc", 0.3)), "prompt", -0.02, List.of(-0.75, -0.5));
        EventDiff diff = new EventComparison(2, List.of()).compare(replay, OLD);
        assertEquals(EventDiff.Basis.WORDS, diff.basis());
        // top-2 words: old {Lily .9, ball .5}, new {Lily .75, has -.625}: 1 of 3.
        assertEquals(1.0 / 3, diff.jaccard().getAsDouble(), 1e-12);
        // 4 attributed words (BOS's word is not): old ranks [4 1 2 3]; new .75 -.625 .25 .25 -> [4 1 2.5 2.5].
        // dx = 1.5 -1.5 -.5 .5, dy = 1.5 -1.5 0 0: Σdxdy = 4.5, Σdx² = 5, Σdy² = 4.5: r = 4.5/√22.5 = √0.9.
        assertEquals(4, diff.comparedItems());
        assertEquals(Math.sqrt(0.9), diff.spearman().getAsDouble(), 1e-12);
        assertEquals(0.3, diff.maxShareChange(), 1e-12);
        assertFalse(diff.topSegmentChanged());
        assertEquals(-0.07, diff.deltaChange().getAsDouble(), 1e-12);
        assertEquals(0.25, diff.logProbChange(), 1e-12);
        assertEquals(List.of("Lily +0.750", "has -0.625"), diff.replayTop());
    }

    /**
     * The gradient methods have no completeness gap (their sequence_delta is written as 0): against
     * one, a replay's delta minus 0 would read as the gap's change, so there is none to report.
     */
    @Test
    void aSideExplainedByAGradientMethodHasNoDeltaChange() {
        Explanation cheap = Explanation.newBuilder(OLD).setMethod(AttributionMethod.INPUT_X_GRADIENT).setSequenceDelta(0).build();
        Explanation replay = Explanation.newBuilder(OLD).setSequenceDelta(0.3).build();
        EventComparison comparison = new EventComparison(2, List.of());
        assertTrue(comparison.compare(replay, cheap).deltaChange().isEmpty(), "integrated gradients against input x gradient");
        assertTrue(comparison.compare(cheap, replay).deltaChange().isEmpty(), "and the other way");
        assertEquals(0.25, comparison.compare(replay, OLD).deltaChange().getAsDouble(), 1e-12, "both integrated gradients");
        assertTrue(Measure.SEQUENCE_DELTA_CHANGE.of(comparison.compare(replay, cheap)).isEmpty(), "left out of the distribution");
    }

    @Test
    void theGroupIsTheModelOrTheGroupByKeysValues() {
        assertEquals("stories260K", new EventComparison(5, List.of()).group(OLD));
        assertEquals("acme", new EventComparison(5, List.of("tenant")).group(OLD));
        assertEquals("acme,-", new EventComparison(5, List.of("tenant", "app")).group(OLD));
    }

    /**
     * Metadata values that read as another group are quoted (a hostile test: a value "*" merged
     * into all events and its group vanished, so the groups added up to 16 of 17 events; "-"
     * joined the events without the key; "" and "storybook " printed as a bare "group " and as
     * "storybook"). Every such event then counts in a group of its own, and the groups add up.
     */
    @Test
    void aValueThatReadsAsAnotherGroupIsQuotedAndTheGroupsAddUpToEveryEvent() {
        EventComparison comparison = new EventComparison(5, List.of("app"));
        Map<String, String> expected = new java.util.LinkedHashMap<>();
        expected.put("*", "\"*\"");
        expected.put("-", "\"-\"");
        expected.put("other", "\"other\"");
        expected.put("", "\"\"");
        expected.put("storybook ", "\"storybook \"");
        expected.put("storybook", "storybook");
        expected.put("a,b", "\"a,b\"");
        expected.put("say \"hi\"", "\"say \\\"hi\\\"\"");
        expected.put("中文 ok", "中文 ok");
        DiffAggregate aggregate = new DiffAggregate(3);
        int events = 0;
        for (Map.Entry<String, String> value : expected.entrySet()) {
            Explanation explanation = Explanation.newBuilder(OLD).setEventId("e" + events++).setMetadata(Map.of("app", value.getKey())).build();
            assertEquals(value.getValue(), comparison.group(explanation), "the group of " + value.getKey());
            aggregate.joined(comparison.compare(explanation, explanation), explanation, explanation);
        }
        Explanation without = Explanation.newBuilder(OLD).setEventId("e" + events++).setMetadata(Map.of()).build();
        assertEquals("-", comparison.group(without));
        aggregate.joined(comparison.compare(without, without), without, without);
        assertEquals(events + 1, aggregate.groups().size(), "all events and one group per value: " + aggregate.groups());
        long inGroups = aggregate.groups().stream().filter(group -> !group.equals(DiffAggregate.ALL))
                .mapToLong(group -> aggregate.distribution(group, Measure.MAX_SHARE_CHANGE).orElseThrow().count()).sum();
        assertEquals(events, inGroups, "the groups add up to every event");
        assertEquals(events, aggregate.distribution(DiffAggregate.ALL, Measure.MAX_SHARE_CHANGE).orElseThrow().count());
        assertEquals("\" old model\"", new EventComparison(5, List.of()).group(Explanation.newBuilder(OLD).setSourceModel(" old model").build()),
                "a source model is quoted alike");
    }

    @Test
    void quantilesAreExactForFewValuesAndWithinOnePercentForMany() {
        Quantiles few = new Quantiles();
        for (double v : new double[] {0.5, -1, 0.25, 2, 0}) {
            few.add(v);
        }
        // sorted -1 0 .25 .5 2: ranks ceil(.1*5) = 1, ceil(.5*5) = 3, ceil(.9*5) = 5.
        assertEquals(-1, few.quantile(0.1), 0);
        assertEquals(0.25, few.quantile(0.5), 0);
        assertEquals(2, few.quantile(0.9), 0);
        Quantiles q = new Quantiles();
        for (int i = 1; i <= 5000; i++) {
            q.add(i / 5000.0 - 0.2); // -0.1998 .. 0.8
        }
        q.add(Double.NaN);
        assertEquals(5000, q.count(), "NaN is not a value");
        // nearest rank: p10 = the 500th value = -0.1, p50 = the 2500th = 0.3, p90 = the 4500th = 0.7.
        assertEquals(-0.1, q.quantile(0.1), 0.001);
        assertEquals(0.3, q.quantile(0.5), 0.003);
        assertEquals(0.7, q.quantile(0.9), 0.007);
        Quantiles zeros = new Quantiles();
        zeros.add(0);
        zeros.add(0);
        assertEquals(0, zeros.quantile(0.5));
        assertTrue(Double.isNaN(new Quantiles().quantile(0.5)));
    }

    /**
     * Beyond the exact values, a bucket holding one value gives it exactly: 11,100 unchanged events
     * read p10 = p50 = p90 = 0.99 for a Jaccard of 1, and 1/9 read 0.1119, a value no event had.
     */
    @Test
    void manyValuesThatAreAllAlikeGiveThatValueExactly() {
        Quantiles unchanged = new Quantiles();
        Quantiles ninths = new Quantiles();
        Quantiles negative = new Quantiles();
        for (int i = 0; i < 11_100; i++) {
            unchanged.add(1.0);
            ninths.add(i % 2 == 0 ? 1.0 / 9 : 0.5);
            negative.add(-3.0 / 7);
        }
        for (double q : new double[] {0.1, 0.5, 0.9}) {
            assertEquals(1.0, unchanged.quantile(q), 0, "p" + q);
            assertEquals(-3.0 / 7, negative.quantile(q), 0, "p" + q);
        }
        assertEquals(1.0 / 9, ninths.quantile(0.1), 0);
        assertEquals(0.5, ninths.quantile(0.9), 0);
    }
}
