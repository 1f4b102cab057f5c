package io.explainstream.diff;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The folder one diff spills both sides to (raw explanations, prompts and responses included),
 * under a root several diffs may share. It goes when the diff ends; when its JVM is stopped
 * (Ctrl-C, SIGTERM), by a shutdown hook, as the diff's own clean-up never runs then; and when its
 * JVM was killed outright, by the next diff under the same root. While its diff runs, the folder
 * holds a lock on its own lock file: a folder whose lock anyone can take belongs to a diff that is
 * gone.
 */
final class SpillFolder implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SpillFolder.class);
    private static final String PREFIX = "diff-";
    private static final String LOCK = ".lock";
    /**
     * A folder younger than this is left alone even when its lock is free: another diff may have
     * made it and not yet taken its lock.
     */
    static final Duration ORPHAN_AGE = Duration.ofSeconds(2);

    private final Path path;
    private final FileChannel channel;
    private final Thread onExit;

    private SpillFolder(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
        this.onExit = new Thread(() -> delete(path), "explainstream-diff-spill-cleanup");
    }

    /** Deletes what killed diffs left under {@code root}, then makes and locks this diff's folder. */
    static SpillFolder create(Path root) throws IOException {
        Files.createDirectories(root);
        sweep(root);
        Path path = Files.createTempDirectory(root, PREFIX);
        FileChannel channel = FileChannel.open(path.resolve(LOCK), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        channel.lock(); // released when the channel closes, or when the JVM is gone
        SpillFolder folder = new SpillFolder(path, channel);
        Runtime.getRuntime().addShutdownHook(folder.onExit);
        return folder;
    }

    Path path() {
        return path;
    }

    @Override
    public void close() throws IOException {
        try {
            Runtime.getRuntime().removeShutdownHook(onExit);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook deletes the folder
        }
        channel.close();
        delete(path);
    }

    /** The folders under {@code root} that killed diffs left: older than {@link #ORPHAN_AGE}, their lock free. */
    static List<Path> orphans(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> folders = Files.list(root)) {
            return folders.filter(folder -> folder.getFileName().toString().startsWith(PREFIX) && Files.isDirectory(folder))
                    .filter(SpillFolder::abandoned).toList();
        }
    }

    private static void sweep(Path root) throws IOException {
        for (Path orphan : orphans(root)) {
            LOG.info("deleting {}, the spill folder of a diff that was killed", orphan);
            delete(orphan);
        }
    }

    private static boolean abandoned(Path folder) {
        try {
            if (Files.getLastModifiedTime(folder).toInstant().isAfter(Instant.now().minus(ORPHAN_AGE))) {
                return false;
            }
            Path lockFile = folder.resolve(LOCK);
            if (!Files.exists(lockFile)) {
                return true; // killed between making the folder and locking it
            }
            try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
                FileLock lock = channel.tryLock();
                return lock != null; // closing the channel releases it
            }
        } catch (OverlappingFileLockException e) {
            return false; // a diff of this JVM holds it
        } catch (NoSuchFileException e) {
            return false; // its diff ended meanwhile
        } catch (IOException e) {
            LOG.warn("cannot tell whether {} is in use, leaving it: {}", folder, e.toString());
            return false;
        }
    }

    private static void delete(Path folder) {
        if (!Files.exists(folder)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(folder)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (NoSuchFileException e) {
            // deleted by the other of close() and the shutdown hook
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the spill folder " + folder, e);
        }
    }
}
