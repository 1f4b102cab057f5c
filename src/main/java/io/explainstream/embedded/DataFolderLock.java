package io.explainstream.embedded;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One process at a time in a data folder of the embedded broker: two brokers writing one metadata
 * log corrupt it (a second {@code run} or {@code demo} on the same {@code --data} crashed the first
 * and left its log unreadable). The lock is the operating system's, on a file in the folder, so it
 * goes with the process that held it, however that process ends.
 */
public final class DataFolderLock implements AutoCloseable {

    static final String FILE = ".explainstream.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private DataFolderLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the folder's lock, creating the folder if needed.
     *
     * @param option the option that named the folder, for the error
     * @throws IllegalArgumentException naming the option, the folder and the holder's process id when another process holds it
     */
    public static DataFolderLock acquire(String option, Path folder) throws IOException {
        for (Path existing = folder.toAbsolutePath(); existing != null; existing = existing.getParent()) {
            if (Files.exists(existing)) {
                if (!Files.isDirectory(existing)) {
                    // Files.createDirectories would say only the path, as a FileAlreadyExistsException.
                    throw new IllegalArgumentException(option + " = " + folder + ": " + existing + " is a file; give a folder for the embedded broker's data");
                }
                break;
            }
        }
        Files.createDirectories(folder);
        Path file = folder.resolve(FILE);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // held by this process already (another command run in the same JVM)
        }
        if (lock == null) {
            String holder = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim();
            channel.close();
            throw new IllegalArgumentException(option + " = " + folder + " is in use by another ExplainStream process" + (holder.isEmpty() ? "" : " (pid " + holder + ")")
                    + ": two embedded brokers on one folder corrupt its data; stop that one, or give another " + option);
        }
        channel.truncate(0);
        channel.write(ByteBuffer.wrap(Long.toString(ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8)), 0);
        channel.force(true);
        return new DataFolderLock(channel, lock);
    }

    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException e) {
            // The process's end releases it anyway.
        }
    }
}
