package io.explainstream.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** A port no server holds now on 127.0.0.1, for a server a test starts later (a child JVM's ops port, a registry restarted on the same port). */
public final class FreePort {

    private FreePort() {}

    /** Probed on the loopback address only, where the tests' servers bind. */
    public static int onLoopback() {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port on 127.0.0.1", e);
        }
    }
}
