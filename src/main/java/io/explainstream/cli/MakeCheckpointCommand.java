package io.explainstream.cli;

import io.explainstream.model.LlamaConfig;
import io.explainstream.model.RandomCheckpoint;
import io.explainstream.model.RopeScaling;
import io.explainstream.model.SafetensorsWriter;
import io.explainstream.model.TensorDtype;
import io.explainstream.tokenize.LlamaTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Writes a random-weight LLaMA checkpoint of a chosen shape, for benchmarks and tests. */
@Command(name = "make-checkpoint", mixinStandardHelpOptions = true,
        description = "Write a random-weight LLaMA checkpoint of any shape in the Hugging Face layout, with the bundled tokenizer.")
final class MakeCheckpointCommand implements Callable<Integer> {

    private static final double GIB = 1024.0 * 1024 * 1024;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write (created).")
    private Path out;

    @Option(names = "--hidden", defaultValue = "256", description = "hidden_size. Default: ${DEFAULT-VALUE}.")
    private int hidden;

    @Option(names = "--layers", defaultValue = "4", description = "num_hidden_layers. Default: ${DEFAULT-VALUE}.")
    private int layers;

    @Option(names = "--heads", defaultValue = "8", description = "num_attention_heads. Default: ${DEFAULT-VALUE}.")
    private int heads;

    @Option(names = "--kv-heads", description = "num_key_value_heads (default: --heads, no grouping).")
    private Integer kvHeads;

    @Option(names = "--head-dim", description = "head_dim (default: hidden / heads).")
    private Integer headDim;

    @Option(names = "--ffn", description = "intermediate_size (default: the LLaMA rule, 8/3 · hidden rounded up to 32).")
    private Integer ffn;

    @Option(names = "--vocab", description = "vocab_size, at least the tokenizer's vocabulary, whose every id needs an embedding row"
            + " (default: the tokenizer's; more rows are padding, as in many released models).")
    private Integer vocab;

    @Option(names = "--max-positions", defaultValue = "2048", description = "max_position_embeddings. Default: ${DEFAULT-VALUE}.")
    private int maxPositions;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed. Default: ${DEFAULT-VALUE}.")
    private long seed;

    @Option(names = "--storage-dtype", defaultValue = "F32", description = "Storage dtype of the weights: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}.")
    private TensorDtype storageDtype;

    @Option(names = "--shards", defaultValue = "1", description = "Number of safetensors shards. Default: ${DEFAULT-VALUE}.")
    private int shards;

