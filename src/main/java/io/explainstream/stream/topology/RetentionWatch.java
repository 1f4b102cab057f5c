package io.explainstream.stream.topology;

import io.explainstream.stream.config.TopicRetention;
import java.time.Clock;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * Passes every record on to its topic, and counts those written already past the topic's
 * retention ({@link TopicRetention}): an explanation of an event older than the output topic keeps
 * records is written and committed, then deleted by the broker, and without this count nothing
 * would say so (the event counts as explained everywhere else).
 */
final class RetentionWatch implements Processor<Object, Object, Object, Object> {

    private final String topic;
    private final TopicRetention retention;
    private final ServiceMetrics metrics;
    private final Clock clock;
    private ProcessorContext<Object, Object> context;

    RetentionWatch(String topic, TopicRetention retention, ServiceMetrics metrics, Clock clock) {
        this.topic = topic;
        this.retention = retention;
        this.metrics = metrics;
        this.clock = clock;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
    }

    @Override
    public void process(Record<Object, Object> record) {
        long nowMs = clock.millis();
        if (retention.passedBy(record.timestamp(), nowMs)) {
            metrics.pastRetention(topic, retention, record.timestamp(), nowMs);
        }
        context.forward(record);
    }
}
