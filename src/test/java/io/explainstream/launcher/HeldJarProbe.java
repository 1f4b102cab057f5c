package io.explainstream.launcher;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Stands in for a long-running service in {@link LauncherTest}: says which jar it runs from, waits
 * until its argument exists, and only then loads a class from its jar, as a service loads classes
 * long after its start.
 */
public final class HeldJarProbe {

    private HeldJarProbe() {}

    public static void main(String[] args) throws Exception {
        System.out.println("running " + Path.of(HeldJarProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
        System.out.flush();
        if (args.length == 0) {
            return;
        }
        Path signal = Path.of(args[0]);
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!Files.exists(signal) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        System.out.println(Late.greeting());
    }

    /** Loaded only after the wait. */
    static final class Late {
        static String greeting() {
            return "late class loaded";
        }
    }
}
