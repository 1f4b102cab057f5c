package io.explainstream.avro;

/**
 * One registered version: what the registry keeps per subject and version.
 *
 * @param subject the subject
 * @param version 1, 2, … within the subject
 * @param id the global schema id (the same schema under several subjects has one id)
 * @param schema the schema's canonical JSON
 */
public record StoredSchema(String subject, int version, int id, String schema) {}
