package io.explainstream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionDefaults;
import io.explainstream.attribution.AttributionEngine;
import io.explainstream.attribution.AttributionRequest;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.Baseline;
import io.explainstream.attribution.GradientMethod;
import io.explainstream.attribution.NonFiniteAttributionException;
import io.explainstream.attribution.QuadratureRule;
import io.explainstream.attribution.ScoreNormalization;
import io.explainstream.attribution.summary.PromptLayout;
import io.explainstream.attribution.summary.SpanRequest;
import io.explainstream.attribution.summary.Summary;
import io.explainstream.input.PlainNumber;
import io.explainstream.json.JsonProblem;
import io.explainstream.model.LlamaModel;
import io.explainstream.render.Aggregate;
import io.explainstream.render.HtmlReport;
import io.explainstream.render.JsonReport;
import io.explainstream.render.Source;
import io.explainstream.render.TerminalHeatmap;
import io.explainstream.stream.config.Setting;
import io.explainstream.stream.ingest.EventValidator;
import io.explainstream.stream.ingest.InputDecoder;
import io.explainstream.stream.ingest.InvalidEventException;
import io.explainstream.tokenize.ChatTurn;
import io.explainstream.tokenize.EncodedText;
import io.explainstream.tokenize.LlamaTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Explains one response: the engine on one prompt/response pair, printed as JSON, text or HTML. */
@Command(name = "attribute", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Explain one response: which prompt tokens drove it (Integrated Gradients at the embedding layer).")
final class AttributeCommand implements Callable<Integer> {

    /** Output formats. */
    enum Format { json, text, html }

    @Mixin
    private ModelSelection selection;

    static final class PromptInput {
        @Option(names = "--prompt", required = true, description = "Prompt text (BOS is added per tokenizer_config.json).")
        String text;

        @Option(names = "--chat", required = true, paramLabel = "FILE",
                description = "Chat-form prompt: a JSON file with a list of {\"role\": system|user|assistant, \"content\": …}, or an object"
                        + " {\"messages\": [...], \"segments\": [{\"name\", \"message\", \"start\", \"end\"}]}, rendered with the Llama-2 chat template.")
        Path chatFile;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    private PromptInput prompt;

    @Option(names = "--response", required = true, description = "The response to explain (encoded without special tokens).")
    private String response;

    @Option(names = "--method", defaultValue = AttributionDefaults.METHOD,
            description = "integrated_gradients, gradient or input_x_gradient. Default: ${DEFAULT-VALUE}.")
    private String method;

    @Option(names = "--steps", defaultValue = AttributionDefaults.STEPS,
            description = "Path points (integrated gradients), 1 to " + AttributionSettings.STEPS_LIMIT + ". Default: ${DEFAULT-VALUE}.")
    private int steps;

    @Option(names = "--integration", defaultValue = AttributionDefaults.INTEGRATION,
            description = "gausslegendre, riemann_left, riemann_right, riemann_middle, riemann_trapezoid or clenshaw_curtis. Default: ${DEFAULT-VALUE}.")
    private String integration;

    @Option(names = "--baseline", defaultValue = AttributionDefaults.BASELINE, description = "unk, pad, zero or a token id. Default: ${DEFAULT-VALUE}.")
    private String baseline;

    @Option(names = "--include-bos", description = "Attribute BOS too (replaced by the baseline); by default it is kept and skipped, as in Captum's LLaMA tutorial.")
    private boolean includeBos;

    @Option(names = "--token-matrix", description = "Also compute the matrix: one row of prompt scores per response token.")
    private boolean tokenMatrix;

    @Option(names = "--target-delta", defaultValue = AttributionDefaults.TARGET_DELTA,
            description = "Adaptive steps: refine Clenshaw–Curtis (the trapezoid with --integration riemann_trapezoid) on its nested points "
                    + "(N, 2N−1, … up to --max-steps, reusing every gradient) until every |delta_t| ≤ X · |f_t(x) − f_t(b)| (with --token-matrix; else the sequence delta). 0 (default) keeps --steps.")
    private double targetDelta;

    @Option(names = "--max-steps", defaultValue = AttributionDefaults.MAX_STEPS,
            description = "Cap for adaptive steps, at least --steps and at most " + AttributionSettings.STEPS_LIMIT + ". Default: ${DEFAULT-VALUE}.")
    private int maxSteps;

    @Option(names = "--delta-warn", defaultValue = "0.05", paramLabel = "X",
            description = "Flag the convergence delta when it is over X of Σ_t|f_t(x) − f_t(b)| (0.05 = 5%%). Default: ${DEFAULT-VALUE}.")
    private double deltaWarn;

    @Option(names = "--normalize", defaultValue = AttributionDefaults.NORMALIZE, description = "l1 or max_abs. Default: ${DEFAULT-VALUE}.")
    private String normalize;

    @Option(names = "--max-batch-tokens", defaultValue = AttributionDefaults.MAX_BATCH_TOKENS,
            description = "Memory budget: path points × sequence length per forward pass. Default: ${DEFAULT-VALUE}.")
    private int maxBatchTokens;

    @Option(names = "--segment", paramLabel = "NAME:START:END",
            description = "Report characters START to END (UTF-16 offsets into --prompt, end exclusive) as a segment of their own, such as a"
                    + " retrieved document. Repeatable. For --chat, put segments in the file.")
    private List<String> segments = new ArrayList<>();

    @Option(names = "--aggregate", defaultValue = "tokens",
            description = "What the text heatmap and the HTML page show: tokens, words, or segments (a bar of shares above the tokens)."
                    + " Default: ${DEFAULT-VALUE}.")
    private String aggregate;

    @Option(names = "--format", defaultValue = "text", description = "json, text or html. Default: ${DEFAULT-VALUE}.")
    private Format format;

    @Option(names = "--out", paramLabel = "FILE", description = "Write here instead of standard output; - is standard output.")
    private Path out;

    @Option(names = "--no-color", description = "Plain text output (also when NO_COLOR is set or output is not a terminal).")
    private boolean noColor;

    @Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        // Whitespace alone would be explained as a row of ' ' tokens that say nothing.
        if (prompt.text != null && prompt.text.isBlank()) {
            throw new IllegalArgumentException("--prompt is empty" + whitespaceNote(prompt.text) + ": give the prompt the response answered");
        }
        if (response.isBlank()) {
            throw new IllegalArgumentException("--response is empty" + whitespaceNote(response) + ": give the response to explain");
        }
        if (prompt.text != null) {
            refuseUnfitText("--prompt", prompt.text);
            noteReplacementCharacter("--prompt", prompt.text);
        }
        refuseUnfitText("--response", response);
        noteReplacementCharacter("--response", response);
        AttributionSettings settings = settings();
        if (!(deltaWarn >= 0) || Double.isInfinite(deltaWarn)) {
            throw new IllegalArgumentException("--delta-warn = " + deltaWarn + " must be a finite number ≥ 0 (a fraction: 0.05 is 5%)");
        }
        Aggregate shown = Aggregate.parse("--aggregate", aggregate);
        if (OutputFile.isFile(out)) {
            OutputFile.requireWritable("--out", out);
        }
        ChatInput chat = prompt.chatFile == null ? null : readChat(prompt.chatFile);
        if (chat != null && !segments.isEmpty()) {
            throw new IllegalArgumentException("--segment " + segments.get(0) + " points into --prompt; with --chat, give segments in the file:"
                    + " {\"messages\": [...], \"segments\": [{\"name\": …, \"message\": 1, \"start\": …, \"end\": …}]}");
        }
        List<SpanRequest> spans = chat == null ? parseSegments(segments) : chat.segments();
        try (LlamaModel model = LlamaModel.load(selection.modelDirectory(), selection.options());
                LlamaTokenizer tokenizer = LlamaTokenizer.load(selection.modelDirectory())) {
            tokenizer.requireEmbeddingsFor(model.config().vocabSize(), selection.modelDirectory());
            EncodedText promptTokens;
            PromptLayout layout;
            if (chat == null) {
                promptTokens = tokenizer.encodePrompt(prompt.text);
                layout = layout(() -> PromptLayout.plain(tokenizer.encodePrompt(prompt.text), spans, tokenizer::isSpecial), "--segment");
            } else {
                LlamaTokenizer.ChatEncoding encoding = tokenizer.encodeChatWithSpans(chat.messages());
                promptTokens = encoding.encoded();
                layout = layout(() -> PromptLayout.chat(encoding, encoding.encoded().tokens(), chat.messages(), spans, tokenizer::isSpecial),
                        "--chat = " + prompt.chatFile);
            }
            AttributionRequest request = new AttributionRequest(promptTokens, tokenizer.encodeResponse(response));
            AttributionEngine engine = new AttributionEngine(model, tokenizer);
            try {
                engine.check(settings);
            } catch (AttributionSettings.Refused e) {
                throw new IllegalArgumentException(e.message(AttributionSettings.Option::cliOption), e);
            }
            Attribution attribution = NonFiniteAttributionException.requireFinite(engine.attribute(request, settings));
            Summary summary = Summary.of(layout, attribution.promptTokens(), attribution.seqAttr(), attribution.tokenAttr(), settings.normalization(),
                    Integer.parseInt(Setting.SUMMARY_TOP_K.defaultValue()));
            Source source = new Source(selection.modelDirectory().toString(), model.checkpoint().fingerprint(), promptTokens.text(), response);
            write(render(attribution, summary, source, shown));
            return 0;
        }
    }

    /** A bad span is a user error naming where it came from. */
    private static PromptLayout layout(java.util.function.Supplier<PromptLayout> partition, String where) {
        try {
            return partition.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    /** NAME:START:END, read from the right, so that a name may hold colons (doc:kb-4411:0:120). */
    static List<SpanRequest> parseSegments(List<String> options) {
        List<SpanRequest> spans = new ArrayList<>();
        for (String option : options) {
            int second = option.lastIndexOf(':');
            int first = second <= 0 ? -1 : option.lastIndexOf(':', second - 1);
            if (first <= 0) {
                throw new IllegalArgumentException("--segment = '" + option + "' must be NAME:START:END, for example doc:a:0:120");
            }
            try {
                spans.add(new SpanRequest(option.substring(0, first), null, PlainNumber.parseInt(option.substring(first + 1, second)),
                        PlainNumber.parseInt(option.substring(second + 1))));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--segment = '" + option + "': START and END must be integers from 0 to " + Integer.MAX_VALUE
                        + " (UTF-16 offsets into --prompt)");
            }
        }
        return spans;
    }

    private static String whitespaceNote(String text) {
        return text.isEmpty() ? "" : " (only whitespace)";
    }

    AttributionSettings settings() {
        GradientMethod chosen = GradientMethod.parse("--method", method);
        stepCount("--steps", steps);
        stepCount("--max-steps", maxSteps);
        if (targetDelta > 0 && chosen != GradientMethod.INTEGRATED_GRADIENTS) {
            throw new IllegalArgumentException("--target-delta = " + targetDelta + " adapts the steps of integrated_gradients; --method "
                    + chosen.optionName() + " takes one pass at the input and has no steps to adapt");
        }
        if (targetDelta > 0 && maxSteps < steps) {
            throw new IllegalArgumentException("--max-steps = " + maxSteps + " is below --steps = " + steps
                    + ": with --target-delta the steps start at --steps and double up to --max-steps");
        }
        try {
            return settings(chosen);
        } catch (AttributionSettings.Refused e) {
            throw new IllegalArgumentException(e.message(AttributionSettings.Option::cliOption), e);
        }
    }

    private AttributionSettings settings(GradientMethod chosen) {
        return new AttributionSettings(
                chosen,
                QuadratureRule.parse("--integration", integration),
                steps,
                Baseline.parse("--baseline", baseline),
                includeBos,
                tokenMatrix,
                targetDelta,
                // Without adaptation --max-steps plays no part, so a default below a large --steps is no error.
                Math.max(maxSteps, steps),
                ScoreNormalization.parse("--normalize", normalize),
                positive("--max-batch-tokens", maxBatchTokens));
    }

    private static int positive(String option, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(option + " = " + value + " must be positive");
        }
        return value;
    }

    private static void stepCount(String option, int value) {
        positive(option, value);
        if (value > AttributionSettings.STEPS_LIMIT) {
            throw new IllegalArgumentException(option + " = " + value + " is more than the limit of " + AttributionSettings.STEPS_LIMIT
                    + " path points");
        }
    }

    private String render(Attribution attribution, Summary summary, Source source, Aggregate shown) {
        switch (format) {
            case json:
                return JsonReport.render(attribution, summary, source);
            case html:
                return HtmlReport.render("ExplainStream attribution", null,
                        List.of(new HtmlReport.Entry("prompt → response", attribution, summary, source)), shown, deltaWarn);
            default:
                boolean color = !noColor && !OutputFile.isFile(out) && TerminalHeatmap.colorByDefault();
                return new TerminalHeatmap(color, deltaWarn).render(attribution, summary, source, shown);
        }
    }

    private void write(String text) throws IOException {
        if (!OutputFile.isFile(out)) {
            spec.commandLine().getOut().print(text);
            spec.commandLine().getOut().flush();
        } else {
            OutputFile.write("--out", out, text);
            spec.commandLine().getErr().println("wrote " + out);
        }
    }

    /** A --chat file: the messages, and the spans it names (none in the list form). */
    record ChatInput(List<ChatTurn> messages, List<SpanRequest> segments) {}

    /** A NUL or a lone surrogate, refused as the stream refuses them in an event. */
    private static void refuseUnfitText(String what, String text) {
        EventValidator.textProblem(text).ifPresent(problem -> {
            throw new IllegalArgumentException(what + " " + problem);
        });
    }

    /**
     * Java decodes the command line as UTF-8 and puts U+FFFD where the bytes are not: a shell script
     * in Latin-1 would be explained as other text without a word. Said, not refused: U+FFFD can
     * be the text's own.
     */
    private void noteReplacementCharacter(String what, String text) {
        int at = text.indexOf('\uFFFD');
        if (at >= 0) {
            spec.commandLine().getErr().println("note: " + what + " holds U+FFFD (the replacement character) at index " + at
                    + ": bytes of the command line that are not UTF-8 become it; the text is explained as it reads now");
        }
    }

    static ChatInput readChat(Path file) {
        if (file.toString().isEmpty()) {
            // Path.of("") is the working directory: "is not a file" would point at the wrong thing.
            throw new IllegalArgumentException("--chat = '' is empty; give the chat's JSON file");
        }
        if (!Files.exists(file)) {
            throw new IllegalArgumentException("--chat = " + file + " does not exist");
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--chat = " + file + " is not a file");
        }
        JsonNode root;
        try {
            // As strict as the stream's decoder: a second "role" or text after the list is a mistake to name, not to guess at.
            root = new ObjectMapper().enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("--chat = " + file + " is not valid JSON" + JsonProblem.describe(e), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("--chat = " + file + " cannot be read: " + OutputFile.reason(e), e);
        }
        if (root == null || root.isMissingNode()) {
            throw new IllegalArgumentException("--chat = " + file + " is empty: it must hold a JSON list of {role, content} messages");
        }
        List<SpanRequest> spans = List.of();
        if (root.isObject()) {
            java.util.Iterator<String> names = root.fieldNames();
            while (names.hasNext()) {
                String name = names.next();
                if (!name.equals("messages") && !name.equals("segments")) {
                    throw new IllegalArgumentException("--chat = " + file + " has an unknown field '" + name + "' (known: messages, segments)");
                }
            }
            try {
                spans = InputDecoder.segments(root.get("segments"));
            } catch (InvalidEventException e) {
                throw new IllegalArgumentException("--chat = " + file + ": " + e.getMessage(), e);
            }
            root = root.path("messages");
        }
        if (!root.isArray()) {
            throw new IllegalArgumentException("--chat = " + file + " must hold a JSON list of {role, content} messages, or an object"
                    + " {\"messages\": [...], \"segments\": [...]}");
        }
        if (root.isEmpty()) {
            throw new IllegalArgumentException("--chat = " + file + " holds no message: give at least one {\"role\": \"user\", \"content\": …}");
        }
        List<ChatTurn> messages = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode message = root.get(i);
            if (!message.isObject()) {
                throw new IllegalArgumentException("--chat message " + i + " must be an object {role, content}, found " + InputDecoder.describe(message)
                        + " in " + file);
            }
            for (String part : List.of("role", "content")) {
                JsonNode value = message.get(part);
                if (value == null) {
                    throw new IllegalArgumentException("--chat message " + i + " has no " + part + " in " + file);
                }
                if (!value.isTextual()) {
                    // As the service says it of an event's messages: the field, and what it held.
                    throw new IllegalArgumentException("--chat message " + i + " " + part + " must be a string, found " + InputDecoder.describe(value)
                            + " in " + file);
                }
            }
            if (message.get("content").asText().isBlank()) {
                throw new IllegalArgumentException("--chat message " + i + " content is empty" + whitespaceNote(message.get("content").asText())
                        + " in " + file);
            }
            java.util.Iterator<String> fields = message.fieldNames();
            while (fields.hasNext()) {
                String field = fields.next();
                if (!field.equals("role") && !field.equals("content")) {
                    throw new IllegalArgumentException("--chat message " + i + " has an unknown field '" + field + "' (known: role, content) in " + file);
                }
            }
            refuseUnfitText("--chat message " + i + " content", message.get("content").asText());
            messages.add(new ChatTurn(ChatTurn.Role.parse("--chat message " + i + " role", message.get("role").asText()),
                    message.get("content").asText()));
        }
        return new ChatInput(messages, spans);
    }

}
