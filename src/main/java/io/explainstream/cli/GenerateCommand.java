package io.explainstream.cli;

import io.explainstream.model.GreedyDecoder;
import io.explainstream.model.LlamaModel;
import io.explainstream.tokenize.LlamaTokenizer;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Greedy decoding: a smoke test that a checkpoint loads and predicts sensibly. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Greedy-decode a continuation of a prompt (checks that a checkpoint loads and runs).")
final class GenerateCommand implements Callable<Integer> {

    @Mixin
    private ModelSelection selection;

    @Option(names = "--prompt", defaultValue = "", description = "Prompt text; BOS is added per tokenizer_config.json. Default: empty (BOS only).")
    private String prompt;

    @Option(names = "--tokens", defaultValue = "40", description = "New tokens to generate at most (generation stops early at EOS, or at BOS, which ends a llama2.c story). Default: ${DEFAULT-VALUE}.")
    private int tokens;

    @Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (tokens <= 0) {
            throw new IllegalArgumentException("--tokens = " + tokens + " must be positive");
        }
        try (LlamaModel model = LlamaModel.load(selection.modelDirectory(), selection.options());
                LlamaTokenizer tokenizer = LlamaTokenizer.load(selection.modelDirectory())) {
            tokenizer.requireEmbeddingsFor(model.config().vocabSize(), selection.modelDirectory());
            long[] promptIds = tokenizer.encodePrompt(prompt).ids();
            int context = model.config().maxPositions();
            if ((long) promptIds.length + tokens > context) {
                // Positions past the context have rotary angles the model never saw: its output there means nothing.
                throw new IllegalArgumentException("--tokens = " + tokens + " with a prompt of " + promptIds.length + " tokens exceeds the model's context of "
                        + context + " tokens (max_position_embeddings in config.json): at most " + Math.max(0, context - promptIds.length)
                        + " new tokens fit");
            }
            // The sequence ends at EOS, and at BOS too: llama2.c's models (TinyStories) end a story
            // by beginning the next, and its own generator stops there.
            java.util.Set<Long> stopIds = new java.util.TreeSet<>();
            for (int id : new int[] {model.config().eosTokenId(), model.config().bosTokenId()}) {
                if (id >= 0) {
                    stopIds.add((long) id);
                }
            }
            long started = System.nanoTime();
            long[] ids = new GreedyDecoder(model).generate(promptIds, tokens, stopIds);
            double seconds = (System.nanoTime() - started) / 1e9;
            int generated = ids.length - promptIds.length;
            PrintWriter out = spec.commandLine().getOut();
            out.println(tokenizer.decode(ids));
            out.println("ids: " + Arrays.toString(ids));
            String stopped = stopIds.contains(ids[ids.length - 1]) // a generated id: at least one was
                    ? String.format(" (stopped at id %d, %s: the model ended the sequence)", ids[ids.length - 1],
                            ids[ids.length - 1] == model.config().eosTokenId() ? "end of sequence" : "beginning of sequence")
                    : "";
            out.printf("%d token%s in %.2f s on %s (%s)%s%n", generated, generated == 1 ? "" : "s", seconds, model.device(), model.dtype().optionName(),
                    stopped);
            return 0;
        }
    }
}
