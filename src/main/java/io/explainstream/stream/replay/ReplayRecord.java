package io.explainstream.stream.replay;

import io.explainstream.stream.config.ConfigException;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
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
 */
public record ReplayRecord(ReplayTerms terms, SortedMap<Integer, Long> stopOffsets, SortedMap<Integer, Long> doneOffsets, OptionalLong inputAheadMs,
        boolean released) {

    private static final String FORMAT = "explainstream replay record 1";
    private static final String TERMS = "terms";
    private static final String STOP = "stop.";
    private static final String DONE = "done.";

    public ReplayRecord {
        Objects.requireNonNull(terms, "terms");
        Objects.requireNonNull(inputAheadMs, "inputAheadMs");
        stopOffsets = new TreeMap<>(stopOffsets);
        doneOffsets = new TreeMap<>(doneOffsets);
    }

    /** A replay about to start: nothing done yet. */
    public static ReplayRecord starting(ReplayTerms terms, Map<Integer, Long> stopOffsets, OptionalLong inputAheadMs) {
        return new ReplayRecord(terms, new TreeMap<>(stopOffsets), new TreeMap<>(terms.startOffsets()), inputAheadMs, false);
    }

    /** The same record with the group's committed offsets as they are now. */
    public ReplayRecord withDone(Map<Integer, Long> offsets) {
        return new ReplayRecord(terms, stopOffsets, new TreeMap<>(offsets), inputAheadMs, released);
    }

    /** The record of a replay that finished with no event in range. */
    public ReplayRecord asReleased() {
        return new ReplayRecord(terms, stopOffsets, doneOffsets, inputAheadMs, true);
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
                    Boolean.parseBoolean(properties.getProperty("released")));
        } catch (NumberFormatException e) {
            throw new ConfigException("the replay's record is not readable: " + e.getMessage(), e);
        }
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
