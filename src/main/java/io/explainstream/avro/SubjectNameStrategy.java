package io.explainstream.avro;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import org.apache.avro.Schema;

/** How the registry subject of a record is named: Confluent's three strategies. */
public enum SubjectNameStrategy {
    /** {@code <topic>-value} (or {@code -key}): one schema lineage per topic. The default. */
    TOPIC_NAME,
    /** The record's full name: one lineage per record type, shared across topics. */
    RECORD_NAME,
    /** {@code <topic>-<record full name>}: one lineage per record type per topic. */
    TOPIC_RECORD_NAME;

    public String subject(String topic, boolean isKey, Schema schema) {
        switch (this) {
            case RECORD_NAME:
                return schema.getFullName();
            case TOPIC_RECORD_NAME:
                return topic + "-" + schema.getFullName();
            default:
                return topic + (isKey ? "-key" : "-value");
        }
    }

    /** Parses a configuration value: the enum name or Confluent's class name. */
    public static SubjectNameStrategy parse(String key, String value) {
        String name = value.trim();
        int dot = name.lastIndexOf('.');
        if (dot >= 0) {
            name = name.substring(dot + 1); // io.confluent.kafka.serializers.subject.TopicNameStrategy
        }
        String normalized = name.replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT).replace("_STRATEGY", "").replace("STRATEGY", "");
        for (SubjectNameStrategy strategy : values()) {
            if (strategy.name().equals(normalized)) {
                return strategy;
            }
        }
        throw new IllegalArgumentException(key + " = '" + value + "' is not a subject name strategy (choose one of "
                + Arrays.stream(values()).map(s -> s.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")) + ")");
    }
}
