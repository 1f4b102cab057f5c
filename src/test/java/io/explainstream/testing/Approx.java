package io.explainstream.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

/** Comparisons of floating-point results within a stated tolerance. */
public final class Approx {

    private Approx() {}

    /** Every element within {@code tolerance} (absolute); the message lists each position that is not. */
    public static void assertArrayClose(String what, double[] expected, double[] actual, double tolerance) {
        assertEquals(expected.length, actual.length, what + " length");
        List<String> differences = new ArrayList<>();
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tolerance)) {
                differences.add(i + ": " + expected[i] + " vs " + actual[i]);
            }
        }
        assertTrue(differences.isEmpty(), what + " differs by more than " + tolerance + " at " + differences);
    }

    /** Within {@code absolute + relative × |expected|}. */
    public static void assertClose(String what, double expected, double actual, double absolute, double relative) {
        double tolerance = absolute + relative * Math.abs(expected);
        assertTrue(Math.abs(expected - actual) <= tolerance, what + ": expected " + expected + ", got " + actual
                + " (difference " + Math.abs(expected - actual) + ", tolerance " + tolerance + ")");
    }
}
