package io.explainstream.attribution;

/**
 * One event laid out for the model: the teacher-forced sequence prompt + response, which prompt
 * positions are attributed, and what each response position must predict.
 *
 * @param request the tokenized request it came from
 * @param ids (P + T) prompt ids then response ids
 * @param promptLength P
 * @param attributed (P + T) true at attributed prompt positions; response positions are never attributed
 * @param targets (T) the response ids; target t is predicted at position P − 1 + t
 */
record PreparedEvent(AttributionRequest request, long[] ids, int promptLength, boolean[] attributed, long[] targets) {

    int length() {
        return ids.length;
    }

    int responseLength() {
        return targets.length;
    }

    /** The position whose logits predict response token t. */
    int targetPosition(int t) {
        return promptLength - 1 + t;
    }
}
