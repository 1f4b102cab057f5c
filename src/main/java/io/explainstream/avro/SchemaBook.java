package io.explainstream.avro;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;

/**
 * The built-in registry's records: subjects and their versions, global ids, compatibility levels.
 * Ids are assigned per distinct schema (canonical form), as Confluent does, so the same schema
 * under two subjects has one id. Every new version is written to the store before it is visible.
 */
final class SchemaBook {

    /** A refusal with the HTTP status and Confluent error code the REST API answers with. */
    static final class Refusal extends RuntimeException {
        final int status;
        final int errorCode;

        Refusal(int status, int errorCode, String message) {
            super(message);
            this.status = status;
            this.errorCode = errorCode;
        }
    }

    private final SchemaStore store;
    private final Map<String, List<StoredSchema>> subjects = new LinkedHashMap<>();
    private final Map<Integer, String> schemasById = new HashMap<>();
    private final Map<String, Integer> idsBySchema = new HashMap<>();
    private final Map<String, CompatibilityLevel> levels = new HashMap<>();
    private CompatibilityLevel defaultLevel = CompatibilityLevel.BACKWARD;

    SchemaBook(SchemaStore store) {
        this.store = store;
        for (StoredSchema stored : store.readAll()) {
            remember(stored);
        }
    }

    private void remember(StoredSchema stored) {
        subjects.computeIfAbsent(stored.subject(), s -> new ArrayList<>()).add(stored);
        schemasById.put(stored.id(), stored.schema());
        idsBySchema.put(stored.schema(), stored.id());
    }

    synchronized int register(String subject, String schemaText) {
        Schema schema = parse(schemaText);
        String canonical = schema.toString();
        Optional<StoredSchema> existing = find(subject, canonical);
        if (existing.isPresent()) {
            return existing.get().id();
        }
        List<StoredSchema> versions = subjects.getOrDefault(subject, List.of());
        if (!versions.isEmpty()) {
            Schema latest = parse(versions.get(versions.size() - 1).schema());
            List<String> violations = level(subject).violations(schema, latest);
            if (!violations.isEmpty()) {
                throw new Refusal(409, 409, "Schema being registered is incompatible with an earlier schema for subject \"" + subject
                        + "\" (compatibility " + level(subject) + "), details: " + violations);
            }
        }
        int id = idsBySchema.getOrDefault(canonical, schemasById.keySet().stream().mapToInt(Integer::intValue).max().orElse(0) + 1);
        StoredSchema stored = new StoredSchema(subject, versions.size() + 1, id, canonical);
        store.append(stored);
        remember(stored);
        return id;
    }

    synchronized StoredSchema lookup(String subject, String schemaText) {
        String canonical = parse(schemaText).toString();
        if (!subjects.containsKey(subject)) {
            throw new Refusal(404, 40401, "Subject '" + subject + "' not found.");
        }
        return find(subject, canonical).orElseThrow(() -> new Refusal(404, 40403, "Schema not found"));
    }

    synchronized String schemaById(int id) {
        String schema = schemasById.get(id);
        if (schema == null) {
            throw new Refusal(404, 40403, "Schema " + id + " not found");
        }
        return schema;
    }

    synchronized List<String> subjects() {
        return List.copyOf(subjects.keySet());
    }

    synchronized List<Integer> versions(String subject) {
        return versionsOf(subject).stream().map(StoredSchema::version).toList();
    }

    /** A version by number, or the latest for "latest" or -1. */
    synchronized StoredSchema version(String subject, String version) {
        List<StoredSchema> versions = versionsOf(subject);
        if (version.equals("latest") || version.equals("-1")) {
            return versions.get(versions.size() - 1);
        }
        try {
            int number = Integer.parseInt(version);
            return versions.stream().filter(v -> v.version() == number).findFirst()
                    .orElseThrow(() -> new Refusal(404, 40402, "Version " + version + " not found."));
        } catch (NumberFormatException e) {
            throw new Refusal(422, 42202, "The specified version '" + version + "' is not a valid version id.");
        }
    }

    synchronized List<String> compatibilityProblems(String subject, String version, String schemaText) {
        Schema candidate = parse(schemaText);
        Schema existing = parse(version(subject, version).schema());
        return level(subject).violations(candidate, existing);
    }

    synchronized CompatibilityLevel level(String subject) {
        return subject == null ? defaultLevel : levels.getOrDefault(subject, defaultLevel);
    }

    synchronized void setLevel(String subject, CompatibilityLevel level) {
        if (subject == null) {
            defaultLevel = level;
        } else {
            levels.put(subject, level);
        }
    }

    private List<StoredSchema> versionsOf(String subject) {
        List<StoredSchema> versions = subjects.get(subject);
        if (versions == null) {
            throw new Refusal(404, 40401, "Subject '" + subject + "' not found.");
        }
        return versions;
    }

    private Optional<StoredSchema> find(String subject, String canonical) {
        return subjects.getOrDefault(subject, List.of()).stream().filter(v -> v.schema().equals(canonical)).findFirst();
    }

    private static Schema parse(String text) {
        try {
            return new Schema.Parser().parse(text);
        } catch (SchemaParseException | NullPointerException e) {
            throw new Refusal(422, 42201, "Invalid schema: " + e.getMessage());
        }
    }
}
