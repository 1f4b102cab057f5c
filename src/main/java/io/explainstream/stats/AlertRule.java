package io.explainstream.stats;

import io.explainstream.input.PlainNumber;
import io.explainstream.stream.config.ConfigException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.BiPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code alert.<name>.when = <metric> <op> <number>}, optionally limited to some groups by
 * {@code alert.<name>.group = field=value[,field=value]}: tested on each window when it closes.
 *
 * @param groupFilter group fields and the values a window's group must have; empty: every group
 */
public record AlertRule(String name, String condition, WindowMetric metric, Operator operator, double threshold, Map<String, String> groupFilter) {

    public static final String PREFIX = "alert.";
    /** The metric is anything up to the operator: a named span's name may hold ':', '-', '/' and the like. */
    private static final Pattern CONDITION = Pattern.compile("\\s*([^\\s<>=!]+)\\s*(<=|>=|==|!=|<|>)\\s*(\\S+)\\s*");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]+");

    public AlertRule {
        groupFilter = Map.copyOf(groupFilter);
    }

    /** The comparisons a rule may use. */
    public enum Operator {
        LT("<", (v, t) -> v < t), LE("<=", (v, t) -> v <= t), GT(">", (v, t) -> v > t), GE(">=", (v, t) -> v >= t),
        EQ("==", (v, t) -> v.doubleValue() == t.doubleValue()), NE("!=", (v, t) -> v.doubleValue() != t.doubleValue());

        private final String symbol;
        private final BiPredicate<Double, Double> test;

        Operator(String symbol, BiPredicate<Double, Double> test) {
            this.symbol = symbol;
            this.test = test;
        }

        public String symbol() {
            return symbol;
        }

        static Operator of(String symbol) {
            return Arrays.stream(values()).filter(o -> o.symbol.equals(symbol)).findFirst().orElseThrow();
        }
    }

    /** Whether the rule holds for a window: its group passes the filter and the metric has a value that compares true. */
    boolean firesFor(WindowAggregate aggregate) {
        Map<String, String> group = aggregate.group().map();
        if (!groupFilter.entrySet().stream().allMatch(e -> e.getValue().equals(group.get(e.getKey())))) {
            return false;
        }
        double value = metric.value(aggregate);
        return !Double.isNaN(value) && operator.test.test(value, threshold);
    }

    /**
     * The rules of a configuration: {@code entries} are its keys under {@code alert.}. Every
     * problem fails here, naming the key and the value.
     */
    public static List<AlertRule> fromConfig(Map<String, String> entries, GroupBy groupBy) {
        Map<String, String> when = new TreeMap<>();
        Map<String, String> groups = new TreeMap<>();
        entries.forEach((key, value) -> {
            String rest = key.substring(PREFIX.length());
            int dot = rest.lastIndexOf('.');
            String name = dot < 0 ? "" : rest.substring(0, dot);
            String part = dot < 0 ? rest : rest.substring(dot + 1);
            if (!NAME.matcher(name).matches() || !(part.equals("when") || part.equals("group"))) {
                throw new ConfigException("unknown configuration key '" + key + "': alert rules are alert.<name>.when and alert.<name>.group,"
                        + " with a name of letters, digits, '-' and '_'");
            }
            (part.equals("when") ? when : groups).put(name, value);
        });
        for (String name : groups.keySet()) {
            if (!when.containsKey(name)) {
                throw new ConfigException(PREFIX + name + ".group = '" + groups.get(name) + "' has no rule: " + PREFIX + name + ".when is not set");
            }
        }
        List<AlertRule> rules = new ArrayList<>();
        when.forEach((name, condition) -> rules.add(parse(name, condition, groups.get(name), groupBy)));
        return rules;
    }

    static AlertRule parse(String name, String condition, String groupText, GroupBy groupBy) {
        String key = PREFIX + name + ".when";
        Matcher matcher = CONDITION.matcher(condition);
        if (!matcher.matches()) {
            throw new ConfigException(key + " = '" + condition + "' is not '<metric> <op> <number>' (op one of <, <=, >, >=, ==, !=),"
                    + " for example 'delta.rel.max > 0.1'");
        }
        Optional<WindowMetric> named;
        try {
            named = WindowMetric.byName(matcher.group(1));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key + " = '" + condition + "': " + e.getMessage()); // a bad segment kind
        }
        WindowMetric metric = named.orElseThrow(() -> new ConfigException(key + " = '" + condition
                + "': no window metric '" + matcher.group(1) + "' (metrics: " + WindowMetric.names() + ")"));
        String number = matcher.group(3);
        double threshold;
        try {
            threshold = PlainNumber.parseFinite(number);
        } catch (PlainNumber.Refused e) {
            throw new ConfigException(key + " = '" + condition + "': " + switch (e.problem()) {
                case NOT_A_NUMBER -> "'" + number + "' is not a number";
                case NOT_FINITE -> "the threshold must be a finite number";
                case TOO_SMALL -> "the threshold '" + number + "' is too small to tell from 0";
            });
        }
        return new AlertRule(name, condition.trim(), metric, Operator.of(matcher.group(2)), threshold,
                groupText == null ? Map.of() : groupFilter(PREFIX + name + ".group", groupText, groupBy));
    }

    private static Map<String, String> groupFilter(String key, String text, GroupBy groupBy) {
        Map<String, String> filter = new LinkedHashMap<>();
        for (String pair : text.split(",")) {
            int eq = pair.indexOf('=');
            String field = eq < 0 ? "" : pair.substring(0, eq).trim();
            if (eq < 0 || !groupBy.fields().contains(field)) {
                throw new ConfigException(key + " = '" + text + "': '" + pair.trim() + "' is not field=value with a field of stats.group.by "
                        + groupBy.fields());
            }
            String value = pair.substring(eq + 1).trim();
            if (value.isEmpty() && !field.startsWith(GroupBy.METADATA_PREFIX)) {
                // Only a metadata value can be empty: with any other field the rule would never fire.
                throw new ConfigException(key + " = '" + text + "': '" + pair.trim() + "' has no value, and " + field + " is never empty"
                        + " (an explanation without it is grouped as none)");
            }
            // A window's group has one value per field: a second value would either repeat the first or never match.
            if (filter.putIfAbsent(field, value) != null) {
                throw new ConfigException(key + " = '" + text + "' names the field '" + field + "' twice (a group has one value per field;"
                        + " give one rule per value)");
            }
        }
        return filter;
    }
}
