package io.explainstream.cli;

import io.explainstream.attribution.CompletenessGap;
import io.explainstream.dashboard.Dashboard;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import io.explainstream.stream.config.TimeSpec;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The live audit dashboard: a read_committed consumer of the explanations, statistics and alerts topics that serves one page and a JSON/SSE API. */
@Command(name = "dashboard", mixinStandardHelpOptions = true,
        description = "Serve a live audit page of the explanations: feed, heatmaps, trends, alerts (read_committed, 127.0.0.1 by default).")
final class DashboardCommand implements Callable<Integer> {

    @Mixin
    private ClusterOptions cluster;



    @Option(names = "--topic", description = "Explanations topic (default: output.topic of --config, else explanations).")
    private String topic;

    @Option(names = "--host", defaultValue = Dashboard.Settings.DEFAULT_HOST,
            description = "Address to bind. Default: ${DEFAULT-VALUE}; 0.0.0.0 exposes the page to the network, so set dashboard.auth.")
    private String host;

    @Option(names = "--port", defaultValue = "8088", description = "Port (0: any free one). Default: ${DEFAULT-VALUE}.")
    private int port;

    @Option(names = "--from", defaultValue = "-1h",
            description = "Read explanations, statistics and alerts from this time: -1h, -30m, an ISO instant, now, or beginning. Default: ${DEFAULT-VALUE}.")
    private String from;

    @Option(names = "--keep", defaultValue = "2000", description = "Explanations held in memory. Default: ${DEFAULT-VALUE}.")
    private int keep;

    @Option(names = "--delta-warn", description = "Relative delta over which an explanation is flagged. Default: " + CompletenessGap.DEFAULT_WARN_ABOVE + ".")
    private Double deltaWarn;

    @Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ServiceConfig config = cluster.config("the dashboard reads an existing cluster");
        if (host.isBlank()) {
            throw new IllegalArgumentException("--host = '" + host + "' is empty; give the address to listen on, such as 127.0.0.1 (the default)");
        }
        if (deltaWarn != null && !(deltaWarn >= 0)) {
            throw new IllegalArgumentException("--delta-warn = " + deltaWarn + " must be a number ≥ 0 (a fraction: 0.05 is 5%)");
        }
        Map<String, String> clients = config.clientSettings();
        Dashboard.Settings settings = new Dashboard.Settings(topic != null ? topic : config.get(Setting.OUTPUT_TOPIC), config.get(Setting.STATS_TOPIC),
                config.get(Setting.ALERTS_TOPIC), host, port, keep,
                parseFrom(from), deltaWarn != null ? deltaWarn : CompletenessGap.DEFAULT_WARN_ABOVE, config.get(Setting.DASHBOARD_AUTH).isEmpty() ? null : config.get(Setting.DASHBOARD_AUTH));
        PrintWriter out = spec.commandLine().getOut();
        // The options first, then the cluster: a port in use is said without waiting for a broker, and
        // a broker or registry that cannot be reached is said at once, where the page stayed empty.
        Runnable clusterCheck = () -> {
            ClusterCheck.cluster(config);
            if (!ClusterCheck.topicExists(clients, settings.topic(), ClusterCheck.TIMEOUT)) {
                if (topic != null) {
                    // A misspelt --topic served an empty page for ever; tail says the same.
                    throw new IllegalArgumentException("--topic = " + topic + ": no such topic on " + clients.get("bootstrap.servers"));
                }
                // The service creates its output topic when it starts: the dashboard may well be started first.
                spec.commandLine().getErr().println("dashboard: " + Setting.OUTPUT_TOPIC.key() + " = " + settings.topic() + " does not exist yet on "
                        + clients.get("bootstrap.servers") + "; the page fills once the service creates it");
                spec.commandLine().getErr().flush();
            }
        };
        try (Dashboard dashboard = Dashboard.start(settings, clients, config.registryConfig(), clusterCheck)) {
            out.printf("dashboard %s · reading %s, %s and %s from %s · Ctrl-C stops%n", dashboard.url(), settings.topic(), settings.statsTopic(),
                    settings.alertsTopic(), from);
            out.flush();
            new CountDownLatch(1).await();
        }
        return 0;
    }

    /**
     * --from: "beginning" (null: the oldest record) or a time as {@link TimeSpec} reads it. A time in
     * the future is refused: the page would stay empty until then, which looks like a broken feed.
     */
    static Instant parseFrom(String text) {
        if (text.equals("beginning")) {
            return null;
        }
        Instant now = Instant.now();
        Instant from = TimeSpec.parseRecordTime("--from", text, now);
        if (from.isAfter(now)) {
            throw new IllegalArgumentException("--from = '" + text + "' is in the future (now is " + now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                    + "): the page would stay empty until then; give a time before now, or now");
        }
        return from;
    }
}
