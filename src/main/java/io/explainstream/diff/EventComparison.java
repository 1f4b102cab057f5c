package io.explainstream.diff;

import io.explainstream.schema.AttributionMethod;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.PromptSegment;
import io.explainstream.schema.PromptToken;
import io.explainstream.schema.PromptWord;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Compares two explanations of one event with {@link DiffMeasures}: token by token when both have
 * the same prompt tokens, else on words matched by character span (a word covers the same
 * characters whatever the tokenizer made of them).
 */
public final class EventComparison {

    /** The group part of an event that lacks the key. */
    static final String MISSING = "-";

    private final int topK;
    private final List<String> groupBy;

    /**
     * @param topK k of the top-k overlap (at least 1)
     * @param groupBy metadata keys whose values name an event's group; empty: the source model
     */
    public EventComparison(int topK, List<String> groupBy) {
        if (topK < 1) {
            throw new IllegalArgumentException("--top-k = " + topK + " must be at least 1");
        }
        this.topK = topK;
        this.groupBy = List.copyOf(groupBy);
    }

    public int topK() {
        return topK;
    }

    /** A prompt's tokens or words as scored items: a key that matches across sides, the score, whether it was attributed. */
    private record Items(List<Object> keys, double[] scores, boolean[] attributed, List<String> texts) {}

    public EventDiff compare(Explanation replay, Explanation against) {
        EventDiff.Basis basis = sameTokens(replay, against) ? EventDiff.Basis.TOKENS : EventDiff.Basis.WORDS;
        Items newer = basis == EventDiff.Basis.TOKENS ? tokens(replay) : words(replay);
        Items older = basis == EventDiff.Basis.TOKENS ? tokens(against) : words(against);

        List<Integer> newerTop = DiffMeasures.topK(newer.scores(), newer.attributed(), topK);
        List<Integer> olderTop = DiffMeasures.topK(older.scores(), older.attributed(), topK);
        Set<Object> newerKeys = newerTop.stream().map(newer.keys()::get).collect(Collectors.toSet());
        Set<Object> olderKeys = olderTop.stream().map(older.keys()::get).collect(Collectors.toSet());
        OptionalDouble jaccard = DiffMeasures.jaccard(newerKeys, olderKeys);

        Map<Object, Integer> olderIndex = new HashMap<>();
        for (int i = 0; i < older.keys().size(); i++) {
            if (older.attributed()[i]) {
                olderIndex.put(older.keys().get(i), i);
            }
        }
        double[] pairedNew = new double[newer.keys().size()];
        double[] pairedOld = new double[newer.keys().size()];
        int pairs = 0;
        for (int i = 0; i < newer.keys().size(); i++) {
            Integer j = olderIndex.get(newer.keys().get(i));
            if (newer.attributed()[i] && j != null) {
                pairedNew[pairs] = newer.scores()[i];
                pairedOld[pairs] = older.scores()[j];
                pairs++;
            }
        }
        OptionalDouble spearman = DiffMeasures.spearman(java.util.Arrays.copyOf(pairedNew, pairs), java.util.Arrays.copyOf(pairedOld, pairs));

        return new EventDiff(replay.getEventId(), group(against), basis, jaccard, spearman, pairs,
                DiffMeasures.shareChanges(shares(replay), shares(against)), deltaChange(replay, against),
                DiffMeasures.sumChange(replay.getResponseLogprobs(), against.getResponseLogprobs()), replay.getTopSegment(), against.getTopSegment(),
                labels(newer, newerTop), labels(older, olderTop));
    }

    /**
     * How the completeness gap moved. Only integrated gradients has one: the gradient methods
     * write sequence_delta as 0, and a change against that 0 would be the other side's gap.
     */
    private static OptionalDouble deltaChange(Explanation replay, Explanation against) {
        if (replay.getMethod() != AttributionMethod.INTEGRATED_GRADIENTS || against.getMethod() != AttributionMethod.INTEGRATED_GRADIENTS) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(replay.getSequenceDelta() - against.getSequenceDelta());
    }

