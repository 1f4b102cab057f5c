package io.explainstream.stream.config;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as people write them in a properties file: {@code 500ms}, {@code 30s}, {@code 1m}, {@code 2h}, {@code 1d}, or ISO-8601 {@code PT1M}. */
public final class DurationText {

    private static final Pattern SHORT = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

    private DurationText() {}

    public static Duration parse(String key, String text, boolean zeroAllowed) {
        String value = text.trim().toLowerCase(Locale.ROOT);
        Duration duration;
        Matcher matcher = SHORT.matcher(value);
        if (matcher.matches()) {
            try {
                long amount = Long.parseLong(matcher.group(1));
                duration = switch (matcher.group(2)) {
                    case "ms" -> Duration.ofMillis(amount);
                    case "s" -> Duration.ofSeconds(amount);
                    case "m" -> Duration.ofMinutes(amount);
                    case "h" -> Duration.ofHours(amount);
                    default -> Duration.ofDays(amount);
                };
            } catch (NumberFormatException | ArithmeticException e) {
                throw tooLong(key, text);
            }
        } else {
            try {
                duration = Duration.parse(text.trim().toUpperCase(Locale.ROOT));
            } catch (DateTimeParseException e) {
                throw new ConfigException(key + " = '" + text + "' is not a duration (for example 500ms, 30s, 1m, 2h, 1d or PT1M)");
            }
        }
        if (duration.isNegative() || (!zeroAllowed && duration.isZero())) {
            throw new ConfigException(key + " = '" + text + "' must be " + (zeroAllowed ? "zero or more" : "positive"));
        }
        // Kafka Streams counts windows, grace and punctuation in whole milliseconds: PT0.0001S
        // would be a window of 0 ms (a division by zero in the windows' processor at the first
        // event) and an emit interval Kafka refuses, each failing the stream thread again and again.
        if (duration.getNano() % 1_000_000 != 0) {
            throw new ConfigException(key + " = '" + text + "' must be a whole number of milliseconds");
        }
        if (duration.compareTo(LONGEST) > 0) {
            throw tooLong(key, text);
        }
        return duration;
    }

    /**
     * Longer is refused: Kafka Streams adds durations to the clock (a punctuation's next time, a
     * window's end plus grace), and one near Long.MAX_VALUE ms overflowed there (a punctuation due
     * at every poll, a clean stop that timed out) or in the check of window + grace.
     */
    private static final Duration LONGEST = Duration.ofDays(36_500);

    private static ConfigException tooLong(String key, String text) {
        return new ConfigException(key + " = '" + text + "' is too long (at most 36500d, 100 years)");
    }

    public static String format(Duration duration) {
        long ms = duration.toMillis();
        if (ms % 86_400_000 == 0) {
            return ms / 86_400_000 + "d";
        }
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }
}
