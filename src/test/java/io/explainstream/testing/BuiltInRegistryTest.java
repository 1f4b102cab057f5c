package io.explainstream.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.explainstream.schema.Explanation;
import java.util.List;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A static BuiltInRegistry serves the whole class; one in an instance field gives each test an empty registry. */
class BuiltInRegistryTest {

    @RegisterExtension
    static final BuiltInRegistry SHARED = new BuiltInRegistry();

    @RegisterExtension
    final BuiltInRegistry own = new BuiltInRegistry();

    @RepeatedTest(2)
    void theSharedRegistryKeepsWhatEarlierTestsRegisteredAndTheOwnOneStartsEmpty(RepetitionInfo repetition) {
        SHARED.client().register("shared-" + repetition.getCurrentRepetition() + "-value", Explanation.getClassSchema());
        assertEquals(repetition.getCurrentRepetition(), SHARED.client().subjects().size(), "the subjects of this and the earlier tests");
        assertEquals(List.of(), own.client().subjects(), "a registry of this test's own");
        own.client().register("own-value", Explanation.getClassSchema());
    }

    @Test
    void aStoppedRegistryIsNotUsedByMistake() {
        own.stop();
        assertEquals("the built-in registry is not running: register BuiltInRegistry with @RegisterExtension",
                assertThrows(IllegalStateException.class, own::client).getMessage());
    }
}
