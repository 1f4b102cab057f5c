package io.explainstream.logging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;

/**
 * One log event as one line of JSON: {@code time} (ISO-8601, UTC), {@code level}, {@code logger},
 * {@code thread}, {@code message}, and {@code error} (the stack trace) when there is one.
 */
final class JsonLogLine {

    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonLogLine() {}

    static String format(Instant time, String level, String logger, String thread, String message, Throwable error) {
        ObjectNode line = JSON.createObjectNode();
        line.put("time", time.toString());
        line.put("level", level);
        line.put("logger", logger);
        line.put("thread", thread);
        line.put("message", message);
        if (error != null) {
            StringWriter trace = new StringWriter();
            error.printStackTrace(new PrintWriter(trace));
            line.put("error", trace.toString());
        }
        try {
            return JSON.writeValueAsString(line);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree of strings cannot fail to serialize", e);
        }
    }
}
