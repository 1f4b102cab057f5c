package io.explainstream.render;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.PromptToken;
import io.explainstream.tokenize.Token;
import java.util.List;
import org.junit.jupiter.api.Test;

class TerminalHeatmapTest {

    private static Attribution example() {
        List<PromptToken> prompt = List.of(new PromptToken(1, "<s>", 0, 0, false), new PromptToken(10, "▁good", 0, 4, true),
                new PromptToken(11, "▁bad", 4, 8, true));
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
}
