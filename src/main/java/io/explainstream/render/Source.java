package io.explainstream.render;

/**
 * What an explanation explains, for report headers.
 *
 * @param model the model's name or directory
 * @param fingerprint the checkpoint fingerprint
 * @param prompt the prompt text (for chat input, the rendered template)
 * @param response the response text
 */
public record Source(String model, String fingerprint, String prompt, String response) {}
