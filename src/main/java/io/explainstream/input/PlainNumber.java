package io.explainstream.input;

import java.util.regex.Pattern;

/**
 * Numbers as a user types them: ASCII digits, an optional sign, and for decimals a point and an
 * exponent. Java's own parsers accept more (any Unicode digit, {@code 10f}, {@code 0x1p3},
 * {@code NaN}, {@code Infinity}), which would let a typo or a look-alike character through as a
 * different number than the one shown.
 */
public final class PlainNumber {

    private static final Pattern WHOLE = Pattern.compile("[+-]?[0-9]+");
    private static final Pattern DECIMAL = Pattern.compile("[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?");

    private PlainNumber() {}

    public static boolean isWhole(String text) {
        return text != null && WHOLE.matcher(text).matches();
    }

    public static boolean isDecimal(String text) {
        return text != null && DECIMAL.matcher(text).matches();
    }

    /** @throws NumberFormatException for anything but a plain whole number that fits an int */
    public static int parseInt(String text) {
        requireWhole(text);
        return Integer.parseInt(text);
    }

    /** @throws NumberFormatException for anything but a plain whole number that fits a long */
    public static long parseLong(String text) {
        requireWhole(text);
        return Long.parseLong(text);
    }

    /** @throws NumberFormatException for anything but a plain decimal number; one too large for a double is infinite, for the caller to refuse */
    public static double parseDouble(String text) {
        if (!isDecimal(text)) {
            throw new NumberFormatException("not a plain decimal number: " + text);
        }
        return Double.parseDouble(text);
    }

    /** Why a text is not a number a double holds as written; {@link #words()} completes "'text' ...". */
    public enum Problem {
        NOT_A_NUMBER("is not a number"),
        NOT_FINITE("is not a finite number"),
        TOO_SMALL("is too small to tell from 0");

        private final String words;

        Problem(String words) {
            this.words = words;
        }

        public String words() {
            return words;
        }
    }

    /** A text {@link #parseFinite} refuses, and why; the message is the problem's words. */
    public static final class Refused extends NumberFormatException {
        private final Problem problem;

        Refused(Problem problem) {
            super(problem.words());
            this.problem = problem;
        }

        public Problem problem() {
            return problem;
        }
    }

    /**
     * A plain decimal number that a double holds as written: not one too large (infinite), nor a
     * non-zero one too small (1e-999 reads as 0, which would turn a tolerance or a threshold
     * off). -0 is 0: a sign on nothing printed as "-0%".
     *
     * @throws Refused naming the problem
     */
    public static double parseFinite(String text) {
        if (!isDecimal(text)) {
            throw new Refused(Problem.NOT_A_NUMBER);
        }
        double value = Double.parseDouble(text);
        if (!Double.isFinite(value)) {
            throw new Refused(Problem.NOT_FINITE);
        }
        if (value == 0 && text.replaceAll("[eE].*", "").chars().anyMatch(c -> c >= '1' && c <= '9')) {
            throw new Refused(Problem.TOO_SMALL);
        }
        return value + 0.0;
    }

    private static void requireWhole(String text) {
        if (!isWhole(text)) {
            throw new NumberFormatException("not a plain whole number: " + text);
        }
    }
}
