package io.explainstream.stream.ingest;

import java.util.Set;

/**
 * What the service accepts, where events enter.
 *
 * @param promptTokenLimit longest prompt, in tokens
 * @param promptPolicy what happens to longer prompts
 * @param responseTokenLimit longest response, in tokens
 * @param responsePolicy what happens to longer responses
 * @param eventBytesLimit largest record value
 * @param metadataEntriesLimit most metadata entries
 * @param acceptedModels model names explained; empty: all
 * @param otherModels what happens to events for other models
 */
public record ValidationPolicy(
        int promptTokenLimit,
        PromptPolicy promptPolicy,
        int responseTokenLimit,
        ResponsePolicy responsePolicy,
        int eventBytesLimit,
        int metadataEntriesLimit,
        Set<String> acceptedModels,
        OtherModels otherModels) {

    /** Longer prompts. */
    public enum PromptPolicy {
        /** Keep the last tokens (the ones nearest the response); flagged in the output. */
        TRUNCATE_LEFT,
        REJECT
    }

    /** Longer responses. */
    public enum ResponsePolicy {
        REJECT,
        /** Explain the first tokens only; flagged in the output. */
        TRUNCATE_RIGHT
    }

    /** Events whose model is not accepted. */
    public enum OtherModels {
        SKIP,
        DLQ,
        EXPLAIN
    }
}
