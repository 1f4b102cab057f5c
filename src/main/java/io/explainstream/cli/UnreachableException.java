package io.explainstream.cli;

/**
 * A broker or schema registry the command line pointed at could not be reached: reported as one
 * line naming the address (exit 2), like a bad option, since the fix is the same (the address, or
 * starting the service), and a stack trace would only bury it.
 */
final class UnreachableException extends RuntimeException {

    UnreachableException(String message) {
        super(message);
    }
}
