package io.explainstream.avro;

import java.io.IOException;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.Decoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.util.Utf8;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Reads Confluent-framed Avro: fetches the writer schema by the id in the header (cached) and
 * resolves it to the reader schema, so records written with older or newer compatible versions of
 * a schema read as the version this code was built with. For generic records without a reader
 * schema, the writer schema is used as it is.
 */
public final class ConfluentAvroDeserializer<T> implements Deserializer<T> {

    private final SchemaRegistryClient registry;
    private final Schema readerSchema;
    private final boolean specific;

    private ConfluentAvroDeserializer(SchemaRegistryClient registry, Schema readerSchema, boolean specific) {
        this.registry = registry;
        this.readerSchema = readerSchema;
        this.specific = specific;
    }

    /** Reads into a generated class, resolving each writer schema to the class's schema. */
    public static <T extends org.apache.avro.specific.SpecificRecord> ConfluentAvroDeserializer<T> specific(SchemaRegistryClient registry, Class<T> type) {
        return new ConfluentAvroDeserializer<>(registry, SpecificData.get().getSchema(type), true);
    }

    /** Reads generic records, in the given reader schema or, when null, in each writer's own. */
    public static ConfluentAvroDeserializer<org.apache.avro.generic.GenericRecord> generic(SchemaRegistryClient registry, Schema readerSchema) {
        return new ConfluentAvroDeserializer<>(registry, readerSchema, false);
    }

    @Override
    public T deserialize(String topic, byte[] bytes) {
        int id = WireFormat.schemaId(topic, bytes);
        Schema writer;
        try {
            writer = registry.schemaById(id);
        } catch (RegistryException e) {
            if (e.unavailable()) {
                throw e; // an outage, not a bad record: the caller must not treat the bytes as unreadable
            }
            throw new SerializationException("unknown schema id " + id + " on topic " + topic + ": " + e.getMessage(), e);
        }
        Schema reader = readerSchema == null ? writer : readerSchema;
        DatumReader<T> datumReader = specific ? new StrictStringReader<>(writer, reader) : new GenericDatumReader<>(writer, reader);
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(bytes, WireFormat.HEADER_BYTES, bytes.length - WireFormat.HEADER_BYTES, null);
        try {
            T value = datumReader.read(null, decoder);
            if (!decoder.isEnd()) {
                throw new SerializationException("trailing bytes after a " + writer.getFullName() + " record (schema id " + id + ") on topic " + topic);
            }
            return value;
        } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException e) {
            if (e instanceof org.apache.avro.AvroTypeException && writer.getType() == Schema.Type.RECORD && !writer.getFullName().equals(reader.getFullName())) {
                // A well-formed record of another schema (a diff's on the diffs topic), not a damaged one.
                throw new SerializationException("schema id " + id + " on topic " + topic + " is " + writer.getFullName() + ", not " + reader.getFullName(), e);
            }
            throw new SerializationException("truncated or corrupt Avro payload for schema id " + id + " (" + writer.getFullName() + ") on topic "
                    + topic + ": " + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage()), e);
        }
    }

    /**
     * Reads Java strings of generated classes with {@link Utf8Text}: invalid UTF-8 is an error
     * instead of U+FFFD, and an encoded lone surrogate stays one, for the validator to name.
     */
    private static final class StrictStringReader<T> extends SpecificDatumReader<T> {

        StrictStringReader(Schema writer, Schema reader) {
            super(writer, reader, withoutCustomCoders());
        }

        /**
         * Generated classes decode their own strings (customDecode), and Avro's fast reader builds
         * its own decoders: both skip readString, so both are off here. Input events are small
         * beside their attribution, so the slower path costs nothing that shows.
         */
        private static SpecificData withoutCustomCoders() {
            SpecificData data = new SpecificData(StrictStringReader.class.getClassLoader());
            data.setCustomCoders(false);
            data.setFastReaderEnabled(false);
            return data;
        }

        @Override
        protected Object readString(Object old, Schema expected, Decoder in) throws IOException {
            if (findStringClass(expected) != String.class) {
                return super.readString(old, expected, in);
            }
            Utf8 bytes = in.readString(null);
            return Utf8Text.decode(bytes.getBytes(), bytes.getByteLength());
        }
    }
}
