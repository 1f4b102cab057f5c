package io.explainstream.stream.ingest;

/** How input record values are read. */
public enum InputFormat {
    /** Per record: Confluent-framed Avro when the value starts with byte 0, JSON otherwise. */
    AUTO,
    JSON,
    AVRO
}
