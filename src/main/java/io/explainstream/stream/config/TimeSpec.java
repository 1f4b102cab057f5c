package io.explainstream.stream.config;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Instants on the command line: ISO-8601 ({@code 2026-11-28T00:00:00Z}, {@code 2026-11-28}), {@code now}, or relative ({@code -3d}, {@code -12h}, {@code -30m}, {@code -45s}, {@code -2w}). */
public final class TimeSpec {

    private static final Pattern RELATIVE = Pattern.compile("([+-]?)(\\d+)([smhdw])");

    private TimeSpec() {}

    /** The last instant a Kafka record's timestamp (epoch milliseconds in a long) can hold. */
    private static final Instant LAST_RECORD_TIME = Instant.ofEpochMilli(Long.MAX_VALUE);

    /**
     * A time to compare with Kafka's record timestamps, which are epoch milliseconds from 1970 on: a
     * time outside them would match no record, or reach the broker as a wrapped number. Rounded up
     * to the millisecond ({@link #toNextMillisecond}).
     */
    public static Instant parseRecordTime(String option, String text, Instant now) {
        // "now" and times relative to it count from the millisecond now is in: "now" is not in the future.
        Instant instant = toNextMillisecond(parse(option, text, now.truncatedTo(java.time.temporal.ChronoUnit.MILLIS)));
        if (instant.isBefore(Instant.EPOCH)) {
            throw new ConfigException(option + " = '" + text + "' is before 1970-01-01T00:00:00Z, where Kafka's record timestamps start");
        }
        if (instant.isAfter(LAST_RECORD_TIME)) {
            throw new ConfigException(option + " = '" + text + "' is after " + LAST_RECORD_TIME + ", the last time a Kafka record can carry");
        }
        return instant;
    }

    /**
     * Record timestamps are whole milliseconds, so for a range [from, to) over them an instant
     * between two milliseconds is the later one: t ≥ 00:00:00.0000001 holds from t = 00:00:00.001,
     * and t < 00:05:00.0000001 holds up to t = 00:05:00.000. Cut to the millisecond instead, an
     * event stamped before --from was replayed and one before --to was left out (a hostile test).
     */
    static Instant toNextMillisecond(Instant instant) {
        Instant millisecond = instant.truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        return millisecond.equals(instant) ? instant : millisecond.plusMillis(1);
    }

    public static Instant parse(String option, String text, Instant now) {
        String value = text.trim();
        if (value.equalsIgnoreCase("now")) {
            return now;
        }
        Matcher relative = RELATIVE.matcher(value);
        if (relative.matches()) {
            try {
                long amount = Long.parseLong(relative.group(2));
                Duration duration = switch (relative.group(3)) {
                    case "s" -> Duration.ofSeconds(amount);
                    case "m" -> Duration.ofMinutes(amount);
                    case "h" -> Duration.ofHours(amount);
                    case "d" -> Duration.ofDays(amount);
                    default -> Duration.ofDays(Math.multiplyExact(7, amount));
                };
                return relative.group(1).equals("+") ? now.plus(duration) : now.minus(duration);
            } catch (NumberFormatException | ArithmeticException | java.time.DateTimeException e) {
                // More than a long holds, or an instant beyond the year ±1,000,000,000.
                throw new ConfigException(option + " = '" + text + "' is further from now than a time can be; give a date instead (2026-11-28)");
            }
        }
        try {
            return Instant.parse(value);
        } catch (DateTimeParseException notInstant) {
            try {
                return LocalDate.parse(value).atStartOfDay(ZoneOffset.UTC).toInstant();
            } catch (DateTimeParseException notDate) {
                throw new ConfigException(option + " = '" + text + "' is not a time: use an ISO-8601 instant (2026-11-28T00:00:00Z), a date"
                        + " (2026-11-28, UTC), now, or a duration before now such as -3d, -12h, -30m");
            }
        }
    }
}
