package io.explainstream.stream.topology;

import io.explainstream.stream.config.TimestampWindow;
import io.explainstream.stream.config.TopicRetention;
import io.explainstream.stream.config.TopicTimes;
import io.explainstream.stream.output.SourceTimestamp;
import java.time.Clock;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * Checks every record's timestamp against the topic it goes to, then passes it on. Explanations and
 * dead letters keep their events' timestamps, and two things can go wrong with an old one:
 * <ul>
 *   <li>the topic refuses it ({@link TimestampWindow}): the record is written with the time it is
 *       written instead, and counted, since a refused record fails its transaction on every retry and
 *       stops the partition (the event's own time stays in the explanation's event_time, and the
 *       input record's timestamp in the {@link SourceTimestamp} header, which every dead letter has);</li>
 *   <li>it is already past the topic's retention ({@link TopicRetention}): it is written and counted,
 *       as the broker may delete it at once and nothing else would say so.</li>
 * </ul>
 */
final class TimestampWatch implements Processor<Object, Object, Object, Object> {

    private final String topic;
    private final TopicTimes times;
    private final ServiceMetrics metrics;
    private final Clock clock;
    private ProcessorContext<Object, Object> context;

    TimestampWatch(String topic, TopicTimes times, ServiceMetrics metrics, Clock clock) {
        this.topic = topic;
        this.times = times;
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
        long acceptable = times.accepted().acceptable(record.timestamp(), nowMs);
        if (acceptable != record.timestamp()) {
            metrics.timestampMoved(topic, times.accepted(), record.timestamp(), nowMs);
            // Which time range the record belongs to (diff selects by it) is then in a header.
            Record<Object, Object> moved = record.withTimestamp(acceptable);
            SourceTimestamp.mark(moved.headers(), record.timestamp());
            context.forward(moved);
            return;
        }
        if (times.retention().passedBy(record.timestamp(), nowMs)) {
            metrics.pastRetention(topic, times.retention(), record.timestamp(), nowMs);
        }
        context.forward(record);
    }
}
