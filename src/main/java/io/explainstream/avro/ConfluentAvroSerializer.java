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

/**
 * Serializes specific or generic Avro records in Confluent's wire format, registering the
 * record's schema under the configured subject (or, with auto-registration off, looking up the id
 * of a schema registered beforehand). Ids are cached by the registry client.
 */
public final class ConfluentAvroSerializer<T extends GenericContainer> implements Serializer<T> {

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
