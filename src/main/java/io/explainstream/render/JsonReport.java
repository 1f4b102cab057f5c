package io.explainstream.render;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.explainstream.attribution.Attribution;
import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.AttributionToken;
import io.explainstream.attribution.summary.Summary;
import io.explainstream.tokenize.Token;

/** An explanation as JSON, with snake_case field names (the same names as the Avro schema). */
public final class JsonReport {

    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonReport() {}

    /**
     * @param source where the explanation came from: model directory and fingerprint, texts
     */
    public static ObjectNode toJson(Attribution attribution, Source source) {
        return toJson(attribution, null, source);
    }

    /**
     * @param summary the segments, words and top lists; null leaves those fields out
     * @param source where the explanation came from: model directory and fingerprint, texts
     */
    public static ObjectNode toJson(Attribution attribution, Summary summary, Source source) {
        ObjectNode root = JSON.createObjectNode();
        root.put("model", source.model());
        root.put("model_fingerprint", source.fingerprint());
        root.put("prompt", source.prompt());
        root.put("response", source.response());
        AttributionSettings settings = attribution.settings();
        root.put("method", settings.method().optionName());
        root.put("integration", settings.integration().optionName());
        root.put("steps", attribution.steps());
        ArrayNode targetSteps = root.putArray("target_steps"); // as the Avro record: empty where every row used steps
        for (int points : attribution.targetSteps()) {
            targetSteps.add(points);
        }
        root.put("baseline", settings.baseline().optionName());
        root.put("include_bos", settings.includeBos());
        root.put("normalization", settings.normalization().optionName());
        ArrayNode promptTokens = root.putArray("prompt_tokens");
        for (int i = 0; i < attribution.promptTokens().size(); i++) {
            AttributionToken token = attribution.promptTokens().get(i);
            ObjectNode node = promptTokens.addObject().put("id", token.id()).put("text", token.text()).put("start", token.start())
                    .put("end", token.end()).put("attributed", token.attributed());
            if (summary != null) {
                node.put("segment", summary.tokenSegment()[i]);
            }
        }
        ArrayNode responseTokens = root.putArray("response_tokens");
        for (Token token : attribution.responseTokens()) {
            responseTokens.addObject().put("id", token.id()).put("text", token.piece()).put("start", token.start()).put("end", token.end());
        }
        putArray(root, "seq_attr", attribution.seqAttr());
        putArray(root, "seq_attr_normalized", attribution.seqAttrNormalized());
        if (attribution.tokenAttr() != null) {
            putMatrix(root, "token_attr", attribution.tokenAttr());
            putMatrix(root, "token_attr_normalized", attribution.tokenAttrNormalized());
        }
        putArray(root, "response_logprobs", attribution.responseLogProbs());
        putArray(root, "baseline_logprobs", attribution.baselineLogProbs());
        putArray(root, "convergence_delta", attribution.convergenceDelta());
        root.put("sequence_delta", attribution.sequenceDelta());
        if (summary != null) {
            putSummary(root, summary);
        }
        return root;
    }

    private static void putSummary(ObjectNode root, Summary summary) {
        ArrayNode segments = root.putArray("segments");
        for (Summary.Segment segment : summary.segments()) {
            ObjectNode node = segments.addObject().put("name", segment.name()).put("kind", segment.kind().jsonName()).put("start", segment.start())
                    .put("end", segment.end()).put("tokens", segment.tokens()).put("score", segment.score()).put("share", segment.share());
            if (segment.tokenScores() != null) {
                putArray(node, "token_scores", segment.tokenScores());
            }
        }
        ArrayNode words = root.putArray("words");
        for (Summary.Word word : summary.words()) {
            words.addObject().put("text", word.text()).put("start", word.start()).put("end", word.end()).put("token_start", word.tokenStart())
                    .put("token_end", word.tokenEnd()).put("score", word.score()).put("score_normalized", word.scoreNormalized());
        }
        putTop(root.putArray("top_tokens"), summary.topTokens());
        putTop(root.putArray("top_words"), summary.topWords());
        root.put("top_segment", summary.topSegment());
        root.put("attribution_entropy", summary.attributionEntropy());
    }

    private static void putTop(ArrayNode array, java.util.List<Summary.Top> items) {
        for (Summary.Top item : items) {
            array.addObject().put("index", item.index()).put("text", item.text()).put("start", item.start()).put("end", item.end())
                    .put("score", item.score());
        }
    }

    public static String render(Attribution attribution, Source source) {
        return render(attribution, null, source);
    }

    public static String render(Attribution attribution, Summary summary, Source source) {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJson(attribution, summary, source)) + System.lineSeparator();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }

    private static void putArray(ObjectNode root, String name, double[] values) {
        ArrayNode array = root.putArray(name);
        for (double value : values) {
            array.add(value);
        }
    }

    private static void putMatrix(ObjectNode root, String name, double[][] rows) {
        ArrayNode array = root.putArray(name);
        for (double[] row : rows) {
            ArrayNode out = array.addArray();
            for (double value : row) {
                out.add(value);
            }
        }
    }
}
