package io.explainstream.avro;

/**
 * A schema registry answered with an error, or could not be reached. Carries the registry's own
 * message and error code (for example 409 / 409 for an incompatible schema).
 */
public final class RegistryException extends RuntimeException {

    private final int status;
    private final int errorCode;

    public RegistryException(int status, int errorCode, String message) {
        super(message);
        this.status = status;
        this.errorCode = errorCode;
    }

    public RegistryException(String message, Throwable cause) {
        super(message, cause);
        this.status = -1;
        this.errorCode = -1;
    }

    /**
     * Whether the registry could not answer (not reached, or a 5xx after the retries), as opposed
     * to answering no: an outage, which says nothing about the record being read or written.
     */
    public boolean unavailable() {
        return status == -1 || status >= 500;
    }

    /** The HTTP status, or -1 when the registry was not reached. */
    public int status() {
        return status;
    }

    /** The registry's error code (Confluent's: 40401 subject not found, 40403 schema not found, 409 incompatible, 42201 invalid schema), or -1. */
    public int errorCode() {
        return errorCode;
    }
}
