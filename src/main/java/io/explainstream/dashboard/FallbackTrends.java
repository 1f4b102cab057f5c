package io.explainstream.dashboard;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The statistics topic's trends and alerts once it has given a window; until then (the topic does
 * not exist because the service runs with stats.enabled=false or has not started, or it holds no
 * window since --from) the trends the dashboard computes from the explanations in its memory,
 * labelled as such: {@code source} is {@code memory} and {@code fallback} says why.
 */
final class FallbackTrends implements TrendSource {

    private final TopicTrends topic;
    private final InMemoryTrends memory;

    FallbackTrends(TopicTrends topic, InMemoryTrends memory) {
        this.topic = topic;
        this.memory = memory;
    }

    @Override
    public ObjectNode stats(TrendQuery query) {
        return topic.hasWindows() ? topic.stats(query) : labelled(memory.stats(query));
    }

    @Override
    public ObjectNode alerts(TrendQuery query) {
        // Alerts follow the trends: the memory's rules are not the service's, and mixing them would mislead.
        return topic.hasWindows() ? topic.alerts(query) : labelled(memory.alerts(query));
    }

    @Override
    public ObjectNode describe() {
        ObjectNode about = JsonNodeFactory.instance.objectNode();
        about.put("trends_source", topic.hasWindows() ? TopicTrends.SOURCE : InMemoryTrends.SOURCE);
        about.put("stats_topic", topic.statsTopic());
        about.put("alerts_topic", topic.alertsTopic());
        about.put("stats_topic_state", topic.statsTopicState().name().toLowerCase(java.util.Locale.ROOT));
        if (!topic.hasWindows()) {
            about.put("trends_fallback", reason());
        }
        return about;
    }

    private ObjectNode labelled(ObjectNode answer) {
        answer.put("fallback", reason());
        return answer;
    }

    /** Why the trends are not the topic's, in a sentence for the page. */
    String reason() {
        String name = topic.statsTopic();
        return switch (topic.statsTopicState()) {
            case UNKNOWN -> "the statistics topic " + name + " has not been looked up yet";
            case MISSING -> "the statistics topic " + name + " does not exist (the service runs with stats.enabled=false, or has not started)";
            case EMPTY, READING -> "the statistics topic " + name + " has no window since the dashboard's --from yet (a window is first published up to stats.emit.interval after its first event)";
        };
    }
}
