package io.explainstream.render;

/**
 * The color of a score on a diverging scale symmetric around 0: white at 0, red for positive
 * (the token raised the response's probability), blue for negative, full color at ±max|score|.
 */
final class DivergingScale {

    private static final int[] WHITE = {255, 255, 255};
    private static final int[] RED = {214, 39, 40};
    private static final int[] BLUE = {31, 119, 180};

    private DivergingScale() {}

    /** The largest |score|, or 0 for an empty or all-zero row. */
    static double extent(double[] scores) {
        double extent = 0;
        for (double score : scores) {
            extent = Math.max(extent, Math.abs(score));
        }
        return extent;
    }

    /** {r, g, b} for a score, given the extent of its row. */
    static int[] rgb(double score, double extent) {
        if (extent == 0 || score == 0 || Double.isNaN(score)) {
            return WHITE.clone();
        }
        double strength = Math.min(1, Math.abs(score) / extent);
        int[] end = score > 0 ? RED : BLUE;
        int[] color = new int[3];
        for (int c = 0; c < 3; c++) {
            color[c] = (int) Math.round(WHITE[c] + (end[c] - WHITE[c]) * strength);
        }
        return color;
    }

    /** Dark text on light cells, white text on saturated ones. */
    static boolean needsLightText(int[] rgb) {
        return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 140;
    }
}