    @Option(names = "--untied", description = "Store a separate lm_head.weight instead of tying it to the embeddings.")
    private boolean untied;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "Where tokenizer.json is copied from (default: the bundled model).")
    private Path tokenizerDir;

    @Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Path tokenizerSource = tokenizerDir != null ? tokenizerDir : ModelSelection.bundledModel();
        int tokenizerVocab = tokenizerVocabSize(tokenizerSource);
        int vocabSize = vocab != null ? vocab : tokenizerVocab;
        if (vocabSize < tokenizerVocab) {
            throw new IllegalArgumentException("--vocab = " + vocabSize + " is smaller than the tokenizer's vocabulary of " + tokenizerVocab
                    + " tokens: every token id needs an embedding row");
        }
        LlamaConfig config = shape(vocabSize);
        Map<String, long[]> tensors = RandomCheckpoint.shapes(config);
        if (shards < 1 || shards > tensors.size()) {
            throw new IllegalArgumentException("--shards = " + shards + " must be between 1 and the tensor count " + tensors.size());
        }
        tensors.forEach((name, shape) -> requireWritableSize(config, name, shape));
        requireMemory(tensors);
        OutputFile.prepareEmptyFolder("--out", out);
        try {
            RandomCheckpoint.write(config, tokenizerSource, seed, storageDtype, shards, out);
        } catch (IOException e) {
            throw new IllegalArgumentException("--out = " + out + " cannot be written: " + OutputFile.reason(e), e);
        }
        long parameters = tensors.values().stream().mapToLong(MakeCheckpointCommand::values).sum();
        spec.commandLine().getOut().printf("wrote %s: hidden %d, %d layers, %d/%d heads, ffn %d, vocab %d, %s parameters%n",
                out, hidden, layers, heads, config.numKeyValueHeads(), config.intermediateSize(), vocabSize,
                parameters < 1_000_000 ? String.valueOf(parameters) : String.format(java.util.Locale.ROOT, "about %.1fM", parameters / 1e6));
        return 0;
    }

    /** The options as a model configuration; each wrong one is named here, where config.json's own checks would name a key the user never typed. */
    private LlamaConfig shape(int vocabSize) {
        requirePositive("--hidden", hidden);
        requirePositive("--heads", heads);
        requirePositive("--layers", layers);
        requirePositive("--max-positions", maxPositions);
        int keyValueHeads = kvHeads != null ? kvHeads : heads;
        if (keyValueHeads <= 0 || heads % keyValueHeads != 0) {
            throw new IllegalArgumentException("--kv-heads = " + keyValueHeads + " must divide --heads = " + heads
                    + ": each key/value head serves the same number of query heads");
        }
        int dimensions = headDim != null ? headDim : headDimFromHidden();
        if (dimensions <= 0 || dimensions % 2 != 0) {
            String given = headDim != null ? "--head-dim = " + dimensions : "--head-dim = --hidden / --heads = " + hidden + " / " + heads + " = " + dimensions;
            throw new IllegalArgumentException(given + " must be even and positive: rotary embeddings turn pairs of dimensions");
        }
        // In long: 8 · hidden overflows an int from hidden = 268,435,456, which the size checks that follow refuse by name.
        long rule = (8L * hidden / 3 + 31) / 32 * 32;
        if (ffn == null && rule > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("--hidden = " + hidden + " gives an intermediate size (8/3 · --hidden) of " + rule
                    + ", more than a tensor dimension can be (" + Integer.MAX_VALUE + "): make --hidden smaller");
        }
        int intermediate = ffn != null ? ffn : (int) rule;
        if (ffn != null) {
            requirePositive("--ffn", ffn);
        }
        return new LlamaConfig(hidden, intermediate, heads, keyValueHeads, dimensions, layers, vocabSize, maxPositions, 1e-5, 10000.0, RopeScaling.NONE,
                !untied, 1, 2, -1);
    }

    /** The default head size; a --hidden that --heads does not divide would leave dimensions out silently. */
    private int headDimFromHidden() {
        int dimensions = hidden / heads;
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("--head-dim = --hidden / --heads = " + hidden + " / " + heads + " = " + dimensions + " leaves "
                    + (hidden - dimensions * heads) + " dimensions of --hidden unused; give --head-dim");
        }
        return dimensions;
    }

    private static void requirePositive(String option, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(option + " = " + value + " must be at least 1");
        }
    }

    /** One tensor must fit one Java array in the storage dtype, or the writer cannot hold it. */
    private void requireWritableSize(LlamaConfig config, String name, long[] shape) {
        long limit = SafetensorsWriter.MAX_TENSOR_BYTES / storageDtype.bytes();
        long count = values(shape);
        if (count > limit) {
            throw new IllegalArgumentException("tensor " + name + " of " + optionsOf(name) + " = " + dimensionsOf(config, name, shape) + " holds "
                    + (count == Long.MAX_VALUE ? "more than " + Long.MAX_VALUE : count) + " values; one tensor holds at most " + limit + " in "
                    + storageDtype + " (2 GiB, the largest Java array): make them smaller");
        }
    }

    /** Every tensor is held in memory, as floats, until it is written. */
    private static void requireMemory(Map<String, long[]> tensors) {
        long bytes = tensors.values().stream().mapToLong(shape -> values(shape) * Float.BYTES).sum();
        long heap = Runtime.getRuntime().maxMemory();
        if (bytes > heap) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
                    "the checkpoint's tensors need %.1f GiB of memory while they are written, more than the %.1f GiB this JVM may use"
                    + " (-Xmx): fewer --layers or a smaller shape", bytes / GIB, heap / GIB));
        }
    }

    /** The options whose product is the tensor's shape, as the user gives them. */
    private static String optionsOf(String tensor) {
        if (tensor.endsWith("embed_tokens.weight") || tensor.equals("lm_head.weight")) {
            return "--vocab × --hidden";
        }
        if (tensor.endsWith("q_proj.weight") || tensor.endsWith("o_proj.weight")) {
            return "--heads × --head-dim × --hidden";
        }
        if (tensor.endsWith("k_proj.weight") || tensor.endsWith("v_proj.weight")) {
            return "--kv-heads × --head-dim × --hidden";
        }
        return tensor.contains(".mlp.") ? "--ffn × --hidden" : "--hidden";
    }

    /** The tensor's shape as the options give it: the attention projections as heads × head size × hidden. */
    private static String dimensionsOf(LlamaConfig config, String tensor, long[] shape) {
        if (tensor.endsWith("q_proj.weight") || tensor.endsWith("o_proj.weight")) {
            return config.numHeads() + " × " + config.headDim() + " × " + config.hiddenSize();
        }
        if (tensor.endsWith("k_proj.weight") || tensor.endsWith("v_proj.weight")) {
            return config.numKeyValueHeads() + " × " + config.headDim() + " × " + config.hiddenSize();
        }
        return java.util.Arrays.stream(shape).mapToObj(Long::toString).collect(java.util.stream.Collectors.joining(" × "));
    }

    /** Values in a tensor of this shape; Long.MAX_VALUE where the product is larger. */
    private static long values(long[] shape) {
        long count = 1;
        for (long size : shape) {
            try {
                count = Math.multiplyExact(count, size);
            } catch (ArithmeticException e) {
                return Long.MAX_VALUE;
            }
        }
        return count;
    }

    private static int tokenizerVocabSize(Path dir) {
        try (LlamaTokenizer tokenizer = LlamaTokenizer.load(dir)) {
            return tokenizer.vocabularySize();
        }
    }
}
