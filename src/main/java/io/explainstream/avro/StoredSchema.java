package io.explainstream.avro;

/**
 * One registered version: what the registry keeps per subject and version.
 *
 * @param subject the subject
 * @param version 1, 2, … within the subject
 * @param id the global schema id (the same schema under several subjects has one id)
 * @param schema the schema's canonical JSON
 * @param deleted soft-deleted: no longer listed, looked up or compared against, but its id still
 *     resolves, so records written with it stay readable (Confluent's soft delete)
 */
public record StoredSchema(String subject, int version, int id, String schema, boolean deleted) {

    public StoredSchema(String subject, int version, int id, String schema) {
        this(subject, version, id, schema, false);
    }

    public StoredSchema asDeleted() {
        return new StoredSchema(subject, version, id, schema, true);
    }
}
