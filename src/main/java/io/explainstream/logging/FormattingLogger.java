package io.explainstream.logging;

import java.time.Instant;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.simple.SimpleLogger;

/**
 * slf4j-simple's logger, with its levels and configuration ({@code simplelogger.properties} and
 * the {@code org.slf4j.simpleLogger.*} system properties), that writes JSON lines instead of text
 * when asked to, and writes the messages of {@link QuietMessages} at DEBUG.
 */
final class FormattingLogger extends SimpleLogger {

    private static final long serialVersionUID = 1L;

    private final LogFormat format;

    FormattingLogger(String name, LogFormat format) {
        super(name);
        this.format = format;
    }

    @Override
    protected void handleNormalizedLoggingCall(Level level, Marker marker, String messagePattern, Object[] arguments, Throwable throwable) {
        if (level.toInt() > Level.DEBUG.toInt() && QuietMessages.quiet(getName(), messagePattern, arguments)) {
            if (!isDebugEnabled()) {
                return;
            }
            level = Level.DEBUG;
        }
        if (format == LogFormat.TEXT) {
            super.handleNormalizedLoggingCall(level, marker, messagePattern, arguments, throwable);
            return;
        }
        String message = MessageFormatter.basicArrayFormat(messagePattern, arguments);
        String line = JsonLogLine.format(Instant.now(), level.name(), getName(), Thread.currentThread().getName(), message, throwable);
        // Looked up at each write, as slf4j-simple does, so that a redirected stderr is honoured.
        synchronized (FormattingLogger.class) {
            System.err.println(line);
            System.err.flush();
        }
    }
}
