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

    @Option(names = "--tokens", defaultValue = "40", description = "New tokens to generate. Default: ${DEFAULT-VALUE}.")
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
            long started = System.nanoTime();
            long[] ids = new GreedyDecoder(model).generate(promptIds, tokens);
            double seconds = (System.nanoTime() - started) / 1e9;
            PrintWriter out = spec.commandLine().getOut();
            out.println(tokenizer.decode(ids));
            out.println("ids: " + Arrays.toString(ids));
            out.printf("%d tokens in %.2f s on %s (%s)%n", tokens, seconds, model.device(), model.dtype().optionName());
            return 0;
        }
    }
}
