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
    void anInstantBeyondEpochMillisecondsIsABadRequestNotAServerError() {
        Instant now = Instant.parse("2026-12-04T10:00:00Z");
        for (String text : new String[] {"+999999999-12-31T00:00:00Z", "-999999999-01-01T00:00:00Z"}) {
            StatsQueries.BadRequest refused = assertThrows(StatsQueries.BadRequest.class,
                    () -> StatsQueries.time(Map.of("from", text), "from", now, 0));
            assertEquals("from = '" + text + "' is beyond what epoch milliseconds can hold", refused.getMessage());
        }
        assertEquals(now.toEpochMilli() - 3_600_000, StatsQueries.time(Map.of("since", "-1h"), "since", now, 0));
    }

    @Test
    void aParameterGivenTwiceIsRefusedAndAnEmptyOneIsNotGiven() {
        assertEquals("parameter 'from' is given twice", assertThrows(StatsQueries.BadRequest.class,
                () -> StatsQueries.params("from=-1h&from=-2h", STATS)).getMessage());
        assertEquals(Map.of("to", "-1h"), StatsQueries.params("from=&to=-1h", STATS));
        assertEquals("unknown parameter 'x' (this endpoint takes from, group, local, to)", assertThrows(StatsQueries.BadRequest.class,
                () -> StatsQueries.params("x=1", STATS)).getMessage());
    }
}
