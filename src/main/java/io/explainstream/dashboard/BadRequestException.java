package io.explainstream.dashboard;

/** A request the API cannot answer as asked: answered 400 with this message as the reason. */
final class BadRequestException extends RuntimeException {
    BadRequestException(String reason) {
        super(reason);
    }
}
