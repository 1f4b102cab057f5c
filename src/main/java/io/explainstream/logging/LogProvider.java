package io.explainstream.logging;

import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;
import org.slf4j.simple.SimpleLoggerFactory;
import org.slf4j.simple.SimpleServiceProvider;

/**
 * The SLF4J provider of the command-line application: slf4j-simple, with a JSON line format as an
 * option ({@link LogFormat}). {@code Main} selects it through the {@code slf4j.provider} system
 * property, so other JVMs on the same class path (the embedded broker) keep plain slf4j-simple.
 */
public final class LogProvider extends SimpleServiceProvider {

    /** The system property SLF4J reads to choose its provider. */
    public static final String SLF4J_PROVIDER_PROPERTY = "slf4j.provider";
    /** The system property that sets how much SLF4J reports about itself. */
    public static final String SLF4J_VERBOSITY_PROPERTY = "slf4j.internal.verbosity";

    private ILoggerFactory factory;

    @Override
    public void initialize() {
        super.initialize();
        LogFormat format;
        try {
            format = LogFormat.resolve(System.getProperty(LogFormat.SYSTEM_PROPERTY), System.getenv());
        } catch (IllegalArgumentException e) {
            format = LogFormat.TEXT; // Main refuses the value before anything logs; a library user gets text
        }
        LogFormat chosen = format;
        factory = new SimpleLoggerFactory() {
            @Override
            protected Logger createLogger(String name) {
                return new FormattingLogger(name, chosen);
            }
        };
    }

    @Override
    public ILoggerFactory getLoggerFactory() {
        return factory;
    }
}
