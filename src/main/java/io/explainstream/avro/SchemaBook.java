package io.explainstream.avro;

import io.explainstream.input.PlainNumber;
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
    /** Every version, soft-deleted ones included (flagged): their numbers are not handed out again. */
    private final Map<String, List<StoredSchema>> subjects = new LinkedHashMap<>();
    private final Map<Integer, String> schemasById = new HashMap<>();
    private final Map<String, Integer> idsBySchema = new HashMap<>();
    private final Map<String, CompatibilityLevel> levels = new HashMap<>();
    private CompatibilityLevel defaultLevel = CompatibilityLevel.BACKWARD;
    /** Ids are never handed out twice, even after the last version of one is deleted for good. */
    private int largestId;

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
        largestId = Math.max(largestId, stored.id());
    }

    synchronized int register(String subject, String schemaText) {
        Schema schema = parse(schemaText);
        String canonical = schema.toString();
        Optional<StoredSchema> existing = find(subject, canonical);
        if (existing.isPresent()) {
            return existing.get().id();
        }
        List<StoredSchema> live = live(subject);
        if (!live.isEmpty()) {
            Schema latest = parse(live.get(live.size() - 1).schema());
            List<String> violations = level(subject).violations(schema, latest);
            if (!violations.isEmpty()) {
                throw new Refusal(409, 409, "Schema being registered is incompatible with an earlier schema for subject \"" + subject
                        + "\" (compatibility " + level(subject) + "), details: " + violations);
            }
        }
        int id = idsBySchema.getOrDefault(canonical, largestId + 1);
        int version = subjects.getOrDefault(subject, List.of()).stream().mapToInt(StoredSchema::version).max().orElse(0) + 1;
        StoredSchema stored = new StoredSchema(subject, version, id, canonical);
        store.append(stored);
        remember(stored);
        return id;
    }

    synchronized StoredSchema lookup(String subject, String schemaText) {
        String canonical = parse(schemaText).toString();
        liveOrRefuse(subject);
        return find(subject, canonical).orElseThrow(() -> new Refusal(404, 40403, "Schema not found"));
    }

    synchronized String schemaById(int id) {
        String schema = schemasById.get(id);
        if (schema == null) {
            throw new Refusal(404, 40403, "Schema " + id + " not found");
        }
        return schema;
    }

    /** The subjects and versions that use a schema id (GET /schemas/ids/{id}/versions). */
    synchronized List<StoredSchema> versionsOfId(int id) {
        schemaById(id);
        return subjects.values().stream().flatMap(List::stream).filter(v -> v.id() == id && !v.deleted()).toList();
    }

    synchronized List<String> subjects(boolean includeDeleted) {
        return subjects.entrySet().stream().filter(e -> includeDeleted || e.getValue().stream().anyMatch(v -> !v.deleted()))
                .map(Map.Entry::getKey).toList();
    }

    synchronized List<Integer> versions(String subject) {
        return liveOrRefuse(subject).stream().map(StoredSchema::version).toList();
    }

    /** A version by number, or the latest for "latest" or -1. */
    synchronized StoredSchema version(String subject, String version) {
        List<StoredSchema> versions = liveOrRefuse(subject);
        if (version.equals("latest") || version.equals("-1")) {
            return versions.get(versions.size() - 1);
        }
        int number = versionNumber(version);
        return versions.stream().filter(v -> v.version() == number).findFirst()
                .orElseThrow(() -> new Refusal(404, 40402, "Version " + version + " not found."));
    }

    /**
     * Deletes a subject: soft (its versions are no longer listed or matched, their ids still
     * resolve), or, once soft-deleted, permanently. Returns the version numbers deleted.
     */
    synchronized List<Integer> deleteSubject(String subject, boolean permanent) {
        List<StoredSchema> all = subjects.get(subject);
        if (all == null) {
            throw new Refusal(404, 40401, "Subject '" + subject + "' not found.");
        }
        List<StoredSchema> live = all.stream().filter(v -> !v.deleted()).toList();
        if (!permanent) {
            if (live.isEmpty()) {
                throw new Refusal(404, 40404, "Subject '" + subject + "' was soft deleted.Set permanent=true to delete permanently");
            }
            live.forEach(this::softDelete);
            return live.stream().map(StoredSchema::version).toList();
        }
        if (!live.isEmpty()) {
            throw new Refusal(404, 40405, "Subject '" + subject + "' was not deleted first before being permanently deleted");
        }
        List<Integer> numbers = all.stream().map(StoredSchema::version).toList();
        List.copyOf(all).forEach(this::removeForGood);
        levels.remove(subject);
        return numbers;
    }

    /** Deletes one version, soft or (once soft-deleted) permanently; returns its number. */
    synchronized int deleteVersion(String subject, String version, boolean permanent) {
        List<StoredSchema> all = subjects.get(subject);
        if (all == null) {
            throw new Refusal(404, 40401, "Subject '" + subject + "' not found.");
        }
        StoredSchema stored;
        if (version.equals("latest") || version.equals("-1")) {
            List<StoredSchema> candidates = permanent ? all : all.stream().filter(v -> !v.deleted()).toList();
            if (candidates.isEmpty()) {
                throw new Refusal(404, 40402, "Version " + version + " not found.");
            }
            stored = candidates.get(candidates.size() - 1);
        } else {
            int number = versionNumber(version);
            stored = all.stream().filter(v -> v.version() == number).findFirst()
                    .orElseThrow(() -> new Refusal(404, 40402, "Version " + version + " not found."));
        }
        if (!permanent && stored.deleted()) {
            throw new Refusal(404, 40406, "Subject '" + subject + "' Version " + stored.version()
                    + " was soft deleted.Set permanent=true to delete permanently");
        }
        if (permanent && !stored.deleted()) {
            throw new Refusal(404, 40407, "Subject '" + subject + "' Version " + stored.version()
                    + " was not deleted first before being permanently deleted");
        }
        if (permanent) {
            removeForGood(stored);
        } else {
            softDelete(stored);
        }
        return stored.version();
    }

    private void softDelete(StoredSchema stored) {
        StoredSchema deleted = stored.asDeleted();
        store.append(deleted);
        List<StoredSchema> versions = subjects.get(stored.subject());
        versions.set(versions.indexOf(stored), deleted);
    }

    private void removeForGood(StoredSchema stored) {
        store.remove(stored);
        List<StoredSchema> versions = subjects.get(stored.subject());
        versions.remove(stored);
        if (versions.isEmpty()) {
            subjects.remove(stored.subject());
        }
        // The id stays resolvable while any other version, even a soft-deleted one, uses it.
        if (subjects.values().stream().flatMap(List::stream).noneMatch(v -> v.id() == stored.id())) {
            schemasById.remove(stored.id());
            idsBySchema.remove(stored.schema());
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

    /** The subject's own level, when one was set. */
    synchronized Optional<CompatibilityLevel> subjectLevel(String subject) {
        return Optional.ofNullable(levels.get(subject));
    }

    synchronized void setLevel(String subject, CompatibilityLevel level) {
        if (subject == null) {
            defaultLevel = level;
        } else {
            levels.put(subject, level);
        }
    }

    /** The versions not soft-deleted; a subject without any is not found, as Confluent answers. */
    private List<StoredSchema> liveOrRefuse(String subject) {
        List<StoredSchema> versions = live(subject);
        if (versions.isEmpty()) {
            throw new Refusal(404, 40401, "Subject '" + subject + "' not found.");
        }
        return versions;
    }

    private List<StoredSchema> live(String subject) {
        return subjects.getOrDefault(subject, List.of()).stream().filter(v -> !v.deleted()).toList();
    }

    private static int versionNumber(String version) {
        try {
            int number = PlainNumber.parseInt(version);
            if (number <= 0) {
                throw new NumberFormatException(version);
            }
            return number;
        } catch (NumberFormatException e) {
            throw new Refusal(422, 42202, "The specified version '" + version + "' is not a valid version id. Allowed values are between"
                    + " [1, 2^31-1] and the string \"latest\"");
        }
    }

    private Optional<StoredSchema> find(String subject, String canonical) {
        return live(subject).stream().filter(v -> v.schema().equals(canonical)).findFirst();
    }

    private static Schema parse(String text) {
        try {
            return new Schema.Parser().parse(text);
        } catch (SchemaParseException | NullPointerException e) {
            throw new Refusal(422, 42201, "Invalid schema: " + e.getMessage());
        }
    }
}
