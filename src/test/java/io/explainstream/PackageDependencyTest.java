package io.explainstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Dependencies point one way: the packages of the main sources form no cycle, and the stream's
 * sub-packages follow the path of an event (config and ingest below the batch, the batch below the
 * output, the topology and the service on top). Read from the sources' imports and qualified names,
 * comments left out.
 */
class PackageDependencyTest {

    private static final Path SOURCES = Path.of("src/main/java");
    private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
    private static final Pattern REFERENCE = Pattern.compile("\\bio\\.explainstream\\.((?:[a-z]\\w*\\.)*[a-z]\\w*)\\.[A-Z]");

    /** The stream's sub-packages, lowest first: each may use only those before it. */
    private static final List<String> STREAM_LAYERS = List.of("ingest", "audit", "config", "replay", "batch", "output", "topology", "service");

    /** Package → the project's packages its main sources name. */
    static Map<String, Set<String>> graph() {
        Map<String, Set<String>> graph = new TreeMap<>();
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String text = Files.readString(file);
                Matcher declared = PACKAGE.matcher(text);
                assertTrue(declared.find(), "no package line in " + file);
                String from = declared.group(1);
                Set<String> uses = graph.computeIfAbsent(from, k -> new TreeSet<>());
                Matcher reference = REFERENCE.matcher(withoutComments(text));
                while (reference.find()) {
                    String to = "io.explainstream." + reference.group(1);
                    if (!to.equals(from)) {
                        uses.add(to);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return graph;
    }

    private static String withoutComments(String source) {
        return source.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\\n]*", "");
    }

    /** A cycle through {@code start}, as a path that begins and ends with it, or an empty list. */
    static List<String> cycleThrough(String start, Map<String, Set<String>> graph) {
        List<String> path = new ArrayList<>(List.of(start));
        return search(start, start, graph, path, new TreeSet<>()) ? path : List.of();
    }

    private static boolean search(String start, String at, Map<String, Set<String>> graph, List<String> path, Set<String> seen) {
        for (String next : graph.getOrDefault(at, Set.of())) {
            if (next.equals(start)) {
                path.add(next);
                return true;
            }
            if (seen.add(next)) {
                path.add(next);
                if (search(start, next, graph, path, seen)) {
                    return true;
                }
                path.remove(path.size() - 1);
            }
        }
        return false;
    }

    @Test
    void thePackagesFormNoCycle() {
        Map<String, Set<String>> graph = graph();
        assertTrue(graph.size() > 15, "read the packages: " + graph.keySet());
        for (String pkg : graph.keySet()) {
            assertEquals(List.of(), cycleThrough(pkg, graph), "a cycle through " + pkg);
        }
    }

    @Test
    void theStreamsSubPackagesUseOnlyTheLayersBelowThem() {
        Map<String, Set<String>> graph = graph();
        assertTrue(graph.keySet().stream().noneMatch(p -> p.equals("io.explainstream.stream")), "every stream class is in a sub-package");
        for (int layer = 0; layer < STREAM_LAYERS.size(); layer++) {
            String pkg = "io.explainstream.stream." + STREAM_LAYERS.get(layer);
            assertTrue(graph.containsKey(pkg), pkg + " exists");
            List<String> allowed = STREAM_LAYERS.subList(0, layer).stream().map(l -> "io.explainstream.stream." + l).toList();
            for (String used : graph.get(pkg)) {
                assertTrue(!used.startsWith("io.explainstream.stream") || allowed.contains(used), pkg + " uses " + used + ", which is not below it");
                assertTrue(!Set.of("io.explainstream.cli", "io.explainstream.stats", "io.explainstream.dashboard", "io.explainstream.diff",
                        "io.explainstream.bench").contains(used), pkg + " uses " + used + ", which is built on the stream");
            }
        }
    }

    @Test
    void aCycleIsFound() {
        Map<String, Set<String>> graph = Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of("a"));
        assertEquals(List.of("a", "b", "c", "a"), cycleThrough("a", graph));
        assertEquals(List.of(), cycleThrough("d", graph));
    }
}
