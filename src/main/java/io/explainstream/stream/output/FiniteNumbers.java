package io.explainstream.stream.output;

import io.explainstream.attribution.NonFiniteAttributionException;
import io.explainstream.schema.Explanation;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The check that an explanation about to be published holds numbers only: the record is what
 * dashboards and the statistics read, so it is checked whatever explainer produced it.
 */
public final class FiniteNumbers {

    private FiniteNumbers() {}

    /** Why the explanation cannot be published, or empty when every score, log-probability and delta is finite. */
    public static Optional<NonFiniteAttributionException> problem(Explanation explanation) {
        Map<String, double[]> fields = new LinkedHashMap<>();
        fields.put("sequence_delta", new double[] {explanation.getSequenceDelta()});
        fields.put("seq_attr", values(explanation.getSeqAttr()));
        fields.put("response_logprobs", values(explanation.getResponseLogprobs()));
        fields.put("baseline_logprobs", values(explanation.getBaselineLogprobs()));
        fields.put("convergence_delta", values(explanation.getConvergenceDelta()));
        if (explanation.getTokenAttr() != null) {
            fields.put("token_attr", explanation.getTokenAttr().stream().flatMap(List::stream).mapToDouble(Double::doubleValue).toArray());
        }
        return NonFiniteAttributionException.of(fields);
    }

    private static double[] values(List<Double> list) {
        return list.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
