package io.explainstream.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.TestData;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code explainstream} script, run as a user runs it, in a copy of the project whose jar is a
 * probe: under LANG=C the JVM decoded file names as ASCII, and {@code send}, {@code replay
 * --diff-out} or {@code --config} with a non-ASCII path failed with a garbled name; a command run
 * after a source change rebuilt target/explainstream.jar in place under a service running from it,
 * whose next class load then failed.
 */
class LauncherTest {

    @Test
    @Tag("slow") // starts a child process
    void aNonAsciiPathOpensUnderTheCLocale(@TempDir Path dir) throws Exception {
        Path project = Files.createDirectories(dir.resolve("project"));
        Path launcher = Files.copy(TestData.repo().resolve("explainstream"), project.resolve("explainstream"), StandardCopyOption.COPY_ATTRIBUTES);
        probeJar(Files.createDirectories(project.resolve("target")).resolve("explainstream.jar"));
        Path file = Files.writeString(Files.createDirectories(dir.resolve("données 🐶")).resolve("événements.jsonl"), "Lily saw a 🐶\n");

        ProcessBuilder builder = new ProcessBuilder(launcher.toString(), file.toString()).redirectErrorStream(true);
        builder.environment().keySet().removeIf(name -> name.startsWith("LC_") || name.equals("LANG") || name.equals("JAVA_OPTS"));
        builder.environment().put("LANG", "C");
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.contains("file names in UTF-8"), output);
        assertTrue(output.contains(file + ": Lily saw a 🐶"), output);
    }

    @Test
    @Tag("slow") // starts child processes
    void aRebuildDoesNotChangeTheJarUnderARunningCommand(@TempDir Path dir) throws Exception {
        Path project = Files.createDirectories(dir.resolve("project [1]")); // brackets: the launcher matches its copies' paths as patterns
        Path launcher = Files.copy(TestData.repo().resolve("explainstream"), project.resolve("explainstream"), StandardCopyOption.COPY_ATTRIBUTES);
        Path jar = Files.createDirectories(project.resolve("target")).resolve("explainstream.jar");
        writeJar(jar, HeldJarProbe.class, new byte[0], HeldJarProbe.class, HeldJarProbe.Late.class);
        Path signal = dir.resolve("go");

        Process service = new ProcessBuilder(launcher.toString(), signal.toString()).redirectErrorStream(true).start();
        try {
            var output = new java.io.BufferedReader(new java.io.InputStreamReader(service.getInputStream(), StandardCharsets.UTF_8));
            String first = output.readLine();
            assertTrue(first != null && first.startsWith("running "), String.valueOf(first));
            Path held = Path.of(first.substring("running ".length()));

            // What Maven does to the jar on `package`: the same path, written again with other contents.
            writeJar(jar, HeldJarProbe.class, new byte[256 * 1024], HeldJarProbe.class);
            String second = run(launcher);
            Path rebuilt = Path.of(second.strip().substring("running ".length()));
            boolean heldKept = Files.exists(held);

            Files.writeString(signal, "go");
            String rest = new String(service.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(service.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, service.exitValue(), rest);
            assertTrue(rest.contains("late class loaded"), rest);
            assertNotEquals(held, rebuilt, "a new build runs from its own copy");
            assertTrue(heldKept, "the copy a running command uses is kept");
        } finally {
            service.destroyForcibly();
        }
        run(launcher);
        try (var copies = Files.list(project.resolve("target"))) {
            assertEquals(1, copies.filter(p -> p.getFileName().toString().startsWith("explainstream-run-")).count(),
                    "a copy no process holds open is removed at the next start");
        }
    }

    /**
     * The launcher's build, with a stand-in for Maven on the PATH: its colour resets (ESC[0m, which
     * Maven writes even with style.color=never) do not reach the terminal, and a failed build stops
     * the command with Maven's exit status.
     */
    @Test
    @Tag("slow") // starts child processes
    void theBuildsOutputIsPlainTextAndAFailedBuildStopsTheCommand(@TempDir Path dir) throws Exception {
        Path project = Files.createDirectories(dir.resolve("project"));
        Path launcher = Files.copy(TestData.repo().resolve("explainstream"), project.resolve("explainstream"), StandardCopyOption.COPY_ATTRIBUTES);
        Files.writeString(project.resolve("pom.xml"), "<project/>");
        Path probe = dir.resolve("probe.jar");
        writeJar(probe, HeldJarProbe.class, new byte[0], HeldJarProbe.class, HeldJarProbe.Late.class);
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path maven = bin.resolve("mvn");
        Files.writeString(maven, "#!/bin/sh\nprintf '\\033[0m\\033[1;31mbuilt\\033[0m\\n' >&2\nmkdir -p target && cp '" + probe + "' target/explainstream.jar\n"
                + "exit \"${FAKE_MAVEN_STATUS:-0}\"\n");
        maven.toFile().setExecutable(true);

        ProcessBuilder built = new ProcessBuilder(launcher.toString()).redirectErrorStream(true);
        built.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        Process process = built.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.contains("built\nrunning "), output);
        assertFalse(output.contains("\u001b"), "no escape codes: " + output);

        Files.writeString(project.resolve("pom.xml"), "<project></project>"); // newer than the jar: built again
        Files.setLastModifiedTime(project.resolve("pom.xml"), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 60_000));
        ProcessBuilder failing = new ProcessBuilder(launcher.toString()).redirectErrorStream(true);
        failing.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        failing.environment().put("FAKE_MAVEN_STATUS", "3");
        Process failed = failing.start();
        String failedOutput = new String(failed.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(failed.waitFor(60, TimeUnit.SECONDS));
        assertEquals(3, failed.exitValue(), failedOutput);
        assertFalse(failedOutput.contains("running "), "the command does not run after a failed build: " + failedOutput);
    }

    private static String run(Path launcher) throws Exception {
        Process process = new ProcessBuilder(launcher.toString()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), output);
        return output;
    }

    /** A jar that runs {@link LocaleProbe}, as the launcher runs target/explainstream.jar. */
    private static void probeJar(Path jar) throws IOException {
        writeJar(jar, LocaleProbe.class, new byte[0], LocaleProbe.class);
    }

    /** A jar whose entries are a padding entry of the given size first, then the classes. */
    private static void writeJar(Path jar, Class<?> main, byte[] padding, Class<?>... classes) throws IOException {
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, main.getName());
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file, manifest)) {
            out.putNextEntry(new JarEntry("padding.bin"));
            out.write(padding);
            out.closeEntry();
            for (Class<?> type : classes) {
                String entry = type.getName().replace('.', '/') + ".class";
                try (var classFile = type.getClassLoader().getResourceAsStream(entry)) {
                    out.putNextEntry(new JarEntry(entry));
                    classFile.transferTo(out);
                    out.closeEntry();
                }
            }
        }
    }
}
