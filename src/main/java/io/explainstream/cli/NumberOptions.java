package io.explainstream.cli;

import io.explainstream.input.PlainNumber;
import picocli.CommandLine;

/**
 * Number options read as every other number a user types (plain ASCII decimals, see
 * {@link PlainNumber}): picocli's own converters take any Unicode digit and Java's float
 * suffixes, and a double option would take NaN and Infinity.
 */
final class NumberOptions {

    private NumberOptions() {}

    /** Registers the converters on {@code commandLine} and every subcommand it has now. */
    static CommandLine register(CommandLine commandLine) {
        return commandLine
                .registerConverter(Integer.class, NumberOptions::integer)
                .registerConverter(int.class, NumberOptions::integer)
                .registerConverter(Long.class, NumberOptions::whole)
                .registerConverter(long.class, NumberOptions::whole)
                .registerConverter(Double.class, NumberOptions::finite)
                .registerConverter(double.class, NumberOptions::finite);
    }

    private static Integer integer(String text) {
        try {
            return PlainNumber.parseInt(text);
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + text + "' is not an int");
        }
    }

    private static Long whole(String text) {
        try {
            return PlainNumber.parseLong(text);
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + text + "' is not a long");
        }
    }

    private static Double finite(String text) {
        try {
            return PlainNumber.parseFinite(text);
        } catch (PlainNumber.Refused e) {
            throw new CommandLine.TypeConversionException("'" + text + "' " + e.getMessage());
        }
    }
}
