package io.explainstream.cli;

import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.RegistryException;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.stream.config.KafkaClients;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Checks, before a command line consumes, that the broker and the registry it names answer: a
 * Kafka consumer would retry an unreachable broker for ever, printing a warning per attempt, and a
 * registry outage would surface only with the first record, as a stack trace.
 */
final class ClusterCheck {

    private ClusterCheck() {}

    /** How long the commands that read a cluster wait for it to answer before they say it did not. */
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    /** The broker, then the registry, of {@code config}, each given {@link #TIMEOUT}: what diff, replay and the dashboard check first. */
    static void cluster(io.explainstream.stream.config.ServiceConfig config) {
        broker(config.clientSettings(), TIMEOUT);
        registry(config.registryConfig(), TIMEOUT);
    }

    /**
     * Fails with one line naming bootstrap.servers when no bootstrap server accepts a connection, or
     * the cluster does not answer a metadata request within {@code timeout}.
     */
    static void broker(Map<String, String> clients, Duration timeout) {
        String servers = clients.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG);
        // A plain TCP connect first: when nothing listens, the admin client would log a warning per
        // reconnect attempt before its timeout, which is the noise this check is here to spare.
        if (!anyAccepts(servers, timeout)) {
            throw new UnreachableException("the Kafka broker at bootstrap.servers = " + servers + " could not be reached (no connection within "
                    + timeout.toSeconds() + " s)");
        }
        try (Admin admin = admin(clients, timeout)) {
            admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // Something listens but does not answer as a broker (TLS or SASL settings, another service on the port).
            throw new UnreachableException("the Kafka broker at bootstrap.servers = " + servers + " did not answer within " + timeout.toSeconds()
                    + " s: " + causeText(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnreachableException("interrupted while checking the Kafka broker at bootstrap.servers = " + servers);
        }
    }

    /** An admin client of {@code clients} whose requests give up after {@code timeout}. */
    private static Admin admin(Map<String, String> clients, Duration timeout) {
        Map<String, Object> settings = new HashMap<>(clients);
        int ms = (int) Math.max(1, timeout.toMillis());
        settings.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
        settings.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms);
        return KafkaClients.admin(settings);
    }

    /** The broker's own words for a failed admin call: the cause's message, or its class when it has none. */
    private static String causeText(Exception e) {
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        return cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    }

    /** Whether {@code topic} exists on the cluster; the broker was checked first ({@link #broker}). */
    static boolean topicExists(Map<String, String> clients, String topic, Duration timeout) {
        try (Admin admin = admin(clients, timeout)) {
            return admin.listTopics().names().get(timeout.toMillis(), TimeUnit.MILLISECONDS).contains(topic);
        } catch (ExecutionException | TimeoutException e) {
            throw new UnreachableException("the Kafka broker at bootstrap.servers = " + clients.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG)
                    + " did not list its topics within " + timeout.toSeconds() + " s: " + causeText(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnreachableException("interrupted while listing the topics at bootstrap.servers = " + clients.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG));
        }
    }

    /**
     * Fails with one line naming the registry URL when it cannot be reached. A registry that
     * answers with an error (a subjects listing the credentials may not read) passes: reading
     * schemas by id may still work, and a real failure is reported by {@link #registryFailure}.
     */
    static void registry(RegistryConfig config, Duration timeout) {
        // One attempt: the client's retries would each log a warning before the one line that matters.
        RegistryConfig once = new RegistryConfig(config.url(), config.username(), config.password(), config.truststore(), config.truststorePassword(),
                config.requestTimeout().compareTo(timeout) < 0 ? config.requestTimeout() : timeout, 0, config.retryBackoff());
        SchemaRegistryClient registry = new SchemaRegistryClient(once);
        try {
            registry.subjects();
        } catch (RegistryException e) {
            if (e.unavailable()) {
                throw registryFailure(registry, e);
            }
            if (NOT_A_REGISTRY.contains(e.status())) {
                // A schema registry lists its subjects to anyone it lets in; another web server on
                // that port (the registry's old one) answered 404, and tail then skipped every
                // explanation as "not an explanation", quoting the server's HTML page.
                throw new UnreachableException("the server at schema.registry.url = " + config.url() + " does not answer as a schema registry: GET "
                        + "/subjects answered " + e.status() + " (is the URL the registry's, and is it up?)");
            }
        }
    }

    /** HTTP statuses a schema registry never gives to GET /subjects: not found, method not allowed, not implemented. */
    private static final java.util.Set<Integer> NOT_A_REGISTRY = java.util.Set.of(404, 405, 501);

    /** One line for a registry failure while decoding: the URL, and what the registry client saw. */
    static UnreachableException registryFailure(SchemaRegistryClient registry, RegistryException e) {
        Throwable cause = e.getCause();
        String what = !e.unavailable() ? "answered with an error: " + e.getMessage()
                : cause == null ? "could not be reached: " + e.getMessage()
                : "could not be reached (" + cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage()) + ")";
        return new UnreachableException("the schema registry at schema.registry.url = " + registry.config().url() + " " + what);
    }

    /** Whether any of the bootstrap servers accepts a TCP connection; true when an address cannot be parsed (the admin client judges it). */
    static boolean anyAccepts(String servers, Duration timeout) {
        if (servers == null || servers.isBlank()) {
            return true;
        }
        List<String> addresses = Arrays.stream(servers.split(",")).map(String::trim).filter(a -> !a.isEmpty()).toList();
        int perAddress = (int) Math.max(200, timeout.toMillis() / Math.max(1, addresses.size()));
        for (String address : addresses) {
            String hostPort = address.contains("://") ? address.substring(address.indexOf("://") + 3) : address;
            int colon = hostPort.lastIndexOf(':');
            if (colon <= 0) {
                return true;
            }
            String host = hostPort.substring(0, colon).replace("[", "").replace("]", "");
            int port;
            try {
                port = Integer.parseInt(hostPort.substring(colon + 1));
            } catch (NumberFormatException e) {
                return true;
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(host, port), perAddress);
                return true;
            } catch (IOException | IllegalArgumentException e) {
                // not this one; try the next
            }
        }
        return false;
    }
}
