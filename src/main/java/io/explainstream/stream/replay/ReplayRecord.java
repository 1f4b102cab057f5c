package io.explainstream.stream.replay;

import io.explainstream.stream.config.ConfigException;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What the service keeps of a replay id in its replays topic ({@link ReplayLedger}), so that a
 * replay stopped for longer than the brokers keep an idle consumer group's offsets
 * (offsets.retention.minutes, 7 days by default), or whose input topic was deleted, still resumes
 * where it stopped, under its own terms, and reads what its first plan read.
 *
 * @param terms what the replay id stands for, with the start offsets of its first plan
 * @param stopOffsets per partition of the input topic, the first offset not replayed, as first planned
 * @param doneOffsets per partition, the replay group's committed offsets when the record was saved:
 *     where it resumes when the group has lost its own
 * @param inputAheadMs how far ahead of the clock the input topic let records be stamped when the
 *     replay was first planned ({@link Long#MAX_VALUE}: any); empty for a replay recorded before
 *     this was kept. diff reads the output that far before its range.
 * @param released the replay finished with no event in range: its id holds nothing, and takes any terms
 * @param skipped the parts of the range that runs with --allow-gaps skipped as gone, by partition
 *     and first offset, so that a later dry run or run lists them as missing rather than read
 * @param skipsKnown whether {@code skipped} holds every part skipped: false for a replay whose
 *     earlier runs predate this record's keeping them
 * @param finish whether a run has finished the replay: diff says that a comparison with one not
 *     finished (running, or stopped before its end) counts the events it has not reached as one-sided
 */
public record ReplayRecord(ReplayTerms terms, SortedMap<Integer, Long> stopOffsets, SortedMap<Integer, Long> doneOffsets, OptionalLong inputAheadMs,
        boolean released, List<ReplayPlan.Gap> skipped, boolean skipsKnown, Finish finish) {

    /** Whether the replay has finished, as far as its record knows. */
    public enum Finish {
        /** A run explained, dead-lettered or skipped every event of its range. */
        FINISHED,
        /** Running, or stopped before the end of its range. */
        NOT_YET,
        /** Recorded by a version that did not keep it. */
        UNKNOWN
    }

    private static final String FORMAT = "explainstream replay record 1";
    private static final String TERMS = "terms";
    private static final String STOP = "stop.";
    private static final String DONE = "done.";
    private static final String SKIPPED = "skipped.";
    /** Present (any value) in a record that keeps its skipped parts, even when there are none. */
    private static final String SKIPS_KNOWN = "skipped.known";
    /** true or false; absent in a record from before it was kept. */
    private static final String FINISHED = "finished";

    public ReplayRecord {
        Objects.requireNonNull(terms, "terms");
        Objects.requireNonNull(inputAheadMs, "inputAheadMs");
        Objects.requireNonNull(finish, "finish");
        stopOffsets = new TreeMap<>(stopOffsets);
        doneOffsets = new TreeMap<>(doneOffsets);
        skipped = skipped.stream().sorted(Comparator.comparingInt(ReplayPlan.Gap::partition).thenComparingLong(ReplayPlan.Gap::firstOffset)).toList();
    }

    /** A replay about to start: nothing done yet. */
    public static ReplayRecord starting(ReplayTerms terms, Map<Integer, Long> stopOffsets, OptionalLong inputAheadMs) {
        return new ReplayRecord(terms, new TreeMap<>(stopOffsets), new TreeMap<>(terms.startOffsets()), inputAheadMs, false, List.of(), true,
                Finish.NOT_YET);
    }

    /** The same record with the group's committed offsets as they are now. */
    public ReplayRecord withDone(Map<Integer, Long> offsets) {
        return new ReplayRecord(terms, stopOffsets, new TreeMap<>(offsets), inputAheadMs, released, skipped, skipsKnown, finish);
    }

    /** The record of a replay that finished with no event in range. */
    public ReplayRecord asReleased() {
        return new ReplayRecord(terms, stopOffsets, doneOffsets, inputAheadMs, true, skipped, skipsKnown, Finish.FINISHED);
    }

    /**
     * The record of a replay whose earlier runs may have skipped gaps it did not record (it ran
     * before records kept them).
     */
    public ReplayRecord withSkipsUnknown() {
        return new ReplayRecord(terms, stopOffsets, doneOffsets, inputAheadMs, released, skipped, false, finish);
    }

    /** The same record, saying whether the replay has finished. */
    public ReplayRecord withFinish(Finish now) {
        return new ReplayRecord(terms, stopOffsets, doneOffsets, inputAheadMs, released, skipped, skipsKnown, now);
    }

    /**
     * The same record with {@code gaps}, which this run skips with --allow-gaps (parts no earlier
     * run skipped: {@link #notSkipped}), among its skipped parts.
     */
    public ReplayRecord withSkipped(List<ReplayPlan.Gap> gaps) {
        List<ReplayPlan.Gap> merged = new ArrayList<>(skipped);
        gaps.stream().filter(gap -> !skipped.contains(gap)).forEach(merged::add);
        return new ReplayRecord(terms, stopOffsets, doneOffsets, inputAheadMs, released, merged, skipsKnown, finish);
    }

    /**
     * The parts of {@code found} (gone now) that no earlier run skipped: a replay whose committed
     * offset never got past a part it skipped (a partition retention emptied, or one the stream had
     * not reached when the run stopped) finds that part gone again, and it needs no --allow-gaps a
     * second time; what retention deleted beyond it since does.
     */
    public List<ReplayPlan.Gap> notSkipped(List<ReplayPlan.Gap> found) {
        return found.stream().flatMap(gap -> gap.outside(skipped).stream()).toList();
    }

    /**
     * Whether the replay has read nothing of its range at these offsets (its start offsets): it has
     * explained nothing, and may take other terms.
     */
    public boolean nothingReadAt(Map<Integer, Long> offsets) {
        return released || offsets.equals(terms.startOffsets());
    }

    /**
     * As text: the terms' own text under one key, the offsets one key each. Kept as a record
     * value, so it grows with the partitions without a bound but the topic's (max.message.bytes).
     */
    public String encode() {
        Properties properties = new Properties();
        properties.setProperty("format", FORMAT);
        properties.setProperty(TERMS, terms.encode());
        terms.startOffsets().forEach((partition, offset) -> properties.setProperty("start." + partition, Long.toString(offset)));
        stopOffsets.forEach((partition, offset) -> properties.setProperty(STOP + partition, Long.toString(offset)));
        doneOffsets.forEach((partition, offset) -> properties.setProperty(DONE + partition, Long.toString(offset)));
        inputAheadMs.ifPresent(ahead -> properties.setProperty("input.ahead.ms", Long.toString(ahead)));
        properties.setProperty("released", Boolean.toString(released));
        if (skipsKnown) {
            properties.setProperty(SKIPS_KNOWN, "true");
        }
        if (finish != Finish.UNKNOWN) {
            properties.setProperty(FINISHED, Boolean.toString(finish == Finish.FINISHED));
        }
        for (int i = 0; i < skipped.size(); i++) {
            ReplayPlan.Gap gap = skipped.get(i);
            properties.setProperty(SKIPPED + i, gap.partition() + " " + gap.firstOffset() + " " + gap.records() + " " + gap.exact());
        }
        StringWriter text = new StringWriter();
        try {
            properties.store(text, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return text.toString();
    }

    /** Reads {@link #encode()}'s text; refuses any other, naming what it found. */
    public static ReplayRecord decode(String text) {
        Properties properties = new Properties();
        try {
            properties.load(new StringReader(text));
        } catch (IOException | IllegalArgumentException e) {
            throw new ConfigException("the replay's record is not readable: " + e.getMessage(), e);
        }
        if (!FORMAT.equals(properties.getProperty("format"))) {
            throw new ConfigException("the replay's record has format '" + properties.getProperty("format") + "', not '" + FORMAT + "'");
        }
        String termsText = properties.getProperty(TERMS);
        if (termsText == null) {
            throw new ConfigException("the replay's record has no terms");
        }
        try {
            String ahead = properties.getProperty("input.ahead.ms");
            return new ReplayRecord(ReplayTerms.decode(termsText).startingAt(offsets(properties, "start.")), offsets(properties, STOP),
                    offsets(properties, DONE), ahead == null ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(ahead)),
                    Boolean.parseBoolean(properties.getProperty("released")), skipped(properties), properties.containsKey(SKIPS_KNOWN),
                    finish(properties.getProperty(FINISHED)));
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            throw new ConfigException("the replay's record is not readable: " + e.getMessage(), e);
        }
    }

    private static Finish finish(String value) {
        return value == null ? Finish.UNKNOWN : Boolean.parseBoolean(value) ? Finish.FINISHED : Finish.NOT_YET;
    }

    /** The skipped parts, each "partition firstOffset records exact" under its own key. */
    private static List<ReplayPlan.Gap> skipped(Properties properties) {
        List<ReplayPlan.Gap> skipped = new ArrayList<>();
        for (String key : properties.stringPropertyNames()) {
            if (key.startsWith(SKIPPED) && !key.equals(SKIPS_KNOWN)) {
                String[] fields = properties.getProperty(key).split(" ");
                skipped.add(new ReplayPlan.Gap(Integer.parseInt(fields[0]), Long.parseLong(fields[1]), Long.parseLong(fields[2]),
                        Boolean.parseBoolean(fields[3])));
            }
        }
        return skipped;
    }

    private static SortedMap<Integer, Long> offsets(Properties properties, String prefix) {
        SortedMap<Integer, Long> offsets = new TreeMap<>();
        for (String key : properties.stringPropertyNames()) {
            if (key.startsWith(prefix)) {
                offsets.put(Integer.parseInt(key.substring(prefix.length())), Long.parseLong(properties.getProperty(key)));
            }
        }
        return offsets;
    }
}
