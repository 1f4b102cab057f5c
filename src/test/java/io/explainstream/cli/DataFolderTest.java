package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.embedded.DataFolderLock;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the embedded broker's data folder may hold and who may use it, checked before anything
 * starts: a folder of the user's named {@code run} in the demo's --data was deleted, and a second
 * demo or run on one folder corrupted the first one's broker.
 */
class DataFolderTest {

    @Test
    void theDemoLeavesAFolderItDidNotMakeAlone(@TempDir Path dir) throws Exception {
        Path notes = Files.createDirectories(dir.resolve("run")).resolve("notes.txt");
        Files.writeString(notes, "precious");
        CliRun run = CliRun.of("demo", "--data", dir.toString(), "--events", "2");
        assertEquals(2, run.exitCode(), run.out() + run.err());
        assertEquals("error: --data: " + dir.resolve("run") + " was not made by the demo (it holds notes.txt), and the demo deletes that folder when it"
                + " starts and ends: give another --data", run.err().strip());
        assertEquals("precious", Files.readString(notes));
        assertTrue(!run.out().contains("starting a Kafka broker"), run.out());
    }

    /** Found with --data "dä ta 🐶": the stream thread was replaced for ever (RocksDB could not make its folder) while /health said UP. */
    @Test
    void aFolderWithACharacterBeyondUffffIsRefusedForTheStreamState(@TempDir Path dir) {
        Path data = dir.resolve("d\u00e4 ta \ud83d\udc36");
        CliRun run = CliRun.of("run", "--data", data.toString());
        assertEquals(2, run.exitCode(), run.out() + run.err());
        assertTrue(run.err().strip().startsWith("error: state.dir = " + data.toAbsolutePath().resolve("streams-state") + " has the character \ud83d\udc36"
                + " (U+1F436), beyond U+FFFF"), run.err());
        CliRun demo = CliRun.of("demo", "--data", data.toString());
        assertEquals(2, demo.exitCode(), demo.out() + demo.err());
        assertTrue(demo.err().strip().startsWith("error: state.dir = " + data.toAbsolutePath().resolve("run").resolve("streams") + " has the character"),
                demo.err());
        // A folder with other non-ASCII characters is fine.
        io.explainstream.stream.service.ExplainService.requireStateDirRocksDbCanOpen(dir.resolve("d\u00e4 ta \u202e").toString());
    }

    @Test
    void aLeftoverOfAnEarlierDemoIsTakenAsItsOwn(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("run").resolve("kafka"));
        Files.createDirectories(dir.resolve("run").resolve("streams-state"));
        DemoCommand.requireDemosOwn(dir.resolve("run")); // a demo killed before the marker existed
        Files.writeString(dir.resolve("run").resolve(DemoCommand.RUN_MARKER), "");
        Files.writeString(dir.resolve("run").resolve("anything"), "");
        DemoCommand.requireDemosOwn(dir.resolve("run")); // a demo killed with SIGKILL
    }

    @Test
    void aFolderInUseIsRefusedByDemoAndRunNamingTheHolder(@TempDir Path dir) throws Exception {
        try (DataFolderLock held = DataFolderLock.acquire("--data", dir)) {
            String expected = "error: --data = " + dir + " is in use by another ExplainStream process (pid " + ProcessHandle.current().pid()
                    + "): two embedded brokers on one folder corrupt its data; stop that one, or give another --data";
            CliRun demo = CliRun.of("demo", "--data", dir.toString(), "--events", "2");
            assertEquals(2, demo.exitCode(), demo.out() + demo.err());
            assertEquals(expected, demo.err().strip());
            CliRun run = CliRun.of("run", "--data", dir.toString());
            assertEquals(2, run.exitCode(), run.out() + run.err());
            assertEquals(expected, run.err().strip());
        }
        // Released: the next one takes it.
        DataFolderLock.acquire("--data", dir).close();
    }

    /** run printed a FileAlreadyExistsException stack trace; the demo said "cannot be used: <the path>", without a reason. */
    @Test
    void aFileGivenAsTheDataFolderIsSaidByRunAndDemo(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("events.jsonl"), "");
        for (String command : new String[] {"run", "demo"}) {
            CliRun run = CliRun.of(command, "--data", file.toString());
            assertEquals(2, run.exitCode(), command + ": " + run.out() + run.err());
            assertEquals("error: --data = " + file + ": " + file + " is a file; give a folder for the embedded broker's data", run.err().strip(), command);
        }
        CliRun below = CliRun.of("run", "--data", file.resolve("data").toString());
        assertEquals("error: --data = " + file.resolve("data") + ": " + file + " is a file; give a folder for the embedded broker's data", below.err().strip());
    }
}
