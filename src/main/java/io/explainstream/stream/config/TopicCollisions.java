package io.explainstream.stream.config;

import java.util.Collection;
import java.util.List;

/**
 * Kafka takes '.' and '_' in a topic name as the same character (a topic's metrics are named with
 * '.' turned into '_') and refuses to create a topic whose name differs from an existing one's only
 * there. Kafka Streams names its internal topics after {@code application.id}, so of two
 * application ids that differ only by '.' against '_' (replays {@code a.b} and {@code a_b}), the
 * second cannot make its topics: its stream thread failed on every try, replaced for ever, and the
 * replay never ended (a hostile test). Checked before the application starts instead.
 */
public final class TopicCollisions {

    private TopicCollisions() {}

    /**
     * Refuses to start application {@code applicationId} where an existing topic, not its own, has
     * a name in its internal topics' namespace up to '.' and '_'.
     *
     * @param existing the cluster's topics
     * @param named the setting that chose the application id, with its value, as the user gave it ("--replay-id = a_b")
     * @param remedy what to give instead ("another --replay-id")
     * @throws ConfigException naming the first colliding topic
     */
    public static void requireNone(Collection<String> existing, String applicationId, String named, String remedy) {
        List<String> colliding = withInternalTopicsOf(existing, applicationId);
        if (!colliding.isEmpty()) {
            throw new ConfigException(named + " cannot run beside topic " + colliding.get(0) + (colliding.size() > 1 ? " (and " + (colliding.size() - 1)
                    + " more)" : "") + ": Kafka takes '.' and '_' in topic names as the same character, so the internal topics of " + applicationId
                    + " (" + applicationId + "-…) would collide with that topic, which another application or replay made; give " + remedy);
        }
    }

    /**
     * The existing internal topics of another application whose names fall in {@code applicationId}'s
     * internal topics' namespace once '.' is taken as '_'. Internal topics end in "-changelog" or
     * "-repartition"; other topics that merely begin like the id (an input topic
     * "explainstream.events" beside application id "explainstream") are no concern.
     */
    static List<String> withInternalTopicsOf(Collection<String> existing, String applicationId) {
        String prefix = applicationId + "-";
        String namespace = asMetricName(prefix);
        return existing.stream()
                .filter(topic -> topic.endsWith("-changelog") || topic.endsWith("-repartition"))
                .filter(topic -> asMetricName(topic).startsWith(namespace) && !topic.startsWith(prefix))
                .sorted()
                .toList();
    }

    private static String asMetricName(String topic) {
        return topic.replace('.', '_');
    }
}
