package io.explainstream.avro;

import java.util.List;

/** Where the built-in registry keeps its schemas so that ids survive restarts. */
public interface SchemaStore extends AutoCloseable {

    /**
     * The state of every version stored so far, in the order they were first appended: a later
     * state of a subject and version (soft-deleted) replaces the earlier, a removed one is absent.
     */
    List<StoredSchema> readAll();

    /** Stores a version, or a new state of it (soft-deleted), durably before the registry answers. */
    void append(StoredSchema schema);

    /** Removes a version for good (a permanent delete), durably before the registry answers. */
    void remove(StoredSchema schema);

    @Override
    void close();
}
