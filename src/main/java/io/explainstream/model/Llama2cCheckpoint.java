package io.explainstream.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A model in llama2.c's checkpoint format ({@code model.bin}, the legacy "version 0" export that
 * Karpathy's TinyStories models are published in), converted to the Hugging Face layout.
 *
 * <p>The file is seven little-endian int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 * vocab_size, seq_len; a negative vocab_size means the classifier is stored apart) and then
 * float32 tensors in a fixed order, each row-major as PyTorch keeps a linear layer's weight
 * (out × in). Two things differ from Hugging Face's layout: llama2.c turns each adjacent pair
 * of a head's dimensions in its rotary embedding where {@code rotate_half} turns dimension i with
 * i + D/2, so the rows of wq and wk are permuted per head; and the file ends with the rotary
 * tables, which the loader computes from {@code rope_theta} instead.
 */
public final class Llama2cCheckpoint {

    private static final int HEADER_INTS = 7;
    /** llama2.c's later exports ("version 1" and on) start with this magic, "ak42". */
    private static final int VERSIONED_MAGIC = 0x616b3432;

    private Llama2cCheckpoint() {}

    /**
     * Reads a llama2.c {@code model.bin} and gives the Hugging Face checkpoint it holds, ready to
     * write.
     *
     * @throws ModelLoadException when the file is not a version-0 llama2.c checkpoint, naming what is wrong
     */
    public static CheckpointWriter read(Path modelBin) {
        try (FileChannel channel = FileChannel.open(modelBin, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < HEADER_INTS * Integer.BYTES) {
                throw new ModelLoadException(modelBin + " holds " + size + " bytes, fewer than llama2.c's header of " + HEADER_INTS * Integer.BYTES);
            }
            ByteBuffer bytes = channel.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.LITTLE_ENDIAN);
            Header header = Header.read(bytes, modelBin);
            long expected = header.fileBytes();
            if (expected < 0) {
                throw new ModelLoadException(modelBin + ": its header (" + header + ") describes more values than a file can hold: it is not a llama2.c"
                        + " version-0 checkpoint");
            }
            if (size != expected) {
                throw new ModelLoadException(modelBin + " holds " + size + " bytes, where its header (" + header + ") needs " + expected
                        + ": the file is " + (size < expected ? "cut short" : "longer than that") + ", or is not a llama2.c version-0 checkpoint");
            }
            bytes.position(HEADER_INTS * Integer.BYTES);
            return tensors(header, bytes.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
        } catch (IOException e) {
            throw new ModelLoadException(modelBin + " cannot be read: " + (e instanceof java.nio.file.AccessDeniedException ? "permission denied"
                    : e.getMessage() != null && !e.getMessage().equals(modelBin.toString()) ? e.getMessage() : e.getClass().getSimpleName()), e);
        }
    }

    /** The header's seven numbers, checked. */
    record Header(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocab, boolean sharedClassifier, int seqLen) {

        static Header read(ByteBuffer bytes, Path file) {
            int dim = bytes.getInt(0);
            if (dim == VERSIONED_MAGIC) {
                throw new ModelLoadException(file + " is a llama2.c checkpoint of a later export version (magic \"ak42\"): only the legacy"
                        + " version-0 format (llama2.c's export.py --version 0, the format of the published TinyStories models) is read");
            }
            int hiddenDim = bytes.getInt(4);
            int layers = bytes.getInt(8);
            int heads = bytes.getInt(12);
            int kvHeads = bytes.getInt(16);
            int vocab = bytes.getInt(20);
            int seqLen = bytes.getInt(24);
            Header header = new Header(dim, hiddenDim, layers, heads, kvHeads, Math.abs(vocab), vocab > 0, seqLen);
            requirePositive(file, "dim", dim);
            requirePositive(file, "hidden_dim", hiddenDim);
            requirePositive(file, "n_layers", layers);
            requirePositive(file, "n_heads", heads);
            requirePositive(file, "n_kv_heads", kvHeads);
            requirePositive(file, "vocab_size", header.vocab());
            requirePositive(file, "seq_len", seqLen);
            if (dim % heads != 0 || (dim / heads) % 2 != 0) {
                throw new ModelLoadException(file + ": dim = " + dim + " and n_heads = " + heads + " give no even head size (rotary embeddings turn pairs)");
            }
            if (heads % kvHeads != 0) {
                throw new ModelLoadException(file + ": n_kv_heads = " + kvHeads + " does not divide n_heads = " + heads);
            }
            return header;
        }

        private static void requirePositive(Path file, String field, int value) {
            if (value <= 0) {
                throw new ModelLoadException(file + ": header field " + field + " = " + value + " must be positive; is this a llama2.c checkpoint?");
            }
        }

        int headDim() {
            return dim / heads;
        }

        int kvDim() {
            return kvHeads * headDim();
        }

