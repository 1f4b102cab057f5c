package io.explainstream.cli;

import io.explainstream.model.LlamaConfig;
import io.explainstream.model.RandomCheckpoint;
import io.explainstream.model.RopeScaling;
import io.explainstream.model.TensorDtype;
import io.explainstream.tokenize.LlamaTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Writes a random-weight LLaMA checkpoint of a chosen shape, for benchmarks and tests. */
@Command(name = "make-checkpoint", mixinStandardHelpOptions = true,
        description = "Write a random-weight LLaMA checkpoint of any shape in the Hugging Face layout, with the bundled tokenizer.")
final class MakeCheckpointCommand implements Callable<Integer> {

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

    @Option(names = "--vocab", defaultValue = "512", description = "vocab_size, at most the tokenizer's. Default: ${DEFAULT-VALUE}.")
    private int vocab;

    @Option(names = "--max-positions", defaultValue = "2048", description = "max_position_embeddings. Default: ${DEFAULT-VALUE}.")
    private int maxPositions;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed. Default: ${DEFAULT-VALUE}.")
    private long seed;

    @Option(names = "--storage-dtype", defaultValue = "F32", description = "F32, F16 or BF16. Default: ${DEFAULT-VALUE}.")
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
        if (vocab <= 0 || vocab > tokenizerVocab) {
            throw new IllegalArgumentException("--vocab = " + vocab + " must be between 1 and the tokenizer's vocabulary size " + tokenizerVocab);
        }
        if (heads <= 0 || hidden <= 0) {
            throw new IllegalArgumentException("--hidden and --heads must be positive (got " + hidden + ", " + heads + ")");
        }
        int intermediate = ffn != null ? ffn : ((8 * hidden / 3) + 31) / 32 * 32;
        LlamaConfig config = new LlamaConfig(hidden, intermediate, heads, kvHeads != null ? kvHeads : heads,
                headDim != null ? headDim : hidden / heads, layers, vocab, maxPositions, 1e-5, 10000.0, RopeScaling.NONE,
                !untied, 1, 2, -1);
        if (Files.exists(out) && Files.list(out).findAny().isPresent()) {
            throw new IllegalArgumentException("--out = " + out + " exists and is not empty");
        }
        RandomCheckpoint.write(config, tokenizerSource, seed, storageDtype, shards, out);
        long parameters = Files.walk(out).filter(p -> p.toString().endsWith(".safetensors")).mapToLong(p -> p.toFile().length()).sum()
                / storageDtype.bytes();
        spec.commandLine().getOut().printf("wrote %s: hidden %d, %d layers, %d/%d heads, ffn %d, vocab %d, about %.1fM parameters%n",
                out, hidden, layers, heads, config.numKeyValueHeads(), intermediate, vocab, parameters / 1e6);
        return 0;
    }

    private static int tokenizerVocabSize(Path dir) {
        try (LlamaTokenizer tokenizer = LlamaTokenizer.load(dir)) {
            return tokenizer.vocabularySize();
        }
    }
}
