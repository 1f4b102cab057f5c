package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** A command whose standard output cannot be written says so and fails, instead of exiting 0 with its output lost. */
class StandardOutputTest {

    /** Standard output as on a full disk (a redirect to /dev/full): every write fails. */
    private static final OutputStream FULL_DISK = new OutputStream() {
        @Override
        public void write(int b) throws IOException {
            throw new IOException("No space left on device");
        }
    };

    @Test
    void outputThatCannotBeWrittenIsAnErrorWithExitTwo() {
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new PrintStream(FULL_DISK), true), new PrintWriter(err, true), "--version");
        assertEquals(2, code, err.toString());
        assertEquals("error: standard output could not be written (a full disk, or a reader that went away): output was lost",
                err.toString().strip());
        StringWriter written = new StringWriter();
        assertEquals(0, Main.run(new PrintWriter(written, true), new PrintWriter(new StringWriter(), true), "--version"), "written: 0");
    }
}
