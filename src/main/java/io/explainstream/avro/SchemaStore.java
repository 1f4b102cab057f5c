package io.explainstream.avro;

import java.util.List;

/** Where the built-in registry keeps its schemas so that ids survive restarts. */
public interface SchemaStore extends AutoCloseable {

    /** Every version stored so far, in the order they were appended. */
    List<StoredSchema> readAll();

    /** Stores a new version durably before the registry answers. */
    void append(StoredSchema schema);

    @Override
    void close();
}
