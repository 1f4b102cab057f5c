package io.explainstream.stream.replay;

import io.explainstream.stream.config.ConfigException;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a replay id stands for: the records it replays (input topic and time range), where their
 * explanations go, and the settings that decide an explanation's numbers. A replay id that has
 * explained anything keeps its terms: run again with others, it would resume with the earlier
 * run's offsets and outcome counts under a range they do not belong to, or put two kinds of
 * explanation under one id, and {@code diff --replay-id} would compare a mixture.
 *
 * @param inputTopic the topic replayed
 * @param outputTopic where the explanations go
 * @param fromMs first instant included
 * @param toMs first instant excluded
 * @param settings configuration keys and values that decide the explanations' numbers
 * @param startOffsets per partition, the offset the replay was started from: while the replay
 *     group's committed offsets are still these, it has explained nothing
 */
public record ReplayTerms(String inputTopic, String outputTopic, long fromMs, long toMs, SortedMap<String, String> settings,
        SortedMap<Integer, Long> startOffsets) {

    private static final String FORMAT = "explainstream replay terms 1";
    /**
     * Settings added to the terms after replays had recorded theirs, with what those replays did:
     * before replay.out.of.order.ms, a replay stopped at the first record stamped --to or later.
     */
    private static final Map<String, String> BEFORE_RECORDED = Map.of("replay.out.of.order.ms", "0");
    private static final String SETTING = "setting.";
    private static final String START = "start.";

    public ReplayTerms {
        Objects.requireNonNull(inputTopic, "inputTopic");
        Objects.requireNonNull(outputTopic, "outputTopic");
        settings = new TreeMap<>(settings);
        startOffsets = new TreeMap<>(startOffsets);
    }

    /**
     * What differs from {@code earlier} in what the replay explains and how, one line each, as
     * "earlier; this run" (the start offsets are not compared: retention moves them between runs).
     */
    public List<String> differencesFrom(ReplayTerms earlier) {
        List<String> differences = new ArrayList<>();
        if (fromMs != earlier.fromMs || toMs != earlier.toMs) {
            // Relative times (-1h, now) name another range at every run: the same command run again to
            // resume was refused with no word of how to give the first range (a hostile test).
            differences.add("range [" + Instant.ofEpochMilli(earlier.fromMs) + ", " + Instant.ofEpochMilli(earlier.toMs) + "); this run: ["
                    + Instant.ofEpochMilli(fromMs) + ", " + Instant.ofEpochMilli(toMs) + ") (times relative to now, such as -1h and now, name another"
                    + " range at each run: resume with --from " + Instant.ofEpochMilli(earlier.fromMs) + " --to " + Instant.ofEpochMilli(earlier.toMs) + ")");
        }
        if (!inputTopic.equals(earlier.inputTopic)) {
            differences.add("--input-topic " + earlier.inputTopic + "; this run: " + inputTopic);
        }
        if (!outputTopic.equals(earlier.outputTopic)) {
            differences.add("--output-topic " + earlier.outputTopic + "; this run: " + outputTopic);
        }
        TreeSet<String> keys = new TreeSet<>(settings.keySet());
        keys.addAll(earlier.settings.keySet());
        for (String key : keys) {
            String before = earlier.settings.getOrDefault(key, BEFORE_RECORDED.get(key));
            String now = settings.getOrDefault(key, BEFORE_RECORDED.get(key));
            if (!java.util.Objects.equals(before, now)) {
                // A setting one side does not use (integrated gradients' steps under attribution.method = gradient) has no value there.
                differences.add(key + " = " + quoted(before, "not used then") + "; this run: " + quoted(now, "not used"));
            }
        }
        return differences;
    }

    private static String quoted(String value, String absent) {
        return value == null ? "(" + absent + ")" : "'" + value + "'";
    }

    /**
     * The terms as text, to keep where the replay's offsets are kept (an offset's metadata): all
     * but the start offsets, which are kept as the offsets themselves.
     */
    public String encode() {
        Properties properties = new Properties();
        properties.setProperty("format", FORMAT);
        properties.setProperty("input.topic", inputTopic);
        properties.setProperty("output.topic", outputTopic);
        properties.setProperty("from.ms", Long.toString(fromMs));
        properties.setProperty("to.ms", Long.toString(toMs));
        settings.forEach((key, value) -> properties.setProperty(SETTING + key, value));
        // Not the start offsets: the text is an offset's metadata, which brokers bound
        // (offset.metadata.max.bytes, 4096 bytes by default), and a topic may have hundreds of partitions.
        StringWriter text = new StringWriter();
        try {
            properties.store(text, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Properties.store writes the date as a comment: drop it, so equal terms are equal text.
        return text.toString().lines().filter(line -> !line.startsWith("#")).reduce("", (all, line) -> all + line + "\n");
    }

    /**
     * Reads {@link #encode()}'s text, with no start offsets (those of terms recorded before they
     * were kept apart); refuses any other text (a ConfigException: the user can give another replay
     * id), naming what it found.
     */
    public static ReplayTerms decode(String text) {
        Properties properties = new Properties();
        try {
            properties.load(new StringReader(text));
        } catch (IOException | IllegalArgumentException e) {
            throw new ConfigException("the replay's recorded terms are not readable: " + e.getMessage(), e);
        }
        if (!FORMAT.equals(properties.getProperty("format"))) {
            throw new ConfigException("the replay's recorded terms have format '" + properties.getProperty("format") + "', not '" + FORMAT + "'");
        }
        SortedMap<String, String> settings = new TreeMap<>();
        SortedMap<Integer, Long> starts = new TreeMap<>();
        try {
            for (String key : properties.stringPropertyNames()) {
                if (key.startsWith(SETTING)) {
                    settings.put(key.substring(SETTING.length()), properties.getProperty(key));
                } else if (key.startsWith(START)) {
                    starts.put(Integer.parseInt(key.substring(START.length())), Long.parseLong(properties.getProperty(key)));
                }
            }
            return new ReplayTerms(properties.getProperty("input.topic", ""), properties.getProperty("output.topic", ""),
                    Long.parseLong(properties.getProperty("from.ms")), Long.parseLong(properties.getProperty("to.ms")), settings, starts);
        } catch (NumberFormatException e) {
            throw new ConfigException("the replay's recorded terms are not readable: " + e.getMessage(), e);
        }
    }

    /** The same terms with the start offsets of a plan. */
    public ReplayTerms startingAt(Map<Integer, Long> offsets) {
        return new ReplayTerms(inputTopic, outputTopic, fromMs, toMs, settings, new TreeMap<>(offsets));
    }
}
