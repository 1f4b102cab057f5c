package io.explainstream.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Quantiles within 1% of the nearest-rank value, and never outside the values added. */
class LogHistogramTest {

    @Test
    void aQuantileIsWithinOnePercentAndNeverBelowTheSmallestOrAboveTheLargestValue() {
        LogHistogram ones = new LogHistogram();
        for (int i = 0; i < 3; i++) {
            ones.add(1.0);
        }
        // Before, the bucket's middle: 0.990 for every quantile of three shares of 1.0 (a hostile test).
        assertEquals(1.0, ones.quantile(0.1), 0);
        assertEquals(1.0, ones.quantile(0.9), 0);
        LogHistogram one = new LogHistogram();
        one.add(0.2173);
        assertEquals(0.2173, one.quantile(0.1), 0, "one value: itself");

        Random random = new Random(5);
        double[] values = new double[1000];
        LogHistogram spread = new LogHistogram();
        for (int i = 0; i < values.length; i++) {
            values[i] = i < 50 ? 0 : Math.exp(random.nextGaussian() * 3);
            spread.add(values[i]);
        }
        Arrays.sort(values);
        for (double q : new double[] {0.01, 0.05, 0.1, 0.5, 0.9, 0.99, 1.0}) {
            double exact = values[(int) Math.max(1, Math.ceil(q * values.length)) - 1];
            assertEquals(exact, spread.quantile(q), 0.01 * exact, "q " + q);
        }
        assertEquals(0, spread.quantile(0.05), 0, "the zeros");
    }

    @Test
    void aHistogramStoredBeforeTheSmallestValueWasKeptAppliesNoLowerBound() throws Exception {
        ObjectMapper json = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES); // as WindowAggregate's codec
        LogHistogram stored = new LogHistogram();
        stored.add(0.5);
        String older = json.writeValueAsString(stored).replace(",\"min\":0.5", "").replace("\"min\":0.5,", "");
        assertTrue(!older.contains("min"), older);
        LogHistogram restored = json.readValue(older, LogHistogram.class);
        restored.add(0.9);
        assertEquals(0, restored.min, 0, "unknown: 0.5 was added before min was kept");
        assertEquals(0.5, restored.quantile(0.5), 0.005, "the older value still reads as itself");
    }
}
