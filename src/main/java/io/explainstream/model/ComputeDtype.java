package io.explainstream.model;

import ai.djl.ndarray.types.DataType;
import java.util.Locale;

/** The floating-point type the forward pass runs in. */
public enum ComputeDtype {
    FLOAT32(DataType.FLOAT32),
    FLOAT64(DataType.FLOAT64),
    FLOAT16(DataType.FLOAT16),
    /** GPU only: libtorch's CPU kernels abort the JVM on bfloat16 in the DJL build we use. */
    BFLOAT16(DataType.BFLOAT16);

    private final DataType dataType;

    ComputeDtype(DataType dataType) {
        this.dataType = dataType;
    }

    public DataType dataType() {
        return dataType;
    }

    /** Half types keep their normalization statistics in float32, as Hugging Face does. */
    public boolean isHalf() {
        return this == FLOAT16 || this == BFLOAT16;
    }

    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a configuration value; {@code key} names the option in the error. */
    public static ComputeDtype parse(String key, String value) {
        return Choices.parse(ComputeDtype.class, ComputeDtype::optionName, key, value, "a compute dtype");
    }
}
