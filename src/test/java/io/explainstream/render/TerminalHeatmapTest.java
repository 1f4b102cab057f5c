package io.explainstream.render;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.AttributionToken;
import io.explainstream.tokenize.Token;
import java.util.List;
import org.junit.jupiter.api.Test;

class TerminalHeatmapTest {

    private static Attribution example() {
        List<AttributionToken> prompt = List.of(new AttributionToken(1, "<s>", 0, 0, false), new AttributionToken(10, "▁good", 0, 4, true),
                new AttributionToken(11, "▁bad", 4, 8, true));
        double[] seq = {0, 2.0, -1.0};
        return new Attribution(prompt, List.of(new Token(20, "▁yes", 0, 3)), seq, AttributionSettings.DEFAULTS.normalization().apply(seq),
                null, null, new double[] {-0.5}, new double[] {-2.5}, new double[] {1.0}, 1.0, 50, AttributionSettings.DEFAULTS);
    }

    @Test
    void colorModeColorsTokensRedForPositiveAndBlueForNegative() {
        String text = new TerminalHeatmap(true).render(example(), new Source("m", "f", "good bad", "yes"));
        assertTrue(text.contains("\u001b[48;2;214;39;40m"), "strongest positive token at full red");
        assertTrue(text.contains("\u001b[48;2;143;187;218m"), "the negative token at half blue");
    }

    @Test
    void divergingScaleIsSymmetricAroundZero() {
        assertArrayEquals(new int[] {255, 255, 255}, DivergingScale.rgb(0, 1));
        assertArrayEquals(new int[] {214, 39, 40}, DivergingScale.rgb(3, 3));
        assertArrayEquals(new int[] {31, 119, 180}, DivergingScale.rgb(-3, 3));
        assertEquals(0, DivergingScale.extent(new double[0]));
    }

    @Test
    void plainModeShowsSignsAndBars() {
        String text = new TerminalHeatmap(false).render(example(), new Source("m", "f", "good bad", "yes"));
        assertTrue(text.contains("+2.0000    +0.6667  ++++++++++++++++++++"), text);
        assertTrue(text.contains("-1.0000    -0.3333  ----------"), text);
        assertTrue(text.contains("max |delta| 1.0000"), text);
    }

    @Test
    void theDeltaIsShownRelativeToTheChangeAndFlaggedOverTheThreshold() {
        // f(x) − f(b) = 2.0 and delta_t = 1.0: half the change is missing.
        String plain = new TerminalHeatmap(false).render(example(), new Source("m", "f", "good bad", "yes"));
        assertTrue(plain.contains("max |delta| 1.0000 (50% of Σ|f(x)−f(b)|) · warning: relative delta over 5%"), plain);
        String colored = new TerminalHeatmap(true).render(example(), new Source("m", "f", "good bad", "yes"));
        assertTrue(colored.contains("\u001b[1;31mmax |delta| 1.0000 (50% of Σ|f(x)−f(b)|) · warning:"), colored);
        String lenient = new TerminalHeatmap(false, 0.6).render(example(), new Source("m", "f", "good bad", "yes"));
        assertTrue(lenient.contains("max |delta| 1.0000 (50% of Σ|f(x)−f(b)|)\n"), lenient);
        assertTrue(!lenient.contains("warning"), lenient);
    }

    @Test
    void theHtmlFormOfTheDeltaFlagsItInRedWithTheWord() {
        RunFacts.Delta flagged = RunFacts.delta(example(), 0.05);
        assertEquals("<span class=\"delta-warning\" style=\"color:#c62828;font-weight:bold\">max |delta| 1.0000 (50% of Σ|f(x)−f(b)|)"
                + " · warning: relative delta over 5%: the scores do not add up to the change; use more steps</span>", flagged.html());
        assertEquals("max |delta| 1.0000 (50% of Σ|f(x)−f(b)|)", RunFacts.delta(example(), 0.6).html());
    }

    /** A delta flagged as over 5% read "5.0%": it shows as many decimals as it takes to read as over the threshold. */
    @Test
    void aFlaggedDeltaReadsAsOverItsThreshold() {
        assertEquals("5.04%", RunFacts.percentAbove(0.0504, 0.05));
        assertEquals("5.0004%", RunFacts.percentAbove(0.050004, 0.05));
        assertEquals("5.1%", RunFacts.percentAbove(0.051, 0.05));
        assertEquals("50%", RunFacts.percentAbove(0.5, 0.05));
        assertEquals("∞%", RunFacts.percentAbove(Double.POSITIVE_INFINITY, 0.05));
        assertEquals("5.0%", RunFacts.percent(0.0504), "unflagged numbers keep one decimal");
    }

    @Test
    void relativeDeltaSumsAbsoluteValuesAndIsUndefinedWithoutABaseline() {
        assertEquals(0.5, io.explainstream.attribution.CompletenessGap.relativeDelta(example()), 1e-12);
        // Two targets whose errors cancel in the sum still count: (0.1 + 0.1) / (1 + 3).
        assertEquals(0.05, io.explainstream.attribution.CompletenessGap.relativeDelta(new double[] {-1, -1}, new double[] {-2, 2},
                new double[] {0.1, -0.1}, 0), 1e-12);
        // Without the matrix: |sequence delta| / Σ|f(x) − f(b)|.
        assertEquals(0.1, io.explainstream.attribution.CompletenessGap.relativeDelta(new double[] {-1, -1}, new double[] {-2, 2},
                new double[0], -0.4), 1e-12);
        assertTrue(Double.isNaN(io.explainstream.attribution.CompletenessGap.relativeDelta(new double[] {-1}, new double[0], new double[0], 0)));
        assertEquals(Double.POSITIVE_INFINITY, io.explainstream.attribution.CompletenessGap.relativeDelta(new double[] {-1}, new double[] {-1},
                new double[0], 0.2));
    }

