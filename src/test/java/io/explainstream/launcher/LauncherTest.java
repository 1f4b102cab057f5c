package io.explainstream.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * --diff-out} or {@code --config} with a non-ASCII path failed with a garbled name.
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

    /** A jar that runs {@link LocaleProbe}, as the launcher runs target/explainstream.jar. */
    private static void probeJar(Path jar) throws IOException {
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, LocaleProbe.class.getName());
        String entry = LocaleProbe.class.getName().replace('.', '/') + ".class";
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file, manifest);
                var classFile = LocaleProbe.class.getClassLoader().getResourceAsStream(entry)) {
            out.putNextEntry(new JarEntry(entry));
            classFile.transferTo(out);
            out.closeEntry();
        }
    }
}
