package io.explainstream.diff;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** diff --replay-id with no records names the ids that are there: the first ten of 19 were shown with no word of the rest (a hostile test). */
class OtherReplayIdsTest {

    @Test
    void idsThatDifferOnlyInCaseComeFirstAndTheRestAreCounted() {
        LinkedHashSet<String> ids = new LinkedHashSet<>(IntStream.range(0, 18).mapToObj(i -> "r" + i).toList());
        ids.add("CaseA");
        assertEquals("CaseA, r0, r1, r2, r3, r4, r5, r6, r7, r8 and 9 more", SpillJoin.otherIds(ids, "casea"));
        assertEquals("a, b", SpillJoin.otherIds(new LinkedHashSet<>(List.of("a", "b")), "c"));
        assertEquals("r0, r1, r2, r3, r4, r5, r6, r7, r8, r9", SpillJoin.otherIds(new LinkedHashSet<>(IntStream.range(0, 10).mapToObj(i -> "r" + i)
                .toList()), null), "exactly ten: no 'more'");
    }
}
