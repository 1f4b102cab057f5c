package io.explainstream.stream.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.junit.jupiter.api.Test;

class TimestampWindowTest {

    private static final long DAY = Duration.ofDays(1).toMillis();
    private static final long HOUR = Duration.ofHours(1).toMillis();
    private static final long MINUTE = Duration.ofMinutes(1).toMillis();
    private static final long NOW = Duration.ofDays(20_000).toMillis();

    private static Config config(Map<String, String> entries) {
        return new Config(entries.entrySet().stream().map(e -> new ConfigEntry(e.getKey(), e.getValue())).toList());
    }

    @Test
    void kafkasDefaultsBoundOnlyTheFuture() {
        // Kafka 4: before unlimited (Long.MAX_VALUE), after one hour.
        TimestampWindow window = TimestampWindow.of(config(Map.of("message.timestamp.before.max.ms", Long.toString(Long.MAX_VALUE),
                "message.timestamp.after.max.ms", Long.toString(HOUR), "message.timestamp.type", "CreateTime")));
        assertEquals(new TimestampWindow(Long.MAX_VALUE, HOUR), window);
        assertFalse(window.refuses(0, NOW), "any age");
        assertFalse(window.refuses(NOW + 54 * MINUTE, NOW), "55 minutes ahead is inside the hour less its 5-minute margin");
        assertTrue(window.refuses(NOW + 56 * MINUTE, NOW), "within the margin of the bound: the broker's clock may differ");
        assertEquals("message.timestamp.after.max.ms = 3600000 (1h)", window.described());
    }

    @Test
    void aBoundOnThePastRefusesOldRecordsWithAMarginOfHalfTheBoundAtMostFiveMinutes() {
        TimestampWindow day = TimestampWindow.of(config(Map.of("message.timestamp.before.max.ms", Long.toString(DAY))));
        assertFalse(day.refuses(NOW - DAY + 6 * MINUTE, NOW));
        assertTrue(day.refuses(NOW - DAY + 4 * MINUTE, NOW));
        assertTrue(day.refuses(NOW - 10 * DAY, NOW));
        assertFalse(day.refuses(NOW + 10 * DAY, NOW), "the future is not bounded");
        TimestampWindow minute = new TimestampWindow(MINUTE, Long.MAX_VALUE);
        assertFalse(minute.refuses(NOW - 29_000, NOW));
        assertTrue(minute.refuses(NOW - 31_000, NOW), "half of a short bound");
    }

    @Test
    void logAppendTimeAcceptsAnyAndTheOldDifferenceSettingBoundsBothSides() {
        assertEquals(TimestampWindow.ANY, TimestampWindow.of(config(Map.of("message.timestamp.type", "LogAppendTime",
                "message.timestamp.before.max.ms", "1000"))));
        assertTrue(TimestampWindow.ANY.acceptsAny());
        assertEquals("any timestamp", TimestampWindow.ANY.described());
        TimestampWindow older = TimestampWindow.of(config(Map.of("message.timestamp.difference.max.ms", Long.toString(DAY),
                "message.timestamp.after.max.ms", Long.toString(HOUR))));
        assertEquals(new TimestampWindow(DAY, HOUR, "message.timestamp.difference.max.ms", "message.timestamp.after.max.ms"), older);
        assertEquals("message.timestamp.difference.max.ms = 86400000 (1d), message.timestamp.after.max.ms = 3600000 (1h)", older.described(),
                "each bound named by the setting that sets it");
        // A broker before Kafka 3.6 knows only the one setting for both sides: named once, as its operator knows it.
        assertEquals("message.timestamp.difference.max.ms = 86400000 (1d)",
                TimestampWindow.of(config(Map.of("message.timestamp.difference.max.ms", Long.toString(DAY)))).described());
        assertEquals(TimestampWindow.ANY, TimestampWindow.of(config(Map.of("message.timestamp.before.max.ms", "-1",
                "message.timestamp.after.max.ms", "x"))), "unparsable or negative: no bound");
        assertEquals(TimestampWindow.ANY, TimestampWindow.of(new Config(List.of())));
    }

    @Test
    void howFarAheadATopicsRecordsCanBeStampedIsNoneWhereTheBrokerStampsThem() {
        assertEquals(HOUR, TimestampWindow.aheadOfClock(config(Map.of("message.timestamp.after.max.ms", Long.toString(HOUR)))));
        assertEquals(DAY, TimestampWindow.aheadOfClock(config(Map.of("message.timestamp.difference.max.ms", Long.toString(DAY)))),
                "the older setting bounds the future too");
        assertEquals(Long.MAX_VALUE, TimestampWindow.aheadOfClock(new Config(List.of())));
        // TimestampWindow.of reads such a topic as accepting any timestamp; none of its records is ahead of the clock.
        assertEquals(0, TimestampWindow.aheadOfClock(config(Map.of("message.timestamp.type", "LogAppendTime",
                "message.timestamp.after.max.ms", Long.toString(HOUR)))));
    }

    @Test
    void theEarliestTimeARangesRecordsAreWrittenWithIsTheOldestsUnlessTheBoundMovesIt() {
        TimestampWindow day = TimestampWindow.of(config(Map.of("message.timestamp.before.max.ms", Long.toString(DAY))));
        assertEquals(NOW - HOUR, day.earliestWritten(NOW - HOUR, NOW, NOW), "within the bound: kept");
        assertEquals(NOW, day.earliestWritten(NOW - 10 * DAY, NOW - 9 * DAY, NOW), "all moved: the write time");
        assertEquals(NOW - DAY + 5 * MINUTE, day.earliestWritten(NOW - 10 * DAY, NOW, NOW), "the oldest the bound lets through");
        assertEquals(NOW - 10 * DAY, TimestampWindow.ANY.earliestWritten(NOW - 10 * DAY, NOW, NOW));
        assertEquals("message.timestamp.before.max.ms = 86400000 (1d)", day.beforeDescribed());
    }

    @Test
    void changelogsTakeTheBrokersDefaultsUnderTheTopicPrefixedSettings() {
        Map<String, String> broker = Map.of("log.message.timestamp.before.max.ms", Long.toString(DAY), "log.message.timestamp.after.max.ms",
                Long.toString(HOUR), "log.retention.ms", "1");
        assertEquals(new TimestampWindow(DAY, HOUR), TimestampWindow.ofInternalTopics(broker, Map.of("application.id", "a")));
        assertEquals(new TimestampWindow(Long.MAX_VALUE, HOUR), TimestampWindow.ofInternalTopics(broker,
                Map.of("topic.message.timestamp.before.max.ms", Long.toString(Long.MAX_VALUE))), "the streams setting wins");
        assertEquals(TimestampWindow.ANY, TimestampWindow.ofInternalTopics(Map.of("log.message.timestamp.type", "LogAppendTime",
                "log.message.timestamp.before.max.ms", "1000"), Map.of()));
        assertEquals(TimestampWindow.ANY, TimestampWindow.ofInternalTopics(Map.of(), Map.of()), "not described: no bound known");
    }
}
