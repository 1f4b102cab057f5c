package io.explainstream.stream.output;

import io.explainstream.avro.WireFormat;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

/** The size of a record in the Confluent wire format, found by encoding it into a counter. */
final class AvroSize {

    private AvroSize() {}

    static int of(SpecificRecord record) {
        Counter counter = new Counter();
        try {
            BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(counter, null);
            new SpecificDatumWriter<SpecificRecord>(record.getSchema()).write(record, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return WireFormat.HEADER_BYTES + counter.bytes;
    }

    private static final class Counter extends OutputStream {
        private int bytes;

        @Override
        public void write(int b) {
            bytes++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            bytes += len;
        }
    }
}
