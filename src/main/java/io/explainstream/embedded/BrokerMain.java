package io.explainstream.embedded;

/**
 * The embedded broker's main: Kafka's own, plus a watch on the process that started it. The broker
 * runs in a session of its own (so that Ctrl-C reaches the service first, which then commits to the
 * broker and stops it in order); if its owner dies without stopping it (SIGKILL, a crash), the
 * broker stops itself instead of holding its ports and its data folder's lock forever.
 */
public final class BrokerMain {

    /** The system property that names the owner's process id. */
    static final String OWNER_PID = "explainstream.owner.pid";

    private BrokerMain() {}

    public static void main(String[] args) throws Exception {
        long owner = Long.getLong(OWNER_PID, -1);
        if (owner > 0) {
            Thread watch = new Thread(() -> {
                ProcessHandle.of(owner).ifPresent(process -> process.onExit().join());
                // Kafka's shutdown hook stops the broker cleanly on exit.
                System.exit(0);
            }, "owner-watch");
            watch.setDaemon(true);
            watch.start();
        }
        kafka.Kafka.main(args);
    }
}
