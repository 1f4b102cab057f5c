package io.explainstream.model;

import java.nio.ByteBuffer;

/** The element types a safetensors file may hold that ExplainStream reads and writes. */
public enum TensorDtype {
    F32(4),
    F16(2),
    BF16(2),
    F64(8);

    private final int bytes;

    TensorDtype(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** The name used in a safetensors header, for example {@code "BF16"}. */
    public String headerName() {
        return name();
    }

    static TensorDtype fromHeader(String name, String tensor) {
        for (TensorDtype dtype : values()) {
            if (dtype.name().equals(name)) {
                return dtype;
            }
        }
        throw new ModelLoadException(
                "tensor " + tensor + " has dtype " + name + ", which is not supported (supported: F32, F16, BF16, F64)");
    }

    /** Reads element {@code index} of a little-endian buffer of this type as a float. */
    float read(ByteBuffer buffer, int index) {
        switch (this) {
            case F32:
                return buffer.getFloat(index * 4);
            case F16:
                return HalfFloats.float16ToFloat(buffer.getShort(index * 2));
            case BF16:
                return HalfFloats.bfloat16ToFloat(buffer.getShort(index * 2));
            default:
                return (float) buffer.getDouble(index * 8);
        }
    }

    /** Writes a float as element {@code index} of a little-endian buffer of this type. */
    void write(ByteBuffer buffer, int index, float value) {
        switch (this) {
            case F32:
                buffer.putFloat(index * 4, value);
                break;
            case F16:
                buffer.putShort(index * 2, HalfFloats.floatToFloat16(value));
                break;
            case BF16:
                buffer.putShort(index * 2, HalfFloats.floatToBfloat16(value));
                break;
            default:
                buffer.putDouble(index * 8, value);
        }
    }
}
