package io.explainstream.testing;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** What the loggers write while an action runs: slf4j-simple writes to standard error, looked up at each line. */
public final class StandardError {

    private StandardError() {}

    /** What is written to standard error while {@code action} runs (in this JVM, by any thread). */
    public static String during(Runnable action) {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream stderr = System.err;
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setErr(stderr);
        }
        return log.toString(StandardCharsets.UTF_8);
    }
}
