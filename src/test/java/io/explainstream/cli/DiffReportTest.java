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
            String row = DiffReport.row(name, d, 24);
            p10Ends.add(Columns.width(row.substring(0, row.indexOf("-0.2500") + "-0.2500".length())));
        }
        assertEquals(1, p10Ends.size(), "p10 ends in one column on every row: " + p10Ends);
        Set<Integer> headerEnds = new TreeSet<>();
        for (String title : List.of("all events", "group 中文アプリ", "group \uD83C\uDDEB\uD83C\uDDF7")) {
            String header = DiffReport.header(title, 24);
            headerEnds.add(Columns.width(header.substring(0, header.indexOf("p10") + 3)));
        }
        assertEquals(p10Ends, headerEnds, "the header's p10 ends where the rows' numbers end");
    }

    /**
     * A segment name longer than the 24-column cell (a retrieved document's title) widens every
     * table's name column up to 40 columns, so that its row lines up with the others; a longer one
     * is cut there with an ellipsis. Before, such a row pushed its numbers out.
     */
    @Test
    void aLongSegmentOrGroupNameWidensTheNameColumnUpToFortyAndIsCutPastThat() {
        DiffAggregate.Distribution d = new DiffAggregate.Distribution(7, -0.25, 0.5, 0.75);
        String longName = "share doc:quarterly-report-2026-annex-中文"; // 42 columns
        List<String> rowNames = List.of("jaccard", "share doc:policy-handbook-v2", "share user");
        int columns = DiffReport.nameColumns(List.of("all events", "group app"), rowNames);
        assertEquals(28, columns, "the widest row name, share doc:policy-handbook-v2");
        assertEquals(24, DiffReport.nameColumns(List.of("all events"), List.of("jaccard")), "at least 24");
        assertEquals(29, DiffReport.nameColumns(List.of("group an-application-name-x1234"), List.of("jaccard")), "a group title, less the indent");
        int widest = DiffReport.nameColumns(List.of("all events"), List.of(longName, "jaccard"));
        assertEquals(40, widest, "at most 40");
        Set<Integer> p10Ends = new TreeSet<>();
        for (String name : List.of(longName, "jaccard", "share doc:policy-handbook-v2")) {
            String row = DiffReport.row(name, d, widest);
            p10Ends.add(Columns.width(row.substring(0, row.indexOf("-0.2500") + "-0.2500".length())));
        }
        String header = DiffReport.header("group " + "x".repeat(60), widest);
        p10Ends.add(Columns.width(header.substring(0, header.indexOf("p10") + 3)));
        assertEquals(Set.of(2 + 40 + 1 + 9), p10Ends, "every row and the header end p10 in one column");
        String cut = DiffReport.row(longName, d, widest);
        assertEquals("  share doc:quarterly-report-2026-annex-… ", cut.substring(0, cut.indexOf('…') + 2), "cut on a whole character, ellipsis last");
    }
}
