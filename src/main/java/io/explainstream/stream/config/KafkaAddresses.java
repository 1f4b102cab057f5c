package io.explainstream.stream.config;

import org.apache.kafka.common.utils.Utils;

/**
 * The syntax of a Kafka address list ({@code host:port,host:port}), checked when the configuration
 * is read: Kafka's clients check it only when they are built, and fail there with a stack trace.
 */
public final class KafkaAddresses {

    private KafkaAddresses() {}

    /**
     * @param name the key or option the list was given under, for the error
     * @throws ConfigException naming {@code name}, the list and the address that is wrong
     */
    public static void check(String name, String list) {
        for (String address : list.split(",", -1)) {
            String trimmed = address.trim();
            String problem = problem(trimmed);
            if (problem != null) {
                throw new ConfigException(name + " = '" + list + "': " + problem + " (give host:port, for example localhost:9092; several are separated by commas)");
            }
        }
    }

    private static String problem(String address) {
        if (address.isEmpty()) {
            return "an address is empty";
        }
        String host = Utils.getHost(address);
        Integer port;
        try {
            port = Utils.getPort(address);
        } catch (NumberFormatException e) {
            return "'" + address + "' has port " + address.substring(address.lastIndexOf(':') + 1) + ", outside 1 to 65535";
        }
        if (host == null || port == null) {
            return "'" + address + "' is not host:port";
        }
        if (port < 1 || port > 65535) {
            return "'" + address + "' has port " + port + ", outside 1 to 65535";
        }
        return null;
    }
}
