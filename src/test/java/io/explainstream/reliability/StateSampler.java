package io.explainstream.reliability;

import io.explainstream.stream.service.ExplainService;
import java.util.Set;
import org.apache.kafka.streams.KafkaStreams;

/** Records every state a running service is seen in, every 10 ms, until the thread is interrupted. */
final class StateSampler {

    private StateSampler() {}

    static Thread start(ExplainService service, Set<KafkaStreams.State> seen) {
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                seen.add(service.state());
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "state-sampler");
        sampler.start();
        return sampler;
    }
}
