package io.explainstream.avro;

import java.nio.ByteBuffer;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Confluent's wire format: magic byte 0, the schema id as a 4-byte big-endian integer, then the
 * Avro binary encoding of the value.
 */
public final class WireFormat {

    public static final byte MAGIC_BYTE = 0;
    public static final int HEADER_BYTES = 5;

    private WireFormat() {}

    /** The 5-byte header followed by the Avro payload. */
    public static byte[] frame(int schemaId, byte[] avroPayload) {
        return ByteBuffer.allocate(HEADER_BYTES + avroPayload.length).put(MAGIC_BYTE).putInt(schemaId).put(avroPayload).array();
    }

    /** The schema id of a framed message; refuses empty, short or unframed bytes with the reason. */
    public static int schemaId(String topic, byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new SerializationException("empty value on topic " + topic + ": no Confluent-framed Avro to read");
        }
        if (bytes[0] != MAGIC_BYTE) {
            throw new SerializationException(String.format("wrong magic byte 0x%02x on topic %s: expected 0x00, the value is not Confluent-framed Avro",
                    bytes[0] & 0xff, topic));
        }
        if (bytes.length < HEADER_BYTES) {
            throw new SerializationException("truncated header on topic " + topic + ": " + bytes.length + " bytes, the schema id needs 5");
        }
        return ByteBuffer.wrap(bytes, 1, 4).getInt();
    }
}
