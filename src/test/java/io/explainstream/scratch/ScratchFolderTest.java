package io.explainstream.scratch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A command's scratch folder in another JVM, as two diffs or benches on one machine meet: kept
 * while that JVM holds its lock, deleted by that JVM's shutdown hook when it is stopped, and deleted
 * by the next command of its kind when it was killed outright.
 */
class ScratchFolderTest {

    private static final String PREFIX = "diff-";

    /**
     * Makes a scratch folder under args[0], prints its path and waits to be stopped; with a second
     * argument "writer", a thread keeps making a folder in it until closed, as a stream's RocksDB
     * store or a broker's partition does (createDirectories, parents and all).
     */
    public static void main(String[] args) throws Exception {
        ScratchFolder folder = ScratchFolder.create(Path.of(args[0]), PREFIX);
        Files.writeString(folder.path().resolve("bucket-0"), "spilled records");
        if (args.length > 1) {
            folder.closesFirst(new StoreWriter(folder.path().resolve("streams-1").resolve("0_0").resolve("rocksdb")));
        }
        System.out.println(folder.path());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    /** Makes its folder again and again until closed. */
    private static final class StoreWriter implements AutoCloseable {

        private final Thread thread;
        private volatile boolean open = true;

        StoreWriter(Path store) {
            thread = new Thread(() -> {
                while (open) {
                    try {
                        Files.createDirectories(store);
                    } catch (java.io.IOException e) {
                        // a parent deleted between its making and its child's: again
                    }
                }
            }, "store-writer");
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            open = false;
            thread.join();
        }
    }

    private static Process holder(Path root, String... more) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), ScratchFolderTest.class.getName(), root.toString()));
        command.addAll(List.of(more));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    private static Path folderOf(Process holder) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
        return Path.of(out.readLine());
    }

    /** As if the folder had been made long ago: only its lock can keep it. */
    private static void age(Path folder) throws Exception {
        Files.setLastModifiedTime(folder, FileTime.from(Instant.now().minusSeconds(3600)));
    }

    @Test
    void aFolderIsKeptWhileItsDiffLivesAndDeletedByTheNextOnceItIsKilled(@TempDir Path root) throws Exception {
        Process holder = holder(root);
        try {
            Path folder = folderOf(holder);
            age(folder);
            assertEquals(List.of(), ScratchFolder.orphans(root, PREFIX), "a live diff's folder is its own");
            try (ScratchFolder next = ScratchFolder.create(root, PREFIX)) {
                assertTrue(Files.exists(folder.resolve("bucket-0")), "another diff leaves it alone");
                assertTrue(Files.isDirectory(next.path()));
            }
            holder.destroyForcibly();
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
            assertTrue(Files.exists(folder), "nothing of a killed JVM runs");
            assertEquals(List.of(folder), ScratchFolder.orphans(root, PREFIX), "its lock is free: an orphan");
            try (ScratchFolder next = ScratchFolder.create(root, PREFIX)) {
                assertFalse(Files.exists(folder), "the next diff deletes it");
                assertEquals(List.of(next.path()), list(root));
            }
            assertEquals(List.of(), list(root), "and its own when it ends");
        } finally {
            holder.destroyForcibly();
        }
    }

    @Test
    void aStoppedJvmDeletesItsFolder(@TempDir Path root) throws Exception {
        Process holder = holder(root);
        try {
            Path folder = folderOf(holder);
            assertTrue(Files.exists(folder.resolve("bucket-0")));
            holder.destroy(); // SIGTERM, as Ctrl-C stops a command
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
            assertFalse(Files.exists(folder), "the shutdown hook deleted it");
        } finally {
            holder.destroyForcibly();
        }
    }

    /**
     * A stopped JVM closes what writes in its folder before it deletes it: a bench stopped as its
     * stream started had left its folder behind, made again by the stream while the hook deleted it.
     */
    @Test
    void aStoppedJvmClosesWhatWritesInItsFolderBeforeDeletingIt(@TempDir Path root) throws Exception {
        for (int attempt = 0; attempt < 3; attempt++) {
            Process holder = holder(root, "writer");
            try {
                Path folder = folderOf(holder);
                assertTrue(Files.exists(folder.resolve("bucket-0")));
                holder.destroy();
                assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
                assertFalse(Files.exists(folder), "attempt " + attempt + ": the writer was closed first and the folder deleted: " + list(root));
            } finally {
                holder.destroyForcibly();
            }
        }
    }

    /** Closing the folder closes its writers first, once, however often they are closed besides. */
    @Test
    void closingTheFolderClosesItsWritersTheLatestFirstAndOnce(@TempDir Path root) throws Exception {
        List<String> closed = new java.util.ArrayList<>();
        ScratchFolder folder = ScratchFolder.create(root, PREFIX);
        ScratchFolder.Writer<AutoCloseable> broker = folder.closesFirst(() -> closed.add("broker"));
        ScratchFolder.Writer<AutoCloseable> first = folder.closesFirst(() -> closed.add("first run"));
        folder.closesFirst(() -> closed.add("second run"));
        first.close();
        first.close();
        folder.close();
        broker.close();
        assertEquals(List.of("first run", "second run", "broker"), closed);
        assertEquals(List.of(), list(root));
        List<String> late = new java.util.ArrayList<>();
        assertThrows(java.util.concurrent.CancellationException.class, () -> folder.closesFirst(() -> late.add("late")));
        assertEquals(List.of("late"), late, "a writer registered with a folder already gone is closed at once");
    }

    /** A folder without a lock file is not a scratch folder, whatever its name and age: a Kafka Streams state folder of an application named diff-... */
    @Test
    void aFolderWithoutALockFileIsNeverTouched(@TempDir Path root) throws Exception {
        Path streams = Files.createDirectories(root.resolve("diff-service").resolve("0_0"));
        age(root.resolve("diff-service"));
        assertEquals(List.of(), ScratchFolder.orphans(root, PREFIX));
        try (ScratchFolder next = ScratchFolder.create(root, PREFIX)) {
            assertTrue(Files.isDirectory(streams), "kept");
        }
        assertTrue(Files.isDirectory(streams), "kept");
    }

    private static List<Path> list(Path root) throws Exception {
        try (var paths = Files.list(root)) {
            return paths.toList();
        }
    }
}
