package io.explainstream.logging;

import java.util.Locale;
import java.util.Map;

/**
 * How log lines are written to standard error: {@link #TEXT}, slf4j-simple's lines for people, or
 * {@link #JSON}, one object per line for log shippers and dashboards. Logging starts before the
 * configuration file is read, so the format comes from the environment
 * ({@code EXPLAINSTREAM_LOG_FORMAT}) or the system property {@code explainstream.log.format}.
 */
public enum LogFormat {
    TEXT,
    JSON;

    public static final String ENVIRONMENT_VARIABLE = "EXPLAINSTREAM_LOG_FORMAT";
    public static final String SYSTEM_PROPERTY = "explainstream.log.format";

    /** The system property wins over the environment; neither set means text. */
    public static LogFormat resolve(String systemProperty, Map<String, String> environment) {
        if (systemProperty != null) {
            return parse(SYSTEM_PROPERTY, systemProperty);
        }
        String value = environment.get(ENVIRONMENT_VARIABLE);
        return value == null || value.isBlank() ? TEXT : parse(ENVIRONMENT_VARIABLE, value);
    }

    /** @param source the name the value was given under, for the error message */
    public static LogFormat parse(String source, String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "text" -> TEXT;
            case "json" -> JSON;
            default -> throw new IllegalArgumentException(source + " = '" + value + "' is not a log format (use text or json)");
        };
    }
}
