package io.explainstream.avro;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericContainer;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serializes specific or generic Avro records in Confluent's wire format, registering the
 * record's schema under the configured subject (or, with auto-registration off, looking up the id
 * of a schema registered beforehand). Ids are cached by the registry client.
 */
public final class ConfluentAvroSerializer<T extends GenericContainer> implements Serializer<T> {

    private static final Logger LOG = LoggerFactory.getLogger(ConfluentAvroSerializer.class);

    private final SchemaRegistryClient registry;
    private final SubjectNameStrategy strategy;
    private final boolean autoRegister;
    private final boolean isKey;

    public ConfluentAvroSerializer(SchemaRegistryClient registry, SubjectNameStrategy strategy, boolean autoRegister, boolean isKey) {
        this.registry = registry;
        this.strategy = strategy;
        this.autoRegister = autoRegister;
        this.isKey = isKey;
    }

    @Override
    public byte[] serialize(String topic, T record) {
        if (record == null) {
            return null;
        }
        Schema schema = record.getSchema();
        String subject = strategy.subject(topic, isKey, schema);
        int id;
        try {
            id = autoRegister ? registry.register(subject, schema) : registry.lookup(subject, schema);
        } catch (RegistryException e) {
            throw new SerializationException("cannot get a schema id for subject " + subject + ": " + e.getMessage(), e);
        }
        return WireFormat.frame(id, encode(record, schema));
    }

    /**
     * Checks, before anything is written, that the subject of {@code topic}'s values takes
     * {@code schema}: registers it (with auto-registration) or looks it up (without). Call it at
     * start: without it, a missing subject or a refused schema only shows on the first write, and
     * then on every write after, as a stream thread replaced again and again.
     *
     * @return the schema id, or -1 when the registry could not be reached: an outage says nothing
     *     about the subject, so the service starts and its writes wait for the registry, retrying
     * @throws IllegalArgumentException when the registry answers no (the subject does not exist,
     *     holds no such schema, or refuses it as incompatible), with the registry's own message
     */
    public int checkSubject(String topic, Schema schema) {
        String subject = strategy.subject(topic, isKey, schema);
        try {
            return autoRegister ? registry.register(subject, schema) : registry.lookup(subject, schema);
        } catch (RegistryException e) {
            if (e.unavailable()) {
                LOG.warn("cannot check subject {} at the schema registry now ({}); writes will wait for it", subject, e.getMessage());
                return -1;
            }
            String hint = autoRegister
                    ? "the registry refuses to register " + schema.getFullName() + " under it (auto.register.schemas=true)"
                    : "auto.register.schemas=false, so " + schema.getFullName() + " must be registered under it beforehand, as published"
                            + " in schemas/" + schema.getName() + ".avsc";
            throw new IllegalArgumentException("output subject " + subject + " cannot be used: " + hint + ": " + e.getMessage(), e);
        }
    }

    private static byte[] encode(GenericContainer record, Schema schema) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
        DatumWriter<Object> writer = record instanceof SpecificRecord ? new SpecificDatumWriter<>(schema) : new GenericDatumWriter<>(schema);
        try {
            writer.write(record, encoder);
            encoder.flush();
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("cannot encode a " + schema.getFullName() + " record: " + e.getMessage(), e);
        }
        return out.toByteArray();
    }
}
