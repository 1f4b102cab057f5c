package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Where the dashboard cannot listen (a port in use, a host that does not resolve): one line that
 * names the option and its value, exit 2, as for any bad option; no stack trace. Said before the
 * broker (here one that cannot be reached): the dashboard binds before it checks the cluster.
 */
class DashboardCommandTest {

    private static final String[] CLUSTER = {"--bootstrap-servers", "127.0.0.1:1", "--registry-url", "http://127.0.0.1:1"};

    @Test
    void aPortInUseIsOneLineNamingIt() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            CliRun run = dashboard("--port", Integer.toString(taken.getLocalPort()));
            assertEquals(2, run.exitCode(), run.err());
            assertTrue(run.err().startsWith("error: --port " + taken.getLocalPort() + ": the port is in use on 127.0.0.1"), run.err());
            assertOneLine(run);
        }
    }

    @Test
    void aHostThatDoesNotResolveIsOneLineNamingIt() {
        CliRun run = dashboard("--host", "nosuchhost.invalid", "--port", "0");
        assertEquals(2, run.exitCode(), run.err());
        assertEquals("error: --host nosuchhost.invalid: no such host (it does not resolve to an address)", run.err().strip());
    }

    /** Checked before the dashboard binds or reads (a --from it accepts would start one here, which runs until stopped). */
    @Test
    void aFromKafkaCannotStampIsRefusedNamingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DashboardCommand.parseFrom("1969-12-31"));
        assertEquals("--from = '1969-12-31' is before 1970-01-01T00:00:00Z, where Kafka's record timestamps start", e.getMessage());
    }

    /** A --from in the future would show an empty page until then: most likely a typo, so it is refused. */
    @Test
    void aFromInTheFutureIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DashboardCommand.parseFrom("2999-01-01"));
        assertTrue(e.getMessage().startsWith("--from = '2999-01-01' is in the future (now is "), e.getMessage());
        assertTrue(e.getMessage().endsWith("): the page would stay empty until then; give a time before now, or now"), e.getMessage());
        assertEquals(null, DashboardCommand.parseFrom("beginning"));
        DashboardCommand.parseFrom("now");
        DashboardCommand.parseFrom("-1h");
    }

    /** /api/info would report "Infinity" where a number is documented; refused before the dashboard starts (an accepted one runs until stopped). */
    @Test
    void aNonFiniteDeltaWarnIsRefusedNamingIt() {
        for (String notFinite : new String[] {"Infinity", "NaN", "-1", "1e999"}) {
            CliRun run = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> dashboard("--delta-warn", notFinite, "--port", "0"), notFinite);
            assertEquals(2, run.exitCode(), run.err());
            assertTrue(run.err().startsWith("error: "), run.err());
            assertTrue(run.err().contains("--delta-warn") && run.err().contains(notFinite), run.err());
        }
    }

    private static CliRun dashboard(String... options) {
        String[] args = new String[1 + CLUSTER.length + options.length];
        args[0] = "dashboard";
        System.arraycopy(CLUSTER, 0, args, 1, CLUSTER.length);
        System.arraycopy(options, 0, args, 1 + CLUSTER.length, options.length);
        return CliRun.of(args);
    }

    private static void assertOneLine(CliRun run) {
        assertEquals(1, run.err().strip().lines().count(), run.err());
        assertFalse(run.err().contains("Exception"), run.err());
    }
}
