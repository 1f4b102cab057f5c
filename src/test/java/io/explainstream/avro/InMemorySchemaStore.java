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
        for (int i = 0; i < schemas.size(); i++) {
            if (sameVersion(schemas.get(i), schema)) {
                schemas.set(i, schema);
                return;
            }
        }
        schemas.add(schema);
    }

    @Override
    public synchronized void remove(StoredSchema schema) {
        schemas.removeIf(stored -> sameVersion(stored, schema));
    }

    private static boolean sameVersion(StoredSchema a, StoredSchema b) {
        return a.subject().equals(b.subject()) && a.version() == b.version();
    }

    @Override
    public void close() {}
}
