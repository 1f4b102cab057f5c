package io.explainstream.attribution;

/**
 * Gauss–Legendre nodes and weights (what numpy's {@code leggauss} returns), mapped from [−1, 1]
 * to [0, 1] as Captum does: α = (1 + x) / 2, w = weight / 2.
 */
final class GaussLegendre {

    private static final double TOLERANCE = 1e-15;
    /** Newton converges in two or three steps from the estimate below; this only stops a runaway. */
    private static final int MAX_NEWTON_STEPS = 50;

    private GaussLegendre() {}

    /**
     * {@code n} nodes cost about {@code n²} operations (each Newton step evaluates P_n by its O(n)
     * recurrence, for n/2 nodes); {@code AttributionSettings.STEPS_LIMIT} keeps that under a second.
     */
    static Quadrature onUnitInterval(int n) {
        double[] alphas = new double[n];
        double[] weights = new double[n];
        // The roots are symmetric: find the upper half by Newton's method from Tricomi's
        // asymptotic estimate, whose error is O(n^-4), so Newton needs one or two steps.
        double shrink = 1 - (1 - 1.0 / n) / (8.0 * n * n);
        for (int i = 0; i < (n + 1) / 2; i++) {
            double x = shrink * Math.cos(Math.PI * (4 * i + 3) / (4 * n + 2));
            double derivative = 0;
            for (int step = 0; step < MAX_NEWTON_STEPS; step++) {
                double[] values = legendre(n, x);
                double change = values[0] / values[1];
                x -= change;
                // P_n' at the new x without another O(n) evaluation: one Taylor step, with P_n''
                // from Legendre's equation (1 − x²)P'' = 2xP' − n(n+1)P; what is left is O(change²).
                double xOld = x + change;
                double second = (2 * xOld * values[1] - n * (n + 1.0) * values[0]) / (1 - xOld * xOld);
                derivative = values[1] - second * change;
                if (Math.abs(change) < TOLERANCE) {
                    break;
                }
            }
            double weight = 2 / ((1 - x * x) * derivative * derivative);
            // ascending order, as numpy returns them
            alphas[i] = (1 - x) / 2;
            alphas[n - 1 - i] = (1 + x) / 2;
            weights[i] = weight / 2;
            weights[n - 1 - i] = weight / 2;
        }
        return new Quadrature(alphas, weights);
    }

    /** P_n(x) and P_n'(x) by the three-term recurrence. */
    private static double[] legendre(int n, double x) {
        double previous = 1;
        double current = x;
        if (n == 0) {
            return new double[] {1, 0};
        }
        for (int k = 2; k <= n; k++) {
            double next = ((2 * k - 1) * x * current - (k - 1) * previous) / k;
            previous = current;
            current = next;
        }
        double derivative = n * (x * current - previous) / (x * x - 1);
        return new double[] {current, derivative};
    }
}
