package io.explainstream.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** A report file option, checked before any work is done, so that a run does not end in a stack trace over a typo. */
final class OutputFile {

    private OutputFile() {}

    /** Refuses, naming {@code option} and the value, a path that is a directory, in no existing folder, or not writable. */
    static void requireWritable(String option, Path file) {
        if (file.toString().isBlank()) {
            throw new IllegalArgumentException(option + " is empty: give a file name");
        }
        Path absolute = file.toAbsolutePath();
        Path folder = absolute.getParent();
        if (Files.isDirectory(absolute)) {
            throw new IllegalArgumentException(option + " = " + file + " is a directory; give a file name");
        }
        if (folder == null || !Files.isDirectory(folder)) {
            throw new IllegalArgumentException(option + " = " + file + " cannot be written: folder " + folder + " does not exist");
        }
        if (Files.exists(absolute) ? !Files.isWritable(absolute) : !Files.isWritable(folder)) {
            throw new IllegalArgumentException(option + " = " + file + " cannot be written: permission denied");
        }
    }
}
