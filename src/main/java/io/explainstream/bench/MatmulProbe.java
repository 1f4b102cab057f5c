package io.explainstream.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/** The machine's limit as the model sees it: square float matrix products in the same engine, threads and device. */
public final class MatmulProbe {

    private MatmulProbe() {}

    /**
     * GFLOP/s of n×n by n×n products, best of five runs of three products each after a warm-up
     * (one small product alone underestimates the rate: thread wake-up is part of its time).
     */
    public static double gflops(Device device, DataType dtype, int n) {
        try (NDManager manager = NDManager.newBaseManager(device, "PyTorch")) {
            NDArray a = manager.randomUniform(-1, 1, new Shape(n, n)).toType(dtype, false);
            NDArray b = manager.randomUniform(-1, 1, new Shape(n, n)).toType(dtype, false);
            a.matMul(b).sum().getFloat();
            double best = Double.MAX_VALUE;
            for (int run = 0; run < 5; run++) {
                try (NDManager step = manager.newSubManager()) {
                    long started = System.nanoTime();
                    for (int i = 0; i < 3; i++) {
                        NDArray product = a.matMul(b);
                        product.attach(step);
                        product.get(0, 0).toType(DataType.FLOAT32, false).getFloat(); // waits for the result
                    }
                    best = Math.min(best, (System.nanoTime() - started) / 3e9);
                }
            }
            return 2.0 * n * n * n / best / 1e9;
        }
    }
}
