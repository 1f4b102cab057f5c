package io.explainstream.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Debian's headless Chromium, which {@code .ci/run} installs, for the tests that render pages in a real browser. */
public final class Chromium {

    private static final Path PATH = Path.of("/usr/bin/chromium");

    private Chromium() {}

    /**
     * Its path; the test is skipped where it is missing outside CI. In CI ({@code CI=true}) it is
     * never skipped: a missing Chromium fails the test where it is started.
     */
    public static Path required() {
        Assumptions.assumeTrue(Files.isExecutable(PATH) || "true".equals(System.getenv("CI")), "Debian's chromium is not installed");
        return PATH;
    }
}
