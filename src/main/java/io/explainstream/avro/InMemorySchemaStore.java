package io.explainstream.avro;

import java.util.ArrayList;
import java.util.List;

/** A store that lives as long as the process: for tests and throwaway registries. */
public final class InMemorySchemaStore implements SchemaStore {

    private final List<StoredSchema> schemas = new ArrayList<>();

    @Override
    public synchronized List<StoredSchema> readAll() {
        return List.copyOf(schemas);
    }

    @Override
    public synchronized void append(StoredSchema schema) {
        schemas.add(schema);
    }

    @Override
    public void close() {}
}
