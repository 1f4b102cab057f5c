package io.explainstream.logging;

import java.util.List;

/**
 * Library log messages that a user can do nothing about, written at DEBUG instead of their own
 * level. Each is matched by logger and message text, not by silencing a whole logger, so that the
 * same logger's other warnings still reach the operator. (Kafka's clients put a context prefix such
 * as {@code [Consumer clientId=…]} before the message: the text is looked for anywhere in it.)
 */
final class QuietMessages {

    /** One message: the logger that writes it, a part of its pattern, and why nobody needs to see it. */
    record Rule(String logger, String messagePart, String why) {}

    static final List<Rule> RULES = List.of(
            new Rule("org.apache.kafka.streams.StreamsConfig", "Processing exception handler is not enabled for the GlobalThread",
                    "the service sets processing.exception.handler.global.enabled (it has no global stores), but Kafka Streams also builds "
                            + "a configuration for its partition assignor from the consumer's settings, where no setting reaches, and warns again"),
            new Rule("org.apache.kafka.clients.consumer.internals.OffsetFetcherUtils", "Not updating last stable offset for partition",
                    "a list-offsets answer arrived for a partition the consumer had just unassigned, as replay's planner does on purpose "
                            + "when it reads one partition after the other; nothing is lost"));

    private QuietMessages() {}

    static boolean quiet(String logger, String messagePattern) {
        if (messagePattern == null) {
            return false;
        }
        for (Rule rule : RULES) {
            if (rule.logger().equals(logger) && messagePattern.contains(rule.messagePart())) {
                return true;
            }
        }
        return false;
    }
}
