package io.explainstream.cli;

import io.explainstream.avro.RegistryConfig;
import io.explainstream.stream.config.KafkaAddresses;
import io.explainstream.stream.config.ServiceConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Where an existing cluster is, for the commands that read one (tail, dashboard, diff): the
 * service's properties file and the environment, with the address, the registry and any other key
 * overridable on the command line.
 */
final class ClusterOptions {

    @Option(names = "--config", paramLabel = "FILE", description = "The service's properties file: bootstrap.servers, security, schema.registry.*.")
    private Path configFile;

    @Option(names = "--bootstrap-servers", description = "Kafka bootstrap servers (overrides --config).")
    private String bootstrapServers;

    @Option(names = "--registry-url", description = "Schema registry URL (overrides --config).")
    private String registryUrl;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override any configuration key of --config, e.g. --set dlq.topic=my-dlq.")
    private java.util.List<String> overrides = java.util.List.of();

    /**
     * KEY=VALUE overrides, in order, one that is not KEY=VALUE refused naming the option. Of a key
     * given twice the later wins, as on most command lines: a line copied (the demo's replay line,
     * a printed resume command) and a setting appended to change it.
     */
    static Map<String, String> parseSet(java.util.List<String> given) {
        Map<String, String> set = new java.util.LinkedHashMap<>();
        for (String override : given) {
            int equals = override.indexOf('=');
            if (equals <= 0 || override.substring(0, equals).isBlank()) {
                throw new IllegalArgumentException("--set = '" + override + "' must be KEY=VALUE");
            }
            set.put(override.substring(0, equals).trim(), override.substring(equals + 1).trim());
        }
        return set;
    }

    /**
     * {@code loaded} (the file and the environment, already checked) with {@code overrides}: a
     * refusal then is of a --set value (or of the options that --set stands in for), and says so.
     */
    static ServiceConfig withSet(ServiceConfig loaded, Map<String, String> overrides, Map<String, String> set) {
        try {
            return loaded.with(overrides);
        } catch (io.explainstream.stream.config.ConfigException e) {
            if (set.isEmpty()) {
                throw e;
            }
            throw new IllegalArgumentException("--set: " + e.getMessage(), e);
        }
    }

    /**
     * The configuration with the command line's overrides.
     *
     * @param why what the command does with the cluster, for the error when none is configured
     */
    ServiceConfig config(String why) {
        if (bootstrapServers != null && bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("--bootstrap-servers = '" + bootstrapServers + "' is empty; give the Kafka addresses (host:port,…), "
                    + "or leave it out for bootstrap.servers of --config");
        }
        if (registryUrl != null && registryUrl.isBlank()) {
            throw new IllegalArgumentException("--registry-url = '" + registryUrl + "' is empty; give the schema registry's URL, "
                    + "or leave it out for " + RegistryConfig.URL + " of --config");
        }
        if (bootstrapServers != null) {
            KafkaAddresses.check("--bootstrap-servers", bootstrapServers);
        }
        Map<String, String> set = parseSet(this.overrides);
        Map<String, String> overrides = new HashMap<>(set);
        if (bootstrapServers != null) {
            overrides.put("bootstrap.servers", bootstrapServers);
        }
        if (registryUrl != null) {
            overrides.put(RegistryConfig.URL, registryUrl);
        }
        ServiceConfig config = withSet(ServiceConfig.load(configFile, System.getenv()), overrides, set);
        if (!config.hasBootstrapServers()) {
            throw new IllegalArgumentException("bootstrap.servers is not set: " + why
                    + " (give --config, --bootstrap-servers or EXPLAINSTREAM_BOOTSTRAP_SERVERS)");
        }
        return config;
    }
}
