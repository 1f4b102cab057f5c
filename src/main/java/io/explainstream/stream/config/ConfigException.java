package io.explainstream.stream.config;

/** A configuration value that cannot be used; the message names the key and the value. */
public final class ConfigException extends IllegalArgumentException {

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
