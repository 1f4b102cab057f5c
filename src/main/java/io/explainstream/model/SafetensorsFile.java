package io.explainstream.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One {@code .safetensors} file: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw little-endian data. Tensors are memory-mapped
 * one at a time, so a 13 GB shard is never copied onto the Java heap.
 */
public final class SafetensorsFile {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** Where one tensor lies in the file. */
    public record Entry(String name, TensorDtype dtype, long[] shape, long begin, long end) {

        public long elementCount() {
            long count = 1;
            for (long dim : shape) {
                count *= dim;
            }
            return count;
        }
    }

    private final Path path;
    private final long dataStart;
    private final Map<String, Entry> entries;

    private SafetensorsFile(Path path, long dataStart, Map<String, Entry> entries) {
        this.path = path;
        this.dataStart = dataStart;
        this.entries = entries;
    }

    public static SafetensorsFile open(Path path) {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long fileSize = channel.size();
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            if (channel.read(lengthBytes, 0) != 8) {
                throw new ModelLoadException(path + " is not a safetensors file: shorter than its 8-byte header length");
            }
            long headerLength = lengthBytes.getLong(0);
            if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > fileSize) {
                throw new ModelLoadException(
                        path + " is not a safetensors file: header length " + headerLength + " for a file of " + fileSize + " bytes");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLength);
            channel.read(header, 8);
            String headerJson = new String(header.array(), StandardCharsets.UTF_8);
            Map<String, Entry> entries = parseHeader(path, headerJson, fileSize - 8 - headerLength);
            return new SafetensorsFile(path, 8 + headerLength, entries);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Entry> parseHeader(Path path, String headerJson, long dataBytes) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(headerJson);
        } catch (IOException e) {
            throw new ModelLoadException(path + " has a safetensors header that is not valid JSON", e);
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals("__metadata__")) {
                continue;
            }
            String name = field.getKey();
            JsonNode node = field.getValue();
            TensorDtype dtype = TensorDtype.fromHeader(node.path("dtype").asText(), name);
            JsonNode shapeNode = node.path("shape");
            long[] shape = new long[shapeNode.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong();
            }
            long begin = node.path("data_offsets").path(0).asLong(-1);
            long end = node.path("data_offsets").path(1).asLong(-1);
            Entry entry = new Entry(name, dtype, shape, begin, end);
            if (begin < 0 || end > dataBytes || end - begin != entry.elementCount() * dtype.bytes()) {
                throw new ModelLoadException(
                        "tensor " + name + " in " + path + " has data_offsets [" + begin + ", " + end
                                + "] that do not fit its shape or the file");
            }
            entries.put(name, entry);
        }
        return Collections.unmodifiableMap(entries);
    }

    public Path path() {
        return path;
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    /** Maps one tensor's bytes read-only, little-endian. The mapping lives until it is collected. */
    public ByteBuffer map(Entry entry) {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + entry.begin(), entry.end() - entry.begin())
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new ModelLoadException("cannot read tensor " + entry.name() + " from " + path + ": " + e.getMessage(), e);
        }
    }

    /** Reads one tensor converted to float32, as a direct native-order buffer ready for DJL. */
    public ByteBuffer readFloat32(Entry entry) {
        ByteBuffer source = map(entry);
        long count = entry.elementCount();
        if (count * 4 > Integer.MAX_VALUE) {
            throw new ModelLoadException("tensor " + entry.name() + " has " + count + " elements; at most 2^29 per tensor are supported");
        }
        ByteBuffer target = ByteBuffer.allocateDirect((int) count * 4).order(ByteOrder.nativeOrder());
        if (entry.dtype() == TensorDtype.F32 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            target.put(source);
            target.rewind();
            return target;
        }
        for (int i = 0; i < count; i++) {
            target.putFloat(i * 4, entry.dtype().read(source, i));
        }
        return target;
    }
}
