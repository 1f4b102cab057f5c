package io.explainstream.stream.config;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class TopicCollisionsTest {

    @Test
    void anotherApplicationsInternalTopicThatDiffersOnlyByDotAgainstUnderscoreCollides() {
        List<String> existing = List.of("app.x-batch-store-changelog", "app.x-KSTREAM-REPARTITION-0000000003-repartition", "app_x-own-changelog",
                "app.x.events", "app_xy-batch-store-changelog", "app-x-batch-store-changelog", "other-changelog");
        assertEquals(List.of("app.x-KSTREAM-REPARTITION-0000000003-repartition", "app.x-batch-store-changelog"),
                TopicCollisions.withInternalTopicsOf(existing, "app_x"),
                "not its own topics, not a topic that only begins like the id (app.x.events), not app_xy's or app-x's (a '-' is not a '.')");
        assertEquals(List.of("app_x-own-changelog"), TopicCollisions.withInternalTopicsOf(existing, "app.x"));
        ConfigException refused = assertThrows(ConfigException.class,
                () -> TopicCollisions.requireNone(existing, "app_x", "application.id = app_x", "another application.id"));
        assertEquals("application.id = app_x cannot run beside topic app.x-KSTREAM-REPARTITION-0000000003-repartition (and 1 more): Kafka takes '.' and"
                + " '_' in topic names as the same character, so the internal topics of app_x (app_x-…) would collide with that topic, which another"
                + " application or replay made; give another application.id", refused.getMessage());
        assertDoesNotThrow(() -> TopicCollisions.requireNone(List.of("explainstream.events", "explainstream-batch-store-changelog"), "explainstream",
                "application.id = explainstream", "another application.id"), "an input topic named after the application is no collision");
    }
}
