package io.explainstream.stream.config;

import java.util.Collection;

/** The known name closest to a misspelt one, for "did you mean" in an error. */
final class Nearest {

    private Nearest() {}

    /**
     * "; did you mean NAME?" for the known name fewest single-character edits away, when that is
     * at most a quarter of the name's length (at least 2); otherwise the empty string.
     */
    static String suggestion(String name, Collection<String> known, String prefix) {
        String best = null;
        int bestDistance = Math.max(2, name.length() / 4) + 1;
        for (String candidate : known.stream().sorted().toList()) {
            int distance = distance(name, candidate);
            if (distance < bestDistance) {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best == null ? "" : "; did you mean " + prefix + best + "?";
    }

    /** Levenshtein distance: insertions, deletions and substitutions of one character. */
    static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
