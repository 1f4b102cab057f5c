package io.explainstream.stats;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One statistics group: the values of the group-by fields. As text (the record key of the stats
 * topic, the {@code group} parameter of /api/stats): {@code field=value} pairs joined by commas,
 * with {@code %}, {@code ,} and {@code =} in values percent-encoded.
 */
public record GroupKey(List<String> fields, List<String> values) {

    public GroupKey {
        fields = List.copyOf(fields);
        values = List.copyOf(values);
        if (fields.size() != values.size()) {
            throw new IllegalArgumentException("group fields " + fields + " and values " + values + " differ in number");
        }
    }

    public String text() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < fields.size(); i++) {
            if (i > 0) {
                text.append(',');
            }
            text.append(fields.get(i)).append('=').append(escape(values.get(i)));
        }
        return text.toString();
    }

    public Map<String, String> map() {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < fields.size(); i++) {
            map.put(fields.get(i), values.get(i));
        }
        return map;
    }

    /**
     * Reads {@link #text()}.
     *
     * @throws IllegalArgumentException naming the text when a pair has no '=' or a bad escape
     */
    public static GroupKey parse(String text) {
        List<String> fields = new ArrayList<>();
        List<String> values = new ArrayList<>();
        for (String pair : text.split(",", -1)) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("group '" + text + "' is not field=value pairs joined by commas");
            }
            fields.add(pair.substring(0, eq));
            values.add(unescape(text, pair.substring(eq + 1)));
        }
        return new GroupKey(fields, values);
    }

    private static String escape(String value) {
        return value.replace("%", "%25").replace(",", "%2C").replace("=", "%3D");
    }

    private static String unescape(String text, String value) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '%') {
                String code = i + 3 <= value.length() ? value.substring(i + 1, i + 3).toUpperCase() : "";
                switch (code) {
                    case "25" -> out.append('%');
                    case "2C" -> out.append(',');
                    case "3D" -> out.append('=');
                    default -> throw new IllegalArgumentException("group '" + text + "' has a bad escape at '" + value.substring(i) + "'");
                }
                i += 2;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
