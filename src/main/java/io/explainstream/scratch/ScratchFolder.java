package io.explainstream.scratch;

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
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A folder of one command's scratch data (a diff's spilled explanations, prompts included; a
 * bench's broker and stream state, gigabytes of it), under a root other commands may share. It
 * goes when the command closes it; when its JVM is stopped (Ctrl-C, SIGTERM), by a shutdown hook,
 * as the command's own clean-up never runs then; and when its JVM was killed outright, by the next
 * command that makes a folder of the same kind under the same root. While its command runs, the
 * folder holds a lock on its own lock file: a folder whose lock anyone can take belongs to a
 * command that is gone.
 *
 * <p>What keeps writing in the folder (a broker, a Kafka Streams instance) is registered with
 * {@link #closesFirst}: the folder closes it before it deletes itself, also in the shutdown hook,
 * where the command's own order of clean-up never runs. Left running, such a writer makes its
 * folders again while the hook deletes them (Kafka and RocksDB make theirs with
 * createDirectories, parents and all), and the folder outlives the command.
 */
public final class ScratchFolder implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ScratchFolder.class);
    private static final String LOCK = ".scratch.lock";
    /**
     * A folder younger than this is left alone even when its lock is free: another command may have
     * made it and not yet taken its lock.
     */
    static final Duration ORPHAN_AGE = Duration.ofSeconds(2);

    private final Path path;
    private final FileChannel channel;
    private final Thread onExit;
    /** The writers not yet closed, in the order they were registered; null once the folder is going. */
    private List<Writer<?>> writers = new ArrayList<>();

    private ScratchFolder(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
        this.onExit = new Thread(() -> {
            closeWriters();
            delete(path);
        }, "explainstream-scratch-cleanup");
    }

    /**
     * A writer of files in a scratch folder, closed once: by its owner through {@link #close}, or
     * by the folder before it goes, whichever comes first (the other then waits until it is closed).
     */
    public static final class Writer<T extends AutoCloseable> implements AutoCloseable {

        private final T writer;
        private final ScratchFolder folder;
        private boolean closed;

        private Writer(T writer, ScratchFolder folder) {
            this.writer = writer;
            this.folder = folder;
        }

        public T get() {
            return writer;
        }

        @Override
        public synchronized void close() throws Exception {
            if (closed) {
                return;
            }
            closed = true;
            folder.forget(this);
            writer.close();
        }
    }

    /**
     * Registers {@code writer}, which keeps files in this folder, to be closed before the folder
     * is deleted (latest first). Close it through the returned handle. Where the JVM is already
     * stopping and the folder going, the writer is closed at once and this throws.
     */
    public <T extends AutoCloseable> Writer<T> closesFirst(T writer) throws Exception {
        Writer<T> handle = new Writer<>(writer, this);
        synchronized (this) {
            if (writers != null) {
                writers.add(handle);
                return handle;
            }
        }
        handle.close();
        throw new java.util.concurrent.CancellationException("the JVM is shutting down and the scratch folder " + path + " is going");
    }

    private synchronized void forget(Writer<?> writer) {
        if (writers != null) {
            writers.remove(writer);
        }
    }

    /** Closes the writers still open, the latest first; none can be registered after. */
    private void closeWriters() {
        List<Writer<?>> open;
        synchronized (this) {
            open = writers == null ? List.of() : new ArrayList<>(writers);
            writers = null;
        }
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception e) {
                LOG.warn("cannot close {}, which writes in the scratch folder {}: {}", open.get(i).get(), path, e.toString());
            }
        }
    }

    /**
     * Deletes the folders named {@code prefix}* that killed commands left under {@code root}, then
     * makes and locks this command's own.
     */
    public static ScratchFolder create(Path root, String prefix) throws IOException {
        Files.createDirectories(root);
        sweep(root, prefix);
        Path path = Files.createTempDirectory(root, prefix);
        FileChannel channel = FileChannel.open(path.resolve(LOCK), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        channel.lock(); // released when the channel closes, or when the JVM is gone
        ScratchFolder folder = new ScratchFolder(path, channel);
        try {
            Runtime.getRuntime().addShutdownHook(folder.onExit);
        } catch (IllegalStateException e) {
            // The JVM began to shut down (a stop signal) while the command was starting this: no hook
            // would delete the folder, so it goes now, and the command stops.
            channel.close();
            delete(path);
            throw new java.util.concurrent.CancellationException("the JVM is shutting down, so no scratch folder " + path + " was made");
        }
        return folder;
    }

    public Path path() {
        return path;
    }

    @Override
    public void close() throws IOException {
        try {
            Runtime.getRuntime().removeShutdownHook(onExit);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook deletes the folder
        }
        closeWriters();
        channel.close(); // its lock, held until the writers are gone, keeps other commands' sweeps away
        delete(path);
    }

    /**
     * The folders named {@code prefix}* under {@code root} that killed commands left: with a lock
     * file whose lock is free, older than {@link #ORPHAN_AGE}.
     */
    public static List<Path> orphans(Path root, String prefix) throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> folders = Files.list(root)) {
            return folders.filter(folder -> folder.getFileName().toString().startsWith(prefix) && Files.isDirectory(folder))
                    .filter(ScratchFolder::abandoned).toList();
        }
    }

    private static void sweep(Path root, String prefix) throws IOException {
        for (Path orphan : orphans(root, prefix)) {
            LOG.info("deleting {}, left by a command that was killed", orphan);
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
                // Not one of ours, whatever its name: a Kafka Streams state folder of an application
                // named diff-something sits in state.dir too. (One killed between its making and its
                // lock stays, empty.)
                return false;
            }
            try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
                FileLock lock = channel.tryLock();
                return lock != null; // closing the channel releases it
            }
        } catch (OverlappingFileLockException e) {
            return false; // a command of this JVM holds it
        } catch (NoSuchFileException e) {
            return false; // its command ended meanwhile
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
        } catch (UncheckedIOException e) {
            // The walk met a path the other of close() and the shutdown hook had just deleted: delete what is left.
            if (!(e.getCause() instanceof NoSuchFileException)) {
                throw new UncheckedIOException("cannot delete the scratch folder " + folder, e.getCause());
            }
            delete(folder);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the scratch folder " + folder, e);
        }
    }
}
