package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.explainstream.diff.DiffAggregate;
import io.explainstream.text.Columns;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class DiffReportTest {

    /**
     * A group or segment named in CJK or with an emoji: the numbers after it start in one terminal
     * column, as they did not when the names were padded in UTF-16 units.
     */
    @Test
    void theTablesLineUpInTerminalColumnsWhateverTheScriptOfTheNames() {
        DiffAggregate.Distribution d = new DiffAggregate.Distribution(7, -0.25, 0.5, 0.75);
        Set<Integer> p10Ends = new TreeSet<>();
        for (String name : List.of("share user", "share doc:中文", "share \uD83D\uDC69\u200D\uD83D\uDCBB", "share cafe\u0301", "jaccard")) {
            String row = DiffReport.row(name, d);
            p10Ends.add(Columns.width(row.substring(0, row.indexOf("-0.2500") + "-0.2500".length())));
        }
        assertEquals(1, p10Ends.size(), "p10 ends in one column on every row: " + p10Ends);
        Set<Integer> headerEnds = new TreeSet<>();
        for (String title : List.of("all events", "group 中文アプリ", "group \uD83C\uDDEB\uD83C\uDDF7")) {
            String header = DiffReport.header(title);
            headerEnds.add(Columns.width(header.substring(0, header.indexOf("p10") + 3)));
        }
        assertEquals(p10Ends, headerEnds, "the header's p10 ends where the rows' numbers end");
    }
}
