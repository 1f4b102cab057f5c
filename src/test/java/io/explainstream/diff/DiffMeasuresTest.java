package io.explainstream.diff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Each measure against values worked out by hand (in the comments). */
class DiffMeasuresTest {

    @Test
    void topKIsByAbsoluteScoreAmongAttributedTokensWithTiesToTheEarlierPosition() {
        double[] scores = {0.5, -0.9, 0.5, 0.1, 0.0};
        boolean[] all = {true, true, true, true, true};
        // |s| = .5 .9 .5 .1 0: -0.9 leads; positions 0 and 2 tie at .5, 0 comes first.
        assertEquals(List.of(1, 0), DiffMeasures.topK(scores, all, 2));
        assertEquals(List.of(1, 0, 2), DiffMeasures.topK(scores, all, 3));
        // Position 1 not attributed (BOS skipped): it never enters.
        assertEquals(List.of(0, 2), DiffMeasures.topK(scores, new boolean[] {true, false, true, true, true}, 2));
        // k larger than the tokens: all attributed ones.
        assertEquals(5, DiffMeasures.topK(scores, all, 10).size());
    }

    @Test
    void jaccardIsSharedOverUnion() {
        assertEquals(0.5, DiffMeasures.jaccard(Set.of(0, 1, 2), Set.of(1, 2, 3)).getAsDouble(), 0); // {1,2} of {0,1,2,3}
        assertEquals(1.0, DiffMeasures.jaccard(Set.of(4, 7), Set.of(7, 4)).getAsDouble(), 0);
        assertEquals(0.0, DiffMeasures.jaccard(Set.of(1), Set.of()).getAsDouble(), 0);
        assertTrue(DiffMeasures.jaccard(Set.of(), Set.of()).isEmpty(), "nothing to compare is not 'identical'");
    }

    @Test
    void tiedValuesGetTheAverageOfTheRanksTheySpan() {
        assertArrayEquals(new double[] {1, 2.5, 2.5, 4}, DiffMeasures.averageRanks(new double[] {10, 20, 20, 30}), 0);
        // 1 is rank 1; the three 3s span ranks 2..4, average 3.
        assertArrayEquals(new double[] {3, 1, 3, 3}, DiffMeasures.averageRanks(new double[] {3, 1, 3, 3}), 0);
        assertArrayEquals(new double[] {2, 1}, DiffMeasures.averageRanks(new double[] {-0.1, -0.2}), 0);
    }

    @Test
    void spearmanWithTiesIsPearsonOfAverageRanks() {
        // ranks x = 1 2 3 4 5; y = 5 6 7 8 7 -> ranks 1 2 3.5 5 3.5.
        // dx = -2 -1 0 1 2, dy = -2 -1 .5 2 .5: Σdxdy = 8, Σdx² = 10, Σdy² = 9.5, r = 8/√95 = 0.8207826816.
        // (The no-ties shortcut 1 - 6Σd²/(n(n²-1)) would say 0.825: wrong with ties.)
        double r = DiffMeasures.spearman(new double[] {1, 2, 3, 4, 5}, new double[] {5, 6, 7, 8, 7}).getAsDouble();
        assertEquals(8 / Math.sqrt(95), r, 1e-12);
        assertEquals(0.8207826816, r, 1e-9);
        assertEquals(-1.0, DiffMeasures.spearman(new double[] {0.1, 0.2, 0.3}, new double[] {3, 2, 1}).getAsDouble(), 1e-12);
        assertEquals(1.0, DiffMeasures.spearman(new double[] {-5, 0.01, 2}, new double[] {-0.3, 0.2, 9}).getAsDouble(), 1e-12, "ranks, not values");
        assertTrue(DiffMeasures.spearman(new double[] {1, 2, 3}, new double[] {4, 4, 4}).isEmpty(), "no spread on one side");
        assertTrue(DiffMeasures.spearman(new double[] {1}, new double[] {2}).isEmpty(), "one pair");
        assertThrows(IllegalArgumentException.class, () -> DiffMeasures.spearman(new double[] {1, 2}, new double[] {1}));
    }

    @Test
    void shareChangesCoverTheSegmentsOfBothSides() {
        Map<String, Double> replay = new LinkedHashMap<>();
        replay.put("template", 0.2);
        replay.put("user[0]", 0.8);
        Map<String, Double> against = new LinkedHashMap<>();
        against.put("template", 0.3);
        against.put("system", 0.1);
        against.put("user[0]", 0.6);
        List<DiffMeasures.ShareChange> changes = DiffMeasures.shareChanges(replay, against);
        assertEquals(List.of("template", "user[0]", "system"), changes.stream().map(DiffMeasures.ShareChange::name).toList());
        assertEquals(-0.1, changes.get(0).change(), 1e-12);
        assertEquals(0.2, changes.get(1).change(), 1e-12);
        assertEquals(-0.1, changes.get(2).change(), 1e-12, "a segment the replay lacks counts as share 0 there");
        assertEquals(0.2, DiffMeasures.maxShareChange(changes), 1e-12);
        assertEquals(0.0, DiffMeasures.maxShareChange(List.of()));
    }

    @Test
    void logProbChangeIsTheChangeOfTheResponseTotal() {
        // (-0.5 - 1.5) - (-1 - 2 - 0.25) = -2 + 3.25
        assertEquals(1.25, DiffMeasures.sumChange(List.of(-0.5, -1.5), List.of(-1.0, -2.0, -0.25)), 1e-12);
    }

    @Test
    void changeIsTheMeanOfItsThreeParts() {
        // (1 - 0.5) + (1 - 0.8)/2 + 0.2 = 0.5 + 0.1 + 0.2 = 0.8; / 3
        assertEquals(0.8 / 3, DiffMeasures.change(OptionalDouble.of(0.5), OptionalDouble.of(0.8), 0.2), 1e-12);
        assertEquals(0.0, DiffMeasures.change(OptionalDouble.of(1), OptionalDouble.of(1), 0), 1e-12);
        assertEquals(1.0, DiffMeasures.change(OptionalDouble.of(0), OptionalDouble.of(-1), 1), 1e-12);
        assertEquals(0.1 / 3, DiffMeasures.change(OptionalDouble.empty(), OptionalDouble.empty(), 0.1), 1e-12, "missing counts as no change");
    }
}