        /**
         * The file's length that this header implies: the header, every tensor, the rotary tables
         * and, unless shared, the classifier; -1 where that is more than a file can hold (a crafted
         * header overflowed the sum and passed the length check).
         */
        long fileBytes() {
            try {
                long perLayer = Math.addExact(Math.addExact(2L * dim + 2L * dim * dim, 2L * dim * kvDim()), Math.multiplyExact(3L * dim, hiddenDim));
                long floats = Math.addExact(Math.addExact((long) vocab * dim, Math.multiplyExact(layers, perLayer)),
                        dim + (long) seqLen * headDim() + (sharedClassifier ? 0 : (long) vocab * dim));
                return Math.addExact(HEADER_INTS * Integer.BYTES, Math.multiplyExact(floats, Float.BYTES));
            } catch (ArithmeticException e) {
                return -1;
            }
        }

        LlamaConfig config() {
            return new LlamaConfig(dim, hiddenDim, heads, kvHeads, headDim(), layers, vocab, seqLen, 1e-5, 10000.0, RopeScaling.NONE, sharedClassifier,
                    1, 2, -1);
        }

        @Override
        public String toString() {
            return "dim " + dim + ", hidden_dim " + hiddenDim + ", n_layers " + layers + ", n_heads " + heads + ", n_kv_heads " + kvHeads + ", vocab_size "
                    + (sharedClassifier ? vocab : -vocab) + ", seq_len " + seqLen;
        }
    }

    /** The tensors in llama2.c's order (every layer's wq, then every layer's wk, …), named and shaped as Hugging Face's. */
    private static CheckpointWriter tensors(Header header, FloatBuffer floats) {
        int dim = header.dim();
        int layers = header.layers();
        CheckpointWriter writer = new CheckpointWriter(header.config());
        float[] embedding = take(floats, (long) header.vocab() * dim);
        writer.add("model.embed_tokens.weight", new long[] {header.vocab(), dim}, embedding);
        perLayer(writer, floats, layers, "input_layernorm.weight", new long[] {dim}, -1);
        perLayer(writer, floats, layers, "self_attn.q_proj.weight", new long[] {dim, dim}, header.heads());
        perLayer(writer, floats, layers, "self_attn.k_proj.weight", new long[] {header.kvDim(), dim}, header.kvHeads());
        perLayer(writer, floats, layers, "self_attn.v_proj.weight", new long[] {header.kvDim(), dim}, -1);
        perLayer(writer, floats, layers, "self_attn.o_proj.weight", new long[] {dim, dim}, -1);
        perLayer(writer, floats, layers, "post_attention_layernorm.weight", new long[] {dim}, -1);
        perLayer(writer, floats, layers, "mlp.gate_proj.weight", new long[] {header.hiddenDim(), dim}, -1);
        perLayer(writer, floats, layers, "mlp.down_proj.weight", new long[] {dim, header.hiddenDim()}, -1);
        perLayer(writer, floats, layers, "mlp.up_proj.weight", new long[] {header.hiddenDim(), dim}, -1);
        writer.add("model.norm.weight", new long[] {dim}, take(floats, dim));
        // The rotary tables (cos and sin, seq_len × head_dim / 2 each): computed by the loader from rope_theta.
        floats.position(floats.position() + header.seqLen() * header.headDim());
        // Stored even when tied, as the bundled model does: a loader that ignores tie_word_embeddings still finds it.
        writer.add("lm_head.weight", new long[] {header.vocab(), dim}, header.sharedClassifier() ? embedding : take(floats, (long) header.vocab() * dim));
        return writer;
    }

    /** One tensor for every layer, stored one after another; {@code ropeHeads} > 0 permutes each for {@code rotate_half}. */
    private static void perLayer(CheckpointWriter writer, FloatBuffer floats, int layers, String name, long[] shape, int ropeHeads) {
        long count = shape.length == 1 ? shape[0] : shape[0] * shape[1];
        for (int layer = 0; layer < layers; layer++) {
            float[] values = take(floats, count);
            writer.add("model.layers." + layer + "." + name, shape, ropeHeads > 0 ? toRotateHalf(values, ropeHeads, (int) shape[0], (int) shape[1]) : values);
        }
    }

    /**
     * Reorders the rows of a query or key projection from interleaved rotary pairs to halves.
     * Within each head of D rows, llama2.c's row 2j + k (pair j, member k) becomes row k · D/2 + j:
     * the same weights, arranged so that {@code rotate_half} turns the pairs llama2.c turned.
     *
     * @param weight rows × columns, row-major: heads · D rows
     */
    static float[] toRotateHalf(float[] weight, int heads, int rows, int columns) {
        int headDim = rows / heads;
        int half = headDim / 2;
        float[] permuted = new float[weight.length];
        for (int head = 0; head < heads; head++) {
            for (int pair = 0; pair < half; pair++) {
                for (int member = 0; member < 2; member++) {
                    int from = head * headDim + 2 * pair + member;
                    int to = head * headDim + member * half + pair;
                    System.arraycopy(weight, from * columns, permuted, to * columns, columns);
                }
            }
        }
        return permuted;
    }

    private static float[] take(FloatBuffer floats, long count) {
        float[] values = new float[Math.toIntExact(count)];
        floats.get(values);
        return values;
    }
}
