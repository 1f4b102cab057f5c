package io.explainstream.attribution;

import io.explainstream.tokenize.EncodedText;

/**
 * One prompt and the response to explain, already tokenized.
 *
 * @param prompt the prompt tokens (with BOS when the tokenizer adds one)
 * @param response the response tokens, without special tokens
 */
public record AttributionRequest(EncodedText prompt, EncodedText response) {}
