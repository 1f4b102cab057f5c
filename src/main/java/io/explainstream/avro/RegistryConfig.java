package io.explainstream.avro;

import io.explainstream.input.PlainNumber;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * How to reach a schema registry speaking the Confluent REST API (Confluent Schema Registry,
 * Apicurio's ccompat API, Karapace, Redpanda).
 *
 * @param url base URL, for example {@code http://127.0.0.1:8081} or {@code https://registry:8081/apis/ccompat/v7}
 * @param username basic-auth user, or null
 * @param password basic-auth password, or null; never printed
 * @param truststore PKCS12 or JKS file with the CA certificates to trust for HTTPS, or null for the JVM's
 * @param truststorePassword its password, or null; never printed
 * @param requestTimeout timeout of one HTTP request
 * @param maxRetries retries after a connection error or a 5xx answer
 * @param retryBackoff the first retry's wait; each next one doubles it
 */
public record RegistryConfig(
        URI url,
        String username,
        String password,
        Path truststore,
        String truststorePassword,
        Duration requestTimeout,
        int maxRetries,
        Duration retryBackoff) {

    /** The configuration keys, as they appear in the properties file. */
    public static final String URL = "schema.registry.url";
    public static final String USER_INFO = "schema.registry.basic.auth.user.info";
    public static final String TRUSTSTORE = "schema.registry.ssl.truststore.location";
    public static final String TRUSTSTORE_PASSWORD = "schema.registry.ssl.truststore.password";
    public static final String MAX_RETRIES = "schema.registry.max.retries";
    public static final String RETRY_BACKOFF_MS = "schema.registry.retry.backoff.ms";
    public static final String REQUEST_TIMEOUT_MS = "schema.registry.request.timeout.ms";

    public RegistryConfig {
        if (url == null || url.getScheme() == null || !(url.getScheme().equals("http") || url.getScheme().equals("https"))) {
            throw new IllegalArgumentException(URL + " = '" + url + "' must be an http:// or https:// URL");
        }
        if (url.getUserInfo() != null) {
            throw new IllegalArgumentException(URL + " must not carry credentials; set " + USER_INFO + " = user:password instead");
        }
        if (maxRetries < 0) {
            throw new IllegalArgumentException(MAX_RETRIES + " = " + maxRetries + " must be ≥ 0");
        }
        // Checked here: the HTTP client refuses them only at the first request, without the key.
        if (requestTimeout.isNegative() || requestTimeout.isZero()) {
            throw new IllegalArgumentException(REQUEST_TIMEOUT_MS + " = " + requestTimeout.toMillis() + " must be a positive number of milliseconds");
        }
        if (retryBackoff.isNegative()) {
            throw new IllegalArgumentException(RETRY_BACKOFF_MS + " = " + retryBackoff.toMillis() + " must be ≥ 0 milliseconds");
        }
    }

    public static RegistryConfig of(String url) {
        return new RegistryConfig(URI.create(url), null, null, null, null, Duration.ofSeconds(30), 3, Duration.ofMillis(200));
    }

    public RegistryConfig withBasicAuth(String user, String secret) {
        return new RegistryConfig(url, user, secret, truststore, truststorePassword, requestTimeout, maxRetries, retryBackoff);
    }

    public RegistryConfig withTruststore(Path file, String secret) {
        return new RegistryConfig(url, username, password, file, secret, requestTimeout, maxRetries, retryBackoff);
    }

    public RegistryConfig withRetries(int retries, Duration backoff) {
        return new RegistryConfig(url, username, password, truststore, truststorePassword, requestTimeout, retries, backoff);
    }

    /** Reads the {@code schema.registry.*} keys; the URL is required. */
    public static RegistryConfig fromProperties(Map<String, String> properties) {
        String url = properties.get(URL);
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException(URL + " is not set");
        }
        RegistryConfig config;
        try {
            URI parsed = URI.create(url.trim());
            if (parsed.getUserInfo() != null) {
                // the value is not echoed: it holds a password
                throw new IllegalArgumentException(URL + " must not carry credentials; set " + USER_INFO + " = user:password instead");
            }
            config = of(url.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().startsWith(URL) ? e.getMessage() : URL + " = '" + url + "' is not a URL: " + e.getMessage(), e);
        }
        String userInfo = properties.get(USER_INFO);
        if (userInfo != null && !userInfo.isEmpty()) {
            int colon = userInfo.indexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException(USER_INFO + " must be user:password (the value is not shown)");
            }
            config = config.withBasicAuth(userInfo.substring(0, colon), userInfo.substring(colon + 1));
        }
        String truststoreFile = properties.get(TRUSTSTORE);
        if (truststoreFile != null && !truststoreFile.isEmpty()) {
            config = config.withTruststore(Path.of(truststoreFile), properties.get(TRUSTSTORE_PASSWORD));
        }
        int retries = parseInt(properties, MAX_RETRIES, config.maxRetries());
        long backoff = parseInt(properties, RETRY_BACKOFF_MS, (int) config.retryBackoff().toMillis());
        int timeout = parseInt(properties, REQUEST_TIMEOUT_MS, (int) config.requestTimeout().toMillis());
        return new RegistryConfig(config.url(), config.username(), config.password(), config.truststore(), config.truststorePassword(),
                Duration.ofMillis(timeout), retries, Duration.ofMillis(backoff));
    }

    private static int parseInt(Map<String, String> properties, String key, int fallback) {
        String value = properties.get(key);
        if (value == null) {
            return fallback;
        }
        try {
            return PlainNumber.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " = '" + value + "' is not an integer");
        }
    }

    /** Secrets masked: this is what logs and error messages may show. */
    @Override
    public String toString() {
        return "RegistryConfig[url=" + url + ", user=" + (username == null ? "none" : username) + ", password=" + (password == null ? "none" : "[hidden]")
                + ", truststore=" + truststore + ", truststorePassword=" + (truststorePassword == null ? "none" : "[hidden]")
                + ", maxRetries=" + maxRetries + ", retryBackoff=" + retryBackoff + "]";
    }
}
