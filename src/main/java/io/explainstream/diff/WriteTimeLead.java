package io.explainstream.diff;

import io.explainstream.stream.config.TimestampWindow;
import io.explainstream.stream.output.SourceTimestamp;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;

/**
 * How long before its event's time a record of a topic diff reads may have been written. A record
 * keeps its input record's timestamp unless its topic refuses it; one stamped further ahead of the
 * clock than the topic's {@code message.timestamp.after.max.ms} is written with the time it is
 * written, earlier than its event (whose time is then in its {@link SourceTimestamp} header). So a
 * range's records can sit before the first record stamped {@code --from}. How much earlier is
 * bounded by how far ahead the input topic let its records be stamped (its own bound ahead, or the
 * one a replay recorded when it read the topic, if wider: an operator may have narrowed it since),
 * plus a margin for a service clock behind the broker's. A topic that accepts any timestamp ahead
 * has no such record.
 */
final class WriteTimeLead {

    /** For a service whose clock is behind the brokers'. */
    static final long CLOCK_MARGIN_MS = Duration.ofMinutes(5).toMillis();

    private WriteTimeLead() {}

    /**
     * Per topic read, how long before {@code --from} diff starts reading it: 0, a duration, or
     * {@link Long#MAX_VALUE} (from the beginning: an input topic that bounds nothing ahead, or one
     * that no longer exists, bounds nothing).
     *
     * @param inputTopics the topics whose events the sides explained, each with the bound ahead a
     *     replay recorded when it read it (0: none recorded)
     */
    static Map<String, Long> ofTopics(Admin admin, Collection<String> topicsRead, Map<String, Long> inputTopics) {
        Set<String> all = new LinkedHashSet<>(topicsRead);
        all.addAll(inputTopics.keySet());
        Map<String, Config> configs = configs(admin, all);
        long inputAhead = inputTopics.isEmpty() ? Long.MAX_VALUE : 0;
        for (Map.Entry<String, Long> input : inputTopics.entrySet()) {
            Config config = configs.get(input.getKey());
            long now = config == null ? Long.MAX_VALUE : TimestampWindow.aheadOfClock(config);
            inputAhead = Math.max(inputAhead, Math.max(now, input.getValue()));
        }
        long lead = inputAhead > Long.MAX_VALUE - CLOCK_MARGIN_MS ? Long.MAX_VALUE : inputAhead + CLOCK_MARGIN_MS;
        Map<String, Long> result = new HashMap<>();
        for (String topic : topicsRead) {
            Config config = configs.get(topic);
            boolean movesBack = config == null || TimestampWindow.of(config).afterMaxMs() != Long.MAX_VALUE;
            result.put(topic, movesBack ? lead : 0L);
        }
        return result;
    }

    /** The time to start reading at: {@code fromMs} less the lead; {@link Long#MIN_VALUE}: from the beginning. */
    static long readFrom(long fromMs, long leadMs) {
        return fromMs == Long.MIN_VALUE || leadMs == Long.MAX_VALUE || fromMs - leadMs < 0 ? Long.MIN_VALUE : fromMs - leadMs;
    }

    /**
     * The topics' configurations (defaults included). A topic that does not exist, or whose
     * configuration this client may not read, has none, and is then taken to bound nothing.
     */
    private static Map<String, Config> configs(Admin admin, Set<String> topics) {
        Map<ConfigResource, KafkaFuture<Config>> futures = new HashMap<>();
        topics.forEach(t -> futures.put(new ConfigResource(ConfigResource.Type.TOPIC, t), null));
        futures.putAll(admin.describeConfigs(futures.keySet()).values());
        Map<String, Config> result = new HashMap<>();
        try {
            for (Map.Entry<ConfigResource, KafkaFuture<Config>> entry : futures.entrySet()) {
                try {
                    result.put(entry.getKey().name(), entry.getValue().get(60, TimeUnit.SECONDS));
                } catch (ExecutionException e) {
                    // Read from further back instead: slower, never short.
                }
            }
        } catch (TimeoutException e) {
            throw new IllegalStateException("cannot read the topics' configurations: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        return result;
    }
}
