package io.explainstream.tokenize;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A sentencepiece BPE vocabulary in llama2.c's {@code tokenizer.bin}, written as the Hugging Face
 * tokenizer files of a LLaMA checkpoint ({@code tokenizer.json}, {@code tokenizer_config.json},
 * {@code special_tokens_map.json}).
 *
 * <p>The file is an int32 (the longest piece's length) and then, per id, a float32 score, an int32
 * length and the piece's UTF-8 bytes, little-endian. llama2.c's export wrote the pieces for its C
 * decoder: "▁" as a space, BOS and EOS as "\n&lt;s&gt;\n" and "\n&lt;/s&gt;\n", and (in its later
 * exports) the byte-fallback pieces "&lt;0xAB&gt;" as the byte itself; each is written back here.
 * The merges are derived from the scores as Hugging Face's sentencepiece converter derives them:
 * every split of a piece into two pieces of the vocabulary, in the order of the whole piece's
 * score, highest first.
 *
 * @param pieces the vocabulary in id order, as sentencepiece spells it
 * @param scores each piece's score: for BPE, the higher, the earlier merged
 */
public record Llama2cTokenizer(List<String> pieces, float[] scores) {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String WORD_START = "\u2581";
    /** sentencepiece's LLaMA ids, which llama2.c's exports keep. */
    private static final int UNK = 0;
    private static final int BOS = 1;
    private static final int EOS = 2;
    private static final int FIRST_BYTE = 3;
    private static final int BYTES = 256;

    /** Reads {@code tokenizer.bin} holding {@code vocabSize} pieces (llama2.c's file does not say how many). */
    public static Llama2cTokenizer read(Path tokenizerBin, int vocabSize) {
        if (vocabSize < FIRST_BYTE + BYTES) {
            throw new TokenizerLoadException("a llama2.c vocabulary holds <unk>, <s>, </s> and the 256 byte pieces, " + (FIRST_BYTE + BYTES)
                    + " ids, before any text piece; the model's vocab_size is " + vocabSize);
        }
        byte[] raw;
        try {
            raw = Files.readAllBytes(tokenizerBin);
        } catch (IOException e) {
            throw new TokenizerLoadException(tokenizerBin + " cannot be read: " + e.getMessage(), e);
        }
        ByteBuffer bytes = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        List<String> pieces = new ArrayList<>(vocabSize);
        float[] scores = new float[vocabSize];
        try {
            bytes.getInt(); // the longest piece's length, for the C reader's buffer
            for (int id = 0; id < vocabSize; id++) {
                scores[id] = bytes.getFloat();
                int length = bytes.getInt();
                if (length < 0 || length > bytes.remaining()) {
                    throw new TokenizerLoadException(tokenizerBin + ": piece " + id + " has length " + length + ", past the end of the file");
                }
                if (length == 0 && id >= FIRST_BYTE + BYTES) {
                    throw new TokenizerLoadException(tokenizerBin + ": piece " + id + " is empty; a sentencepiece vocabulary has no empty piece");
                }
                byte[] piece = new byte[length];
                bytes.get(piece);
                pieces.add(piece(id, piece, tokenizerBin));
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw new TokenizerLoadException(tokenizerBin + " ends after " + pieces.size() + " pieces, where the model's vocab_size is " + vocabSize
                    + ": it is not the tokenizer of this model");
        }
        if (bytes.hasRemaining()) {
            throw new TokenizerLoadException(tokenizerBin + " holds more than the model's vocab_size of " + vocabSize + " pieces (" + bytes.remaining()
                    + " bytes left over): it is not the tokenizer of this model");
        }
        requireDistinct(pieces, tokenizerBin);
        return new Llama2cTokenizer(List.copyOf(pieces), scores);
    }

    /** tokenizer.json's vocabulary maps pieces to ids: a piece twice would leave one id unreachable. */
    private static void requireDistinct(List<String> pieces, Path file) {
        Map<String, Integer> seen = new HashMap<>();
        for (int id = 0; id < pieces.size(); id++) {
            Integer before = seen.putIfAbsent(pieces.get(id), id);
            if (before != null) {
                throw new TokenizerLoadException(file + ": piece '" + pieces.get(id) + "' is both id " + before + " and id " + id);
            }
        }
    }

    /** One piece as sentencepiece spells it, from the bytes llama2.c exported. */
    private static String piece(int id, byte[] exported, Path file) {
        if (id == UNK) {
            return "<unk>";
        }
        if (id == BOS) {
            return "<s>";
        }
        if (id == EOS) {
            return "</s>";
        }
        if (id >= FIRST_BYTE && id < FIRST_BYTE + BYTES) {
            return String.format(Locale.ROOT, "<0x%02X>", id - FIRST_BYTE);
        }
        try {
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(exported)).toString();
            return text.replace(" ", WORD_START);
        } catch (CharacterCodingException e) {
            throw new TokenizerLoadException(file + ": piece " + id + " is not UTF-8; is this a sentencepiece vocabulary exported by llama2.c?");
        }
    }

    /** Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json for a model of {@code maxPositions} positions. */
    public void write(Path out, int maxPositions) throws IOException {
        JSON.writerWithDefaultPrettyPrinter().writeValue(out.resolve("tokenizer.json").toFile(), tokenizerJson());
        JSON.writerWithDefaultPrettyPrinter().writeValue(out.resolve("tokenizer_config.json").toFile(), tokenizerConfig(maxPositions));
        ObjectNode special = JSON.createObjectNode().put("bos_token", "<s>").put("eos_token", "</s>").put("unk_token", "<unk>");
        JSON.writerWithDefaultPrettyPrinter().writeValue(out.resolve("special_tokens_map.json").toFile(), special);
    }

    /**
     * The merges, as "left right": every split of a piece (not a special or byte piece) into two
     * pieces of the vocabulary, by the whole piece's score, highest first, and within one piece by
     * the halves' ids.
     */
    public List<String> merges() {
        Map<String, Integer> ids = new HashMap<>();
        for (int id = 0; id < pieces.size(); id++) {
            ids.put(pieces.get(id), id);
        }
        record Merge(String left, String right, float score, int leftId, int rightId) {}
        List<Merge> merges = new ArrayList<>();
        for (int id = FIRST_BYTE + BYTES; id < pieces.size(); id++) {
            String piece = pieces.get(id);
            List<Merge> splits = new ArrayList<>();
            for (int at = piece.offsetByCodePoints(0, 1); at < piece.length(); at = piece.offsetByCodePoints(at, 1)) {
                Integer left = ids.get(piece.substring(0, at));
                Integer right = ids.get(piece.substring(at));
                if (left != null && right != null) {
                    splits.add(new Merge(piece.substring(0, at), piece.substring(at), scores[id], left, right));
                }
            }
            splits.sort(Comparator.comparingInt(Merge::leftId).thenComparingInt(Merge::rightId));
            merges.addAll(splits);
        }
        // Stable: pieces of equal score keep their id order.
        merges.sort(Comparator.comparingDouble((Merge merge) -> merge.score()).reversed());
        return merges.stream().map(merge -> merge.left() + " " + merge.right()).toList();
    }

    /** Hugging Face's LLaMA tokenizer (the "legacy" sentencepiece BPE with byte fallback), with this vocabulary. */
    private ObjectNode tokenizerJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id : new int[] {UNK, BOS, EOS}) {
            added.addObject().put("id", id).put("content", pieces.get(id)).put("single_word", false).put("lstrip", false).put("rstrip", false)
                    .put("normalized", false).put("special", true);
        }
        ObjectNode normalizer = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode normalizers = normalizer.putArray("normalizers");
        normalizers.addObject().put("type", "Prepend").put("prepend", WORD_START);
        ObjectNode replace = normalizers.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", WORD_START);
        root.putNull("pre_tokenizer");
        root.set("post_processor", postProcessor());
        root.set("decoder", decoder());
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.put("unk_token", "<unk>").putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true).put("byte_fallback", true);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < pieces.size(); id++) {
            vocab.put(pieces.get(id), id);
        }
        ArrayNode merges = model.putArray("merges");
        merges().forEach(merges::add);
        return root;
    }

    /** BOS before the text, as {@code add_bos_token} says; the tokenizer here is used without it and adds BOS itself. */
    private static ObjectNode postProcessor() {
        ObjectNode processor = JSON.createObjectNode().put("type", "TemplateProcessing");
        ArrayNode single = processor.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = processor.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = processor.putObject("special_tokens").putObject("<s>").put("id", "<s>");
        bos.putArray("ids").add(BOS);
        bos.putArray("tokens").add("<s>");
        return processor;
    }

    private static ObjectNode decoder() {
        ObjectNode decoder = JSON.createObjectNode().put("type", "Sequence");
        ArrayNode decoders = decoder.putArray("decoders");
        ObjectNode replace = decoders.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", WORD_START);
        replace.put("content", " ");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        return decoder;
    }

    private ObjectNode tokenizerConfig(int maxPositions) {
        ObjectNode config = JSON.createObjectNode();
        config.put("add_bos_token", true).put("add_eos_token", false);
        ObjectNode decoder = config.putObject("added_tokens_decoder");
        for (int id : new int[] {UNK, BOS, EOS}) {
            decoder.putObject(Integer.toString(id)).put("content", pieces.get(id)).put("lstrip", false).put("normalized", false).put("rstrip", false)
                    .put("single_word", false).put("special", true);
        }
        config.put("bos_token", "<s>").put("eos_token", "</s>").put("unk_token", "<unk>").putNull("pad_token");
        config.put("clean_up_tokenization_spaces", false).put("legacy", true).put("model_max_length", maxPositions);
        config.putObject("sp_model_kwargs");
        config.put("spaces_between_special_tokens", false).put("tokenizer_class", "LlamaTokenizer");
        return config;
    }
}
