package io.explainstream.stream.config;

import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Metadata keys that become labels of the event counters ({@code metrics.metadata.labels}). They
 * are checked with the rest of the configuration, so that a key that cannot be a Prometheus label
 * fails at start and not at the first event.
 */
public final class MetricLabels {

    /** The label that carries the source model. */
    public static final String MODEL = "model";
    /** Labels the metrics use themselves, and Prometheus' own. */
    private static final Set<String> RESERVED = Set.of(MODEL, "stage", "reason", "tier", "le", "quantile", "instance", "job");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    private MetricLabels() {}

    /**
     * Parses a comma-separated list of metadata keys, as the configuration gives it.
     *
     * @throws IllegalArgumentException naming the key that cannot be a label
     */
    public static List<String> parse(String commaSeparated) {
        List<String> keys = Arrays.stream(commaSeparated.split(",")).map(String::trim).filter(key -> !key.isEmpty()).toList();
        names(keys);
        return keys;
    }

    /**
     * Metadata key → label name, checked: valid Prometheus names, none reserved, no two keys on one
     * name. A key that is not a valid name is written with underscores ({@code app.name} becomes
     * {@code app_name}).
     */
    public static Map<String, String> names(List<String> keys) {
        Map<String, String> names = new LinkedHashMap<>();
        Set<String> taken = new HashSet<>();
        for (String key : keys) {
            String name = key.replaceAll("[^a-zA-Z0-9_]", "_");
            if (!LABEL_NAME.matcher(name).matches() || name.startsWith("__")) {
                throw new IllegalArgumentException("metadata key '" + key + "' cannot be a metrics label (use letters, digits and _, not first a digit)");
            }
            if (RESERVED.contains(name.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("metadata key '" + key + "' would be the label '" + name + "', which the metrics use themselves");
            }
            if (!taken.add(name) || names.containsKey(key)) {
                throw new IllegalArgumentException("metadata key '" + key + "' is listed twice (or as another key with the same label '" + name + "')");
            }
            names.put(key, name);
        }
        return names;
    }
}
