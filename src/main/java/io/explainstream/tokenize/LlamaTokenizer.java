package io.explainstream.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.json.JsonProblem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The tokenizer of a Hugging Face checkpoint directory ({@code tokenizer.json}, with
 * {@code tokenizer_config.json} for the BOS policy and special tokens), over DJL's binding of the
 * Rust {@code tokenizers} library.
 *
 * <p>Texts are always encoded without the post-processor's special tokens; BOS is added here for
 * prompts when {@code add_bos_token} says so. That keeps the rule in one place and gives BOS an
 * empty character span.
 */
public final class LlamaTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final boolean addBos;
    private final String bosToken;
    private final String eosToken;
    private final long bosId;
    private final long eosId;
    private final long unkId;
    private final long padId;
    private final int vocabularySize;
    /** One more than the largest id of the vocabulary's pieces, added tokens left out. */
    private final int pieceCount;

    private LlamaTokenizer(HuggingFaceTokenizer tokenizer, int vocabularySize, int pieceCount, boolean addBos, String bosToken, String eosToken,
            String padToken, String unkToken) {
        this.tokenizer = tokenizer;
        this.vocabularySize = vocabularySize;
        this.pieceCount = pieceCount;
        this.addBos = addBos;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.bosId = idOf(bosToken);
        this.eosId = idOf(eosToken);
        this.unkId = idOf(unkToken);
        this.padId = padToken == null ? -1 : idOf(padToken);
    }

    /** Loads {@code tokenizer.json} and {@code tokenizer_config.json} from a model directory. */
    public static LlamaTokenizer load(Path modelDir) {
        Path file = modelDir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new TokenizerLoadException("no tokenizer.json in model directory " + modelDir);
        }
        JsonNode config = readConfig(modelDir.resolve("tokenizer_config.json"));
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(false)
                    .optTruncation(false)
                    .optPadding(false)
                    .build();
        } catch (IOException | RuntimeException e) {
            throw new TokenizerLoadException("tokenizer.json in " + modelDir + " cannot be read: " + e.getMessage(), e);
        }
        JsonNode json = readJson(file);
        return new LlamaTokenizer(
                tokenizer,
                largestId(json, true) + 1,
                largestId(json, false) + 1,
                addBosToken(config, modelDir),
                tokenText(config, "bos_token", "<s>"),
                tokenText(config, "eos_token", "</s>"),
                tokenText(config, "pad_token", null),
                tokenText(config, "unk_token", "<unk>"));
    }

    /** tokenizer_config.json's add_bos_token: true when absent; a value that is not a boolean is refused (Jackson read "maybe" as true). */
    private static boolean addBosToken(JsonNode config, Path modelDir) {
        JsonNode value = config.get("add_bos_token");
        if (value == null || value.isNull()) {
            return true;
        }
        if (!value.isBoolean()) {
            throw new TokenizerLoadException("tokenizer_config.json in " + modelDir + ": add_bos_token = " + value + " is not valid: it must be true or false");
        }
        return value.booleanValue();
    }

    private static JsonNode readJson(Path tokenizerJson) {
        try {
            return new ObjectMapper().readTree(tokenizerJson.toFile());
        } catch (IOException e) {
            throw new TokenizerLoadException(tokenizerJson + " cannot be read: " + e.getMessage(), e);
        }
    }

    /** The largest id of the vocabulary's pieces, and of the added tokens too when {@code withAdded}; -1 for none. */
    private static int largestId(JsonNode tokenizerJson, boolean withAdded) {
        int largest = -1;
        for (JsonNode id : tokenizerJson.path("model").path("vocab")) {
            largest = Math.max(largest, id.asInt());
        }
        if (withAdded) {
            for (JsonNode added : tokenizerJson.path("added_tokens")) {
                largest = Math.max(largest, added.path("id").asInt());
            }
        }
        return largest;
    }

    private static JsonNode readConfig(Path file) {
        if (!Files.isRegularFile(file)) {
            return new ObjectMapper().createObjectNode();
        }
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new TokenizerLoadException(file + " is not valid JSON" + JsonProblem.describe(e), e);
        }
    }

    /** A special token is either a string or an object with a {@code content} field. */
    private static String tokenText(JsonNode config, String key, String fallback) {
        JsonNode node = config.get(key);
        if (node == null || node.isNull()) {
            return fallback;
        }
        return node.isObject() ? node.path("content").asText(fallback) : node.asText();
    }

    private long idOf(String token) {
        Encoding encoding = tokenizer.encode(token, false, false);
        long[] ids = encoding.getIds();
        // The special token may be preceded by the normalizer's "▁" piece; its own id is the last.
        if (ids.length == 0 || !encoding.getTokens()[ids.length - 1].equals(token)) {
            throw new TokenizerLoadException("special token '" + token + "' is not in the vocabulary of tokenizer.json");
        }
        return ids[ids.length - 1];
    }

    /** Encodes a prompt, with BOS first when {@code add_bos_token} is set. */
    public EncodedText encodePrompt(String text) {
        List<Token> tokens = new ArrayList<>();
        if (addBos) {
            tokens.add(new Token(bosId, bosToken, 0, 0));
        }
        tokens.addAll(encodeRaw(text));
        return new EncodedText(text, tokens);
    }

    /** Encodes a response: no special tokens, as the model generated it after the prompt. */
    public EncodedText encodeResponse(String text) {
        return new EncodedText(text, encodeRaw(text));
    }

    /** Renders the Llama-2 chat template and encodes it; its literal {@code <s>} become BOS ids. */
    public EncodedText encodeChat(List<ChatTurn> messages) {
        return encodeChatWithSpans(messages).encoded();
    }

    /** {@link #encodeChat}, with where each message's content sits in the rendered text. */
    public ChatEncoding encodeChatWithSpans(List<ChatTurn> messages) {
        Llama2ChatTemplate.Rendered rendered = Llama2ChatTemplate.renderWithSpans(messages, bosToken, eosToken);
        return new ChatEncoding(new EncodedText(rendered.text(), encodeRaw(rendered.text())), rendered.messages());
    }

    /**
     * A chat prompt's tokens and its messages' spans in the rendered text.
     *
     * @param encoded the rendered template and its tokens
     * @param messages one span per message, in order
     */
    public record ChatEncoding(EncodedText encoded, List<Llama2ChatTemplate.MessageSpan> messages) {}

    /** True for the tokens that stand for no text of their own: BOS and EOS. */
    public boolean isSpecial(long id) {
        return id == bosId || id == eosId;
    }

    public String renderChat(List<ChatTurn> messages) {
        return Llama2ChatTemplate.render(messages, bosToken, eosToken);
    }

    private List<Token> encodeRaw(String text) {
        Encoding encoding = tokenizer.encode(text, false, false);
        long[] ids = encoding.getIds();
        String[] pieces = encoding.getTokens();
        CharSpan[] spans = encoding.getCharTokenSpans();
        int[] utf16Index = utf16IndexOfCodePoints(text);
        List<Token> tokens = new ArrayList<>(ids.length);
        for (int i = 0; i < ids.length; i++) {
            // Byte-fallback pieces of one character share its span; a missing span is an empty one.
            int start = spans[i] == null ? 0 : utf16Index[spans[i].getStart()];
            int end = spans[i] == null ? start : utf16Index[spans[i].getEnd()];
            // The "▁" the normalizer prepends (at the text's start, and after each special token)
            // stands for no character, yet the Rust tokenizer gives it the span of the character
            // after it, which the next token covers too: give it an empty span there.
            if (i + 1 < ids.length && pieces[i].equals("▁") && spans[i] != null && spans[i + 1] != null
                    && spans[i + 1].getStart() < spans[i].getEnd() && spans[i + 1].getStart() == spans[i].getStart()) {
                end = start;
            }
            tokens.add(new Token(ids[i], pieces[i], start, end));
        }
        return tokens;
    }

    /**
     * The Rust tokenizer counts offsets in code points (Rust {@code char}s); the contract
     * ({@code schemas/Explanation.avsc}), Java's and JavaScript's strings count UTF-16 code units,
     * which differ after every character outside the Basic Multilingual Plane (an emoji is two).
     * Entry {@code k} is the UTF-16 index of code point {@code k}; the last entry is the length.
     */
    private static int[] utf16IndexOfCodePoints(String text) {
        int[] index = new int[text.codePointCount(0, text.length()) + 1];
        int codePoint = 0;
        for (int unit = 0; unit < text.length(); unit += Character.charCount(text.codePointAt(unit))) {
            index[codePoint++] = unit;
        }
        index[codePoint] = text.length();
        return index;
    }

    public String decode(long[] ids) {
        return tokenizer.decode(ids, true);
    }

    /** The number of ids the tokenizer can produce. */
    public int vocabularySize() {
        return vocabularySize;
    }

    /**
     * Refuses a model with fewer embeddings than this tokenizer has pieces: text would encode to
     * ids the model has none for, and every event would fail. Added tokens past the model's
     * vocabulary (a pad token added for fine-tuning, say) are let through: text rarely spells them,
     * and an event that does is refused alone, naming the id.
     *
     * @param modelVocabSize the model's {@code vocab_size}
     * @param modelDir where both files are, for the message
     */
    public void requireEmbeddingsFor(int modelVocabSize, Path modelDir) {
        if (modelVocabSize < pieceCount) {
            throw new TokenizerLoadException("config.json: vocab_size = " + modelVocabSize + " is smaller than the vocabulary of tokenizer.json ("
                    + pieceCount + " pieces) in " + modelDir + ": text would encode to token ids the model has no embedding for; the tokenizer"
                    + " and the checkpoint do not belong together", null);
        }
    }

    public long bosId() {
        return bosId;
    }

    public long unkId() {
        return unkId;
    }

    /** The pad token's id, or -1 when the tokenizer defines none. */
    public long padId() {
        return padId;
    }

    public boolean addsBos() {
        return addBos;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
