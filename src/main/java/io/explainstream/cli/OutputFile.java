package io.explainstream.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A report file option, checked before any work is done, so that a run does not end in a stack
 * trace over a typo; and what went wrong with a file, in words.
 */
final class OutputFile {

    /** The value of a report option that means standard output, as {@code send} reads standard input from {@code -}. */
    static final String STANDARD_OUTPUT = "-";

    private OutputFile() {}

    /** Whether a report option names a file: given, and not {@link #STANDARD_OUTPUT}. */
    static boolean isFile(Path option) {
        return option != null && !option.toString().equals(STANDARD_OUTPUT);
    }

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

    /**
     * Writes {@code text} to {@code file} in UTF-8. What the checks before the work cannot see (a
     * full disk, a quota) is one line naming {@code option} and the path, as theirs are.
     */
    static void write(String option, Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException(option + " = " + file + " cannot be written: " + reason(e), e);
        }
    }

    /**
     * Makes {@code folder} if it is new; refuses one that is a file, is not empty or cannot be
     * written, naming {@code option}: said before minutes of work, not after.
     */
    static void prepareEmptyFolder(String option, Path folder) {
        if (Files.exists(folder) && !Files.isDirectory(folder)) {
            throw new IllegalArgumentException(option + " = " + folder + " is a file; give a folder");
        }
        try {
            if (Files.isDirectory(folder)) {
                try (var entries = Files.list(folder)) {
                    if (entries.findAny().isPresent()) {
                        throw new IllegalArgumentException(option + " = " + folder + " exists and is not empty");
                    }
                }
            }
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new IllegalArgumentException(option + " = " + folder + " cannot be written: " + reason(e), e);
        }
        if (!Files.isWritable(folder)) {
            throw new IllegalArgumentException(option + " = " + folder + " cannot be written: permission denied");
        }
    }

    /** Deletes a folder and what it holds, as far as it can: a leftover temporary folder is not worth failing a command for. */
    static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }

    /** What went wrong with a file, in words: Java's exception names the path, not the cause. */
    static String reason(IOException e) {
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.NoSuchFileException missing) {
            // A folder that exists but takes no new files (/proc) answers "no such file" too.
            Path parent = missing.getFile() == null ? null : Path.of(missing.getFile()).toAbsolutePath().getParent();
            return parent != null && Files.isDirectory(parent) ? "folder " + parent + " takes no new files" : "its folder does not exist";
        }
        if (e instanceof java.nio.file.FileSystemException fileSystem && fileSystem.getReason() != null) {
            return fileSystem.getReason().toLowerCase(java.util.Locale.ROOT);
        }
        return e.getMessage();
    }
}