    /**
     * Token names of one to four columns in one to eight UTF-16 units: the scores after them start
     * in one terminal column, as they did not when the cells were padded in UTF-16 units (👩‍💻 has
     * 5 and takes 2 columns; 中文 has 2 and takes 4).
     */
    @Test
    void theTablesLineUpInTerminalColumnsWhateverTheScriptOfTheTokens() {
        String[] pieces = {"▁ok", "▁中文", "▁\uD83D\uDC69\u200D\uD83D\uDCBB", "▁cafe\u0301", "▁ＦＵＬＬ", "▁\uD83C\uDDEB\uD83C\uDDF7"};
        List<AttributionToken> prompt = new java.util.ArrayList<>(List.of(new AttributionToken(1, "<s>", 0, 0, false)));
        double[] seq = new double[pieces.length + 1];
        for (int i = 0; i < pieces.length; i++) {
            prompt.add(new AttributionToken(10 + i, pieces[i], 0, 0, true));
            seq[i + 1] = 0.5 + i;
        }
        List<Token> response = List.of(new Token(20, "▁是", 0, 1), new Token(21, "▁\uD83D\uDC36", 1, 3), new Token(22, "▁yes", 3, 6));
        double[][] matrix = new double[response.size()][];
        for (int t = 0; t < matrix.length; t++) {
            matrix[t] = seq.clone();
        }
        double[] normalized = AttributionSettings.DEFAULTS.normalization().apply(seq);
        Attribution attribution = new Attribution(prompt, response, seq, normalized, matrix, matrix, new double[3], new double[3], new double[3], 0, 50,
                AttributionSettings.DEFAULTS);
        String text = new TerminalHeatmap(false).render(attribution, new Source("m", "f", "prompt", "是🐶 yes"));

        java.util.Set<Integer> tableColumns = new java.util.TreeSet<>();
        java.util.Set<Integer> matrixColumns = new java.util.TreeSet<>();
        for (String line : text.split("\n")) {
            for (int i = 0; i < pieces.length; i++) {
                String raw = String.format(java.util.Locale.ROOT, "%+.4f", seq[i + 1]);
                String name = "'" + pieces[i].replace('▁', ' ') + "'";
                if (line.contains(name) && line.contains(raw)) {
                    tableColumns.add(io.explainstream.text.Columns.width(line.substring(0, line.indexOf(raw) + raw.length())));
                } else if (line.startsWith("  " + name) && !line.contains(raw)) {
                    matrixColumns.add(io.explainstream.text.Columns.width(line));
                }
            }
        }
        assertEquals(1, tableColumns.size(), "every token's raw score ends in one column: " + tableColumns + "\n" + text);
        assertEquals(1, matrixColumns.size(), "every matrix row is as wide: " + matrixColumns + "\n" + text);
        String header = text.lines().filter(line -> line.contains("'") == false && line.contains("yes")).findFirst().orElseThrow();
        assertEquals(matrixColumns.iterator().next(), io.explainstream.text.Columns.width(header), "the header of the response tokens is as wide as a row:\n" + text);
    }

    /**
     * A token wider than the 16-column cell widens the column to it (helper-75: a 17-character
     * Chinese word pushed its row's scores 20 columns right), up to 40 columns; a wider one is cut
     * inside its quotes with an ellipsis, on a whole character, and every row still lines up.
     */
    @Test
    void aLongTokenWidensTheColumnUpToFortyAndIsCutPastThat() {
        String[] pieces = {"▁ok", "▁Supercalifragilisticexpialidocious", "你好世界今天天气很好小猫在睡觉你好世界今天天气很好", "▁\u001b[2J"};
        List<AttributionToken> prompt = new java.util.ArrayList<>();
        double[] seq = new double[pieces.length];
        for (int i = 0; i < pieces.length; i++) {
            prompt.add(new AttributionToken(10 + i, pieces[i], 0, 0, true));
            seq[i] = 0.25 + i;
        }
        Attribution attribution = new Attribution(prompt, List.of(new Token(20, "▁yes", 0, 3)), seq,
                AttributionSettings.DEFAULTS.normalization().apply(seq), null, null, new double[1], new double[1], new double[1], 0, 50,
                AttributionSettings.DEFAULTS);
        String text = new TerminalHeatmap(false).render(attribution, new Source("m", "f", "prompt", "yes"));
        java.util.Set<Integer> scoreEnds = new java.util.TreeSet<>();
        for (int i = 0; i < pieces.length; i++) {
            String raw = String.format(java.util.Locale.ROOT, "%+.4f", seq[i]);
            String row = text.lines().filter(line -> line.contains(raw)).findFirst().orElseThrow();
            scoreEnds.add(io.explainstream.text.Columns.width(row.substring(0, row.indexOf(raw) + raw.length())));
        }
        assertEquals(java.util.Set.of(2 + 4 + 2 + 40 + 1 + 10), scoreEnds, "every raw score ends where the 40-column name column ends:\n" + text);
        assertTrue(text.contains("' Supercalifragilisticexpialidocious'"), "a 38-column name whole:\n" + text);
        assertTrue(text.contains("'你好世界今天天气很好小猫在睡觉你好世…'"), "cut within 38 columns and its quotes:\n" + text);
        assertTrue(text.contains("' \\x1b[2J'") && !text.contains("\u001b"), "escaped, never sent:\n" + text);
    }
}
