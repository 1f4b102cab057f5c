package io.explainstream.attribution;

/**
 * Gauss–Legendre nodes and weights (what numpy's {@code leggauss} returns), mapped from [−1, 1]
 * to [0, 1] as Captum does: α = (1 + x) / 2, w = weight / 2.
 */
final class GaussLegendre {

    private static final double TOLERANCE = 1e-15;

    private GaussLegendre() {}

    static Quadrature onUnitInterval(int n) {
        double[] alphas = new double[n];
        double[] weights = new double[n];
        // The roots are symmetric: find the upper half by Newton's method from Tricomi's estimate.
        for (int i = 0; i < (n + 1) / 2; i++) {
            double x = Math.cos(Math.PI * (i + 0.75) / (n + 0.5));
            double derivative;
            while (true) {
                double[] values = legendre(n, x);
                derivative = values[1];
                double step = values[0] / derivative;
                x -= step;
                if (Math.abs(step) < TOLERANCE) {
                    derivative = legendre(n, x)[1];
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
