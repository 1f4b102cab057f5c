package io.explainstream.testing;

import io.explainstream.TestData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

/**
 * Reading across schema versions, as producers and consumers on different releases do: the
 * released schemas are in schemas/released/.
 */
public final class SchemaVersions {

    private SchemaVersions() {}

    /** Avro binary of a record, written with its class's (current) schema. */
    public static <T extends SpecificRecord> byte[] encode(T record) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
        new SpecificDatumWriter<T>(record.getSchema()).write(record, encoder);
        encoder.flush();
        return bytes.toByteArray();
    }

    public static Schema released(String file) throws IOException {
        return new Schema.Parser().parse(TestData.repo().resolve("schemas/released/" + file).toFile());
    }

    /** What a consumer still on {@code older} reads from bytes written with {@code writer}. */
    public static GenericRecord readAsOlder(byte[] bytes, Schema writer, Schema older) throws IOException {
        return new GenericDatumReader<GenericRecord>(writer, older).read(null, DecoderFactory.get().binaryDecoder(bytes, null));
    }

    /** A record written by a producer still on {@code older}, read back with the current class. */
    public static <T> T writtenByOlderReadAsCurrent(GenericRecord olderRecord, Schema older, Class<T> type, Schema current) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
        new GenericDatumWriter<GenericRecord>(older).write(olderRecord, encoder);
        encoder.flush();
        return new SpecificDatumReader<T>(older, current, SpecificData.getForClass(type)).read(null, DecoderFactory.get().binaryDecoder(bytes.toByteArray(), null));
    }
}
