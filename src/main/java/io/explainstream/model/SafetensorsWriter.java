package io.explainstream.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes float tensors to a {@code .safetensors} file in a chosen storage dtype. */
public final class SafetensorsWriter {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The bytes of one tensor: each is one Java array and one buffer, whose length is an int a little under 2^31. */
    public static final long MAX_TENSOR_BYTES = Integer.MAX_VALUE - 8;

    /** One tensor to write: row-major float values and their shape. */
    public record Tensor(long[] shape, float[] values) {
        public Tensor {
            long count = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            if (count != values.length) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + count + " values, got " + values.length);
            }
        }
    }

    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    public SafetensorsWriter add(String name, Tensor tensor) {
        tensors.put(name, tensor);
        return this;
    }

    public void write(Path path, TensorDtype dtype) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, Tensor> entry : tensors.entrySet()) {
            long bytes = (long) entry.getValue().values().length * dtype.bytes();
            ObjectNode node = header.putObject(entry.getKey());
            node.put("dtype", dtype.headerName());
            var shape = node.putArray("shape");
            Arrays.stream(entry.getValue().shape()).forEach(shape::add);
            node.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] headerBytes = paddedHeader(JSON.writeValueAsString(header));
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, headerBytes.length);
            channel.write(length);
            channel.write(ByteBuffer.wrap(headerBytes));
            for (Tensor tensor : tensors.values()) {
                ByteBuffer data = ByteBuffer.allocate(tensor.values().length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < tensor.values().length; i++) {
                    dtype.write(data, i, tensor.values()[i]);
                }
                channel.write(data);
            }
        }
    }

    /** The format pads the header with spaces so the data starts 8-byte aligned. */
    private static byte[] paddedHeader(String json) {
        byte[] raw = json.getBytes(StandardCharsets.UTF_8);
        int padded = (raw.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(raw, padded);
        Arrays.fill(out, raw.length, padded, (byte) ' ');
        return out;
    }
}
