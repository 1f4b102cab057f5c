package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.explainstream.diff.DiffAggregate;
import io.explainstream.diff.DiffRecords;
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

    /**
     * The HTML page's group tables are HTML tables with whole names, so that a browser lines up
     * their columns (helper-76: the text table in a pre shifted the rows of 🇫🇷 and 文書 names in
     * Chromium, and cut long names at 40 columns with no way to read them whole).
     */
    @Test
    void theHtmlPagesGroupTablesAreTablesWithWholeNames() {
        io.explainstream.diff.EventComparison comparison = new io.explainstream.diff.EventComparison(5, List.of("app"));
        DiffAggregate aggregate = new DiffAggregate(3);
        String longSegment = "文書:猫の話と犬の話についての長い長い文書のタイトル-2026";
        for (String app : List.of("中文アプリ", "\uD83C\uDDEB\uD83C\uDDF7 app", "中文アプリ")) {
            io.explainstream.schema.Explanation explanation = io.explainstream.schema.Explanation.newBuilder(DiffRecords.explanation("e-" + app.length(),
                    List.of(new DiffRecords.Tok(1, "▁a", 0, 1, true, 0), new DiffRecords.Tok(2, "▁b", 1, 2, true, 0)), new double[] {0.5, 0.5},
                    new int[] {1, 2}, List.of(new DiffRecords.Seg(longSegment, 1.0)), longSegment, 0.0, List.of(-1.0)))
                    .setMetadata(java.util.Map.of("app", app)).build();
            aggregate.joined(comparison.compare(explanation, explanation), explanation, explanation);
        }
        String html = DiffReport.htmlTables(aggregate);
        assertEquals(3, html.split("<table class=\"summary\">", -1).length - 1, "all events and two groups: " + html);
        org.junit.jupiter.api.Assertions.assertTrue(html.contains("<th>group 中文アプリ</th><th>p10</th>"), html);
        org.junit.jupiter.api.Assertions.assertTrue(html.contains("<th>group \uD83C\uDDEB\uD83C\uDDF7 app</th>"), html);
        org.junit.jupiter.api.Assertions.assertTrue(html.contains("<tr><td>share " + longSegment + "</td><td class=\"num\">"), "the whole name: " + html);
        org.junit.jupiter.api.Assertions.assertTrue(html.contains("<tr><td>change</td><td class=\"num\">+0.0000</td><td class=\"num\">+0.0000</td>"
                + "<td class=\"num\">+0.0000</td><td class=\"num\">3</td></tr>"), html);
    }
}
