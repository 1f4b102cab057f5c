package io.explainstream.attribution;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;

/** Small float64 tensors of known values, for the closed-form tests of the method on toy functions. */
final class ToyTensors {

    private ToyTensors() {}

    /** @return (count, L, H) float64, the values as given */
    static NDArray tensor(NDManager manager, double[][][] values) {
        int length = values[0].length;
        int hidden = values[0][0].length;
        double[] flat = new double[values.length * length * hidden];
        for (int a = 0; a < values.length; a++) {
            for (int i = 0; i < length; i++) {
                System.arraycopy(values[a][i], 0, flat, (a * length + i) * hidden, hidden);
            }
        }
        return manager.create(flat, new Shape(values.length, length, hidden));
    }

    /** (count, length, hidden) values drawn uniformly from [low, high). */
    static double[][][] uniform(Random random, int count, int length, int hidden, double low, double high) {
        double[][][] values = new double[count][length][hidden];
        for (double[][] matrix : values) {
            for (double[] row : matrix) {
                for (int d = 0; d < hidden; d++) {
                    row[d] = low + (high - low) * random.nextDouble();
                }
            }
        }
        return values;
    }
}
