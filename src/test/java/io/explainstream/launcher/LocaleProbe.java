package io.explainstream.launcher;

import java.nio.file.Files;
import java.nio.file.Path;

/** Stands in for the application in {@link LauncherTest}: says how the JVM decodes file names and whether it can open its argument. */
public final class LocaleProbe {

    private LocaleProbe() {}

    public static void main(String[] args) throws Exception {
        System.out.println("file names in " + System.getProperty("sun.jnu.encoding"));
        System.out.println(args[0] + ": " + Files.readString(Path.of(args[0])).strip());
    }
}
