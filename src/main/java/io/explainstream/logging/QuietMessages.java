package io.explainstream.logging;

import java.util.List;
import java.util.regex.Pattern;
import org.slf4j.helpers.MessageFormatter;

/**
 * Library log messages that a user can do nothing about, written at DEBUG instead of their own
 * level. Each is matched by logger and message text, not by silencing a whole logger, so that the
 * same logger's other warnings still reach the operator. The text is matched with the arguments
 * filled in, anywhere in the message: Kafka's clients put a context prefix such as
 * {@code [Consumer clientId=…]} before it, and some pass it already formatted.
 */
final class QuietMessages {

    /** One message: the logger that writes it, a pattern found in its text, and why nobody needs to see it. */
    record Rule(String logger, Pattern message, String why) {}

    static final List<Rule> RULES = List.of(
            new Rule("org.apache.kafka.streams.StreamsConfig", Pattern.compile(Pattern.quote("Processing exception handler is not enabled for the GlobalThread")),
                    "the service sets processing.exception.handler.global.enabled (it has no global stores), but Kafka Streams also builds "
                            + "a configuration for its partition assignor from the consumer's settings, where no setting reaches, and warns again"),
            new Rule("org.apache.kafka.clients.consumer.internals.OffsetFetcherUtils", Pattern.compile(Pattern.quote("Not updating last stable offset for partition")),
                    "a list-offsets answer arrived for a partition the consumer had just unassigned, as replay's planner does on purpose "
                            + "when it reads one partition after the other; nothing is lost"),
            new Rule("org.apache.kafka.clients.producer.internals.Sender",
                    Pattern.compile("Got error produce response with correlation id \\d+ on topic-partition \\S+, retrying \\(\\d+ attempts left\\)\\. "
                            + "Error: (CONCURRENT_TRANSACTIONS|OUT_OF_ORDER_SEQUENCE_NUMBER)$"),
                    "with transactions of version 2 (Kafka 4), the first write of a transaction can reach a partition while the broker still "
                            + "writes the previous transaction's commit markers there: the broker answers CONCURRENT_TRANSACTIONS, the writes "
                            + "already sent behind it OUT_OF_ORDER_SEQUENCE_NUMBER, and the producer sends them again in order. A write that "
                            + "still fails after its retries fails the transaction, which is reported on its own; only the retry is quieted"));

    private QuietMessages() {}

    static boolean quiet(String logger, String messagePattern, Object[] arguments) {
        if (messagePattern == null) {
            return false;
        }
        String message = null;
        for (Rule rule : RULES) {
            if (rule.logger().equals(logger)) {
                if (message == null) {
                    message = MessageFormatter.basicArrayFormat(messagePattern, arguments);
                }
                if (rule.message().matcher(message).find()) {
                    return true;
                }
            }
        }
        return false;
    }
}
