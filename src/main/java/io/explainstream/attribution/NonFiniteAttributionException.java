package io.explainstream.attribution;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * An attribution whose numbers are NaN or infinite. Such numbers print and serialize like any
 * others, so without this check a dashboard would read them as scores, a completeness gap of NaN
 * would pass every faithfulness threshold (NaN compares false), and entropy would read 0.
 */
public final class NonFiniteAttributionException extends RuntimeException {

    private NonFiniteAttributionException(String message) {
        super(message);
    }

    /** The exception for an attribution that has a non-finite number, or empty when every number is finite. */
    public static Optional<NonFiniteAttributionException> of(Attribution attribution) {
        Map<String, double[]> fields = new LinkedHashMap<>();
        fields.put("sequence_delta", new double[] {attribution.sequenceDelta()});
        fields.put("seq_attr", attribution.seqAttr());
        fields.put("response_logprobs", attribution.responseLogProbs());
        fields.put("baseline_logprobs", attribution.baselineLogProbs());
        fields.put("convergence_delta", attribution.convergenceDelta());
        if (attribution.tokenAttr() != null) {
            fields.put("token_attr", Arrays.stream(attribution.tokenAttr()).flatMapToDouble(Arrays::stream).toArray());
        }
        return of(fields);
    }

    /** Returns {@code attribution}, or throws the exception for it where a number in it is not finite. */
    public static Attribution requireFinite(Attribution attribution) {
        of(attribution).ifPresent(e -> {
            throw e;
        });
        return attribution;
    }

    /** The exception naming each field (by its name in the explanation record) that has a non-finite value, or empty. */
    public static Optional<NonFiniteAttributionException> of(Map<String, double[]> fields) {
        List<String> found = new ArrayList<>();
        fields.forEach((field, values) -> note(found, field, values));
        if (found.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new NonFiniteAttributionException("the attribution is not finite (" + String.join(", ", found)
                + "): the model's forward pass gave NaN or infinity on this input, from activations past the compute dtype's range"
                + " (float16's, 65504, is the one reached in practice: run a float16 model in float32, or bfloat16 on a GPU) or from"
                + " damaged weights (then on every input)"));
    }

    /** Notes how many of {@code values} are NaN or infinite, with the first of them, under {@code field}. */
    private static void note(List<String> found, String field, double[] values) {
        int bad = 0;
        double first = 0;
        for (double value : values) {
            if (!Double.isFinite(value)) {
                first = bad == 0 ? value : first;
                bad++;
            }
        }
        if (bad == 1 && values.length == 1) {
            found.add(field + " = " + first);
        } else if (bad > 0) {
            found.add(String.format(Locale.ROOT, "%s has %d of %d values NaN or infinite, the first %s", field, bad, values.length, first));
        }
    }
}
