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

    /**
     * Whether {@code value}, parsed from {@code text}, lost the number: a non-zero decimal too
     * small for a double (1e-999) reads as 0, which would turn a tolerance or a threshold off.
     */
    public static boolean underflowed(String text, double value) {
        return value == 0 && text.replaceAll("[eE].*", "").chars().anyMatch(c -> c >= '1' && c <= '9');
    }

    private static void requireWhole(String text) {
        if (!isWhole(text)) {
            throw new NumberFormatException("not a plain whole number: " + text);
        }
    }
}
