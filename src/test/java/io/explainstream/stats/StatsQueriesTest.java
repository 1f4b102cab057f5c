package io.explainstream.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The parameters of /api/stats and /api/alerts: every bad one is a 400 with the reason, as on the dashboard's API. */
class StatsQueriesTest {

    private static final Set<String> STATS = Set.of("group", "from", "to", "local");

    @Test
    void anInstantOutsideRecordTimestampsIsABadRequestNotAServerError() {
        Instant now = Instant.parse("2026-12-04T10:00:00Z");
        for (String text : new String[] {"+999999999-12-31T00:00:00Z", "+292278995-01-01T00:00:00Z"}) {
            StatsQueries.BadRequest refused = assertThrows(StatsQueries.BadRequest.class,
                    () -> StatsQueries.time(Map.of("from", text), "from", now, 0));
            assertEquals("from = '" + text + "' is after +292278994-08-17T07:12:55.807Z, the last time a Kafka record can carry", refused.getMessage());
        }
        for (String text : new String[] {"-999999999-01-01T00:00:00Z", "1969-12-31", "-1000000000d"}) {
            StatsQueries.BadRequest refused = assertThrows(StatsQueries.BadRequest.class,
                    () -> StatsQueries.time(Map.of("since", text), "since", now, 0));
            assertEquals("since = '" + text + "' is before 1970-01-01T00:00:00Z, where Kafka's record timestamps start", refused.getMessage());
        }
        assertEquals(0, StatsQueries.time(Map.of("since", "1970-01-01"), "since", now, -1));
        assertEquals(now.toEpochMilli() - 3_600_000, StatsQueries.time(Map.of("since", "-1h"), "since", now, 0));
    }

    @Test
    void aParameterGivenTwiceIsRefusedAndAnEmptyOneIsNotGiven() {
        assertEquals("parameter 'from' is given twice", assertThrows(StatsQueries.BadRequest.class,
                () -> StatsQueries.params("from=-1h&from=-2h", STATS)).getMessage());
        assertEquals(Map.of("to", "-1h"), StatsQueries.params("from=&to=-1h", STATS));
        assertEquals(Map.of(), StatsQueries.params("from=&from=", STATS), "two empty values: none given");
        assertEquals(Map.of("from", "-1h"), StatsQueries.params("from=&from=-1h", STATS), "an empty one and one given: that one");
        assertEquals("unknown parameter 'x' (this endpoint takes from, group, local, to)", assertThrows(StatsQueries.BadRequest.class,
                () -> StatsQueries.params("x=1", STATS)).getMessage());
    }
}
