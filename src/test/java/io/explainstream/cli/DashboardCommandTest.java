package io.explainstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/**
 * Where the dashboard cannot listen (a port in use, a host that does not resolve): one line that
 * names the option and its value, exit 2, as for any bad option; no stack trace. No broker is
 * needed: the dashboard binds before its readers connect.
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
