package io.explainstream.json;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.util.List;

/** A JSON file's problem in one line: where it is and Jackson's own words, without its parser internals. */
public final class JsonProblem {

    private JsonProblem() {}

    /** " at line L, column C: what" for a parse error; ": reason" for another read error. */
    public static String describe(IOException e) {
        if (e instanceof JsonProcessingException json) {
            return where(json.getLocation()) + ": " + words(json);
        }
        return ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
    }

    /** " at line L, column C", or nothing when Jackson does not know. */
    public static String where(JsonLocation location) {
        return location == null || location.getLineNr() < 0 ? "" : " at line " + location.getLineNr() + ", column " + location.getColumnNr();
    }

    /** Jackson's message cut before its source descriptions, token classes and nested locations. */
    public static String words(JsonProcessingException e) {
        String message = e.getOriginalMessage() == null ? "malformed" : e.getOriginalMessage();
        for (String internal : List.of("\n", " (for ", " (start marker at", " at [Source", " (of type ", " (bound as ")) {
            int cut = message.indexOf(internal);
            if (cut > 0) {
                message = message.substring(0, cut);
            }
        }
        message = message.strip();
        // Jackson's "Duplicate field 'x'" (where duplicates are refused) in the words of a file's author.
        return message.startsWith("Duplicate field ") ? "the key " + message.substring("Duplicate field ".length()) + " is given twice" : message;
    }
}
