package io.explainstream.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;
import org.junit.jupiter.api.Test;

/**
 * stats.max.groups across a change of owner: a window processor that starts on stores another one
 * filled (a new owner after restoring the changelogs, or the same processor revived after an
 * aborted transaction) counts the groups the open windows already hold, once. TopologyTestDriver
 * cannot hand state to a second task, so this drives the processor with Kafka's
 * MockProcessorContext on in-memory stores; StatsTopologyTest covers the cap end to end.
 */
class GroupCapRestoreTest {

    private static final long T0 = Instant.parse("2026-11-29T10:00:00Z").toEpochMilli();
    private static final StatsSettings SETTINGS = StatsFixture.settings(Duration.ofMinutes(1), Duration.ofSeconds(30), Duration.ofSeconds(10), 3,
            List.of());

    @Test
    void aProcessorOnRestoredStoresCountsTheGroupsTheOpenWindowsHoldOnceEvenWhenInitedTwice() {
        MockProcessorContext<String, byte[]> context = new MockProcessorContext<>();
        context.setCurrentSystemTimeMs(T0 + 10_000);
        context.setCurrentStreamTimeMs(T0 + 4_000);
        WindowStore<String, byte[]> windows = Stores.windowStoreBuilder(Stores.inMemoryWindowStore(WindowProcessor.WINDOWS_STORE,
                Duration.ofDays(1), Duration.ofMinutes(1), false), Serdes.String(), Serdes.ByteArray()).withLoggingDisabled().build();
        KeyValueStore<String, Long> open = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(WindowProcessor.OPEN_STORE), Serdes.String(),
                Serdes.Long()).withLoggingDisabled().build();
        WindowStore<String, byte[]> alerts = Stores.windowStoreBuilder(Stores.inMemoryWindowStore(WindowProcessor.ALERTS_STORE,
                Duration.ofDays(1), Duration.ofMillis(1), false), Serdes.String(), Serdes.ByteArray()).withLoggingDisabled().build();
        for (var store : List.of(windows, open, alerts)) {
            store.init(context.getStateStoreContext(), store);
            context.addStateStore(store);
        }
        StatsMetrics metrics = new StatsMetrics(new SimpleMeterRegistry());

        WindowProcessor first = processor(metrics);
        first.init(context);
        first.process(observation("a", T0 + 1_000));
        first.process(observation("b", T0 + 2_000));
        assertEquals(List.of(), context.forwarded(WindowProcessor.OVERFLOW_SINK), "two groups of three");

        // The new owner, then the same one inited again: neither starts from an empty window nor counts a and b twice.
        WindowProcessor next = processor(metrics);
        next.init(context);
        next.init(context);
        next.process(observation("a", T0 + 3_000));
        assertEquals(List.of(), context.forwarded(WindowProcessor.OVERFLOW_SINK), "a already has the window");
        next.process(observation("c", T0 + 4_000));
        assertEquals(List.of(), context.forwarded(WindowProcessor.OVERFLOW_SINK), "c is the third group of three (a and b counted once)");
        next.process(observation("d", T0 + 4_500));
        List<MockProcessorContext.CapturedForward<? extends String, ? extends byte[]>> overflow = context.forwarded(WindowProcessor.OVERFLOW_SINK);
        assertEquals(1, overflow.size(), "d is the fourth group (a and b counted at all)");
        assertEquals("source_model=_other,metadata.application=_other", overflow.get(0).record().key());
        assertEquals(2, WindowAggregate.fromBytes(windows.fetch(group("a"), T0)).events);
        assertEquals(1, WindowAggregate.fromBytes(windows.fetch(group("c"), T0)).events);
    }

    private static WindowProcessor processor(StatsMetrics metrics) {
        return new WindowProcessor(SETTINGS, (topic, stats) -> new byte[0], (topic, alert) -> new byte[0], metrics, io.explainstream.stream.config.TimestampWindow.ANY);
    }

    private static String group(String application) {
        return new GroupKey(StatsFixture.GROUP_BY.fields(), List.of("stories260K", application)).text();
    }

    private static Record<String, byte[]> observation(String application, long eventTimeMs) {
        Observation observation = new Observation(Observation.Kind.EXPLANATION, application + eventTimeMs, eventTimeMs, "gradient", false, false, false,
                false, 10, 1_500, null, null, null, null);
        return new Record<>(group(application), observation.toBytes(), eventTimeMs);
    }
}
