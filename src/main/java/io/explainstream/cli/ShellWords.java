package io.explainstream.cli;

import java.util.List;

/** Command lines the tool prints for a user to run next (a resume), quoted for a POSIX shell. */
final class ShellWords {

    private ShellWords() {}

    /** The argument as one shell word: as it is when plain, else in single quotes. */
    static String quoted(String arg) {
        return arg.matches("[A-Za-z0-9_./:=,+@%-]+") ? arg : "'" + arg.replace("'", "'\\''") + "'";
    }

    /** The tool's launcher as the user started it ({@code ./explainstream}), then the arguments, each quoted. */
    static String commandLine(List<String> args) {
        StringBuilder line = new StringBuilder(quoted(System.getProperty("explainstream.command", "explainstream")));
        args.forEach(arg -> line.append(' ').append(quoted(arg)));
        return line.toString();
    }
}