    /**
     * The event's group: the values of the group-by keys, comma-separated, {@value #MISSING} for a
     * key the event lacks; or its source model. A value that could be read as something else is
     * quoted ({@link #unambiguous}).
     */
    public String group(Explanation explanation) {
        if (groupBy.isEmpty()) {
            return unambiguous(explanation.getSourceModel());
        }
        return groupBy.stream().map(key -> {
            String value = explanation.getMetadata().get(key);
            return value == null ? MISSING : unambiguous(value);
        }).collect(Collectors.joining(","));
    }

    /**
     * A value as a group name: as it is, or in JSON's quotes where it would read as another group:
     * {@link DiffAggregate#ALL}, {@value #MISSING} or {@link DiffAggregate#OTHER_GROUP} (a value "*"
     * merged into all events, and its group vanished from the tables; a value "-" joined the events
     * without the key; "other" would join the groups past the cap), empty, with
     * space at either end (shown as another value's name), with a comma (read as two keys' values)
     * or a quote.
     */
    static String unambiguous(String value) {
        boolean ambiguous = value.isEmpty() || value.equals(DiffAggregate.ALL) || value.equals(MISSING) || value.equals(DiffAggregate.OTHER_GROUP) || value.contains(",") || value.contains("\"")
                || Character.isWhitespace(value.codePointAt(0)) || Character.isWhitespace(value.codePointBefore(value.length()));
        return ambiguous ? com.fasterxml.jackson.databind.node.TextNode.valueOf(value).toString() : value;
    }

    static boolean sameTokens(Explanation a, Explanation b) {
        List<PromptToken> x = a.getPromptTokens();
        List<PromptToken> y = b.getPromptTokens();
        if (x.size() != y.size()) {
            return false;
        }
        for (int i = 0; i < x.size(); i++) {
            if (x.get(i).getId() != y.get(i).getId() || x.get(i).getStart() != y.get(i).getStart() || x.get(i).getEnd() != y.get(i).getEnd()) {
                return false;
            }
        }
        return true;
    }

    private static Items tokens(Explanation e) {
        List<PromptToken> tokens = e.getPromptTokens();
        int n = tokens.size();
        double[] scores = new double[n];
        boolean[] attributed = new boolean[n];
        List<Object> keys = new java.util.ArrayList<>(n);
        List<String> texts = new java.util.ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            keys.add(i);
            scores[i] = e.getSeqAttr().get(i);
            attributed[i] = tokens.get(i).getAttributed();
            texts.add(tokens.get(i).getText() != null ? tokens.get(i).getText() : "#" + i);
        }
        return new Items(keys, scores, attributed, texts);
    }

    /** Words keyed by their character span; a word counts as attributed when any of its tokens is. */
    private static Items words(Explanation e) {
        List<PromptWord> words = e.getWords();
        int n = words.size();
        double[] scores = new double[n];
        boolean[] attributed = new boolean[n];
        List<Object> keys = new java.util.ArrayList<>(n);
        List<String> texts = new java.util.ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            PromptWord word = words.get(i);
            keys.add(word.getStart() + ":" + word.getEnd());
            scores[i] = word.getScore();
            for (int t = word.getTokenStart(); t < word.getTokenEnd(); t++) {
                attributed[i] |= e.getPromptTokens().get(t).getAttributed();
            }
            texts.add(word.getText() != null ? word.getText() : "#" + i);
        }
        return new Items(keys, scores, attributed, texts);
    }

    private static Map<String, Double> shares(Explanation e) {
        Map<String, Double> shares = new LinkedHashMap<>();
        for (PromptSegment segment : e.getSegments()) {
            shares.merge(segment.getName(), segment.getShare(), Double::sum);
        }
        return shares;
    }

    private static List<String> labels(Items items, List<Integer> top) {
        return top.stream().map(i -> String.format(Locale.ROOT, "%s %+.3f", Objects.toString(items.texts().get(i)), items.scores()[i])).toList();
    }
}
