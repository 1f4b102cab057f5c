package io.explainstream.stream.config;

import io.explainstream.attribution.AttributionSettings;
import io.explainstream.attribution.Baseline;
import io.explainstream.attribution.GradientMethod;
import io.explainstream.attribution.QuadratureRule;
import io.explainstream.attribution.ScoreNormalization;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.input.PlainNumber;
import io.explainstream.logging.LogFormat;
import io.explainstream.model.ComputeDtype;
import io.explainstream.model.CpuThreads;
import io.explainstream.model.DeviceSpec;
import io.explainstream.model.ModelOptions;
import io.explainstream.stream.audit.AuditPolicy;
import io.explainstream.stream.ingest.InputFormat;
import io.explainstream.stream.ingest.ValidationPolicy;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The service configuration: a properties file, then environment variables
 * ({@code EXPLAINSTREAM_BATCH_MAX_EVENTS=16} sets {@code batch.max.events}). The service's own keys
 * are in {@link Setting}; Kafka Streams, consumer, producer and admin keys pass through. Unknown
 * keys and bad values fail at start with the key and the value (secrets are not echoed).
 */
public final class ServiceConfig {

    public static final String ENV_PREFIX = "EXPLAINSTREAM_";

    /** Kafka Streams defaults that differ from Kafka's own, and why. */
    private static final Map<String, String> STREAMS_DEFAULTS = Map.of(
            StreamsConfig.APPLICATION_ID_CONFIG, "explainstream",
            StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2,
            // Kafka's default is a folder under the system temp directory, wiped by reboots.
            StreamsConfig.STATE_DIR_CONFIG, "data/streams-state",
            // The topology has no global stores, so this changes nothing but the warning Kafka Streams
            // prints twice per start until it is set (it becomes the default in Kafka 5.0).
            StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, "true");

    private static final String PRODUCER_MAX_REQUEST_SIZE = StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
    private static final String PRODUCER_TRANSACTION_TIMEOUT = StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG);
    /** The shortest transaction timeout the service sets: recovery after a hard crash takes about this long. */
    private static final long MIN_TRANSACTION_TIMEOUT_MS = 60_000;
    private static final String MAIN_CONSUMER_SESSION_TIMEOUT = StreamsConfig.mainConsumerPrefix(CommonClientConfigs.SESSION_TIMEOUT_MS_CONFIG);
    /**
     * The group's session timeout the service sets (Kafka's default is 45 s). A stream thread that
     * fails is replaced without leaving the group (Kafka Streams closes it with REMAIN_IN_GROUP), so
     * its successor gets the partitions only when the group drops it: the stream stalls this long on
     * every replacement, and a killed instance's partitions wait this long too. The heartbeat runs on
     * its own thread, not the one in the engine, so a long batch does not miss it; 10 s was Kafka's
     * default before 3.0 and is well above the broker's minimum (6 s).
     */
    static final int SESSION_TIMEOUT_MS = 10_000;
    /** Room for the headers of a record (a dead letter's reason and source position) on top of its key and value. */
    public static final int HEADER_ROOM_BYTES = 65_536;

    /** The prefixes Kafka Streams reads client settings under, longest first. */
    private static final List<String> KAFKA_CLIENT_PREFIXES = List.of("main.consumer.", "restore.consumer.", "global.consumer.", "consumer.",
            "producer.", "admin.");
    private static final List<String> PASS_THROUGH_PREFIXES = Stream.concat(KAFKA_CLIENT_PREFIXES.stream(),
            Stream.of("topic.", "schema.registry.", "ssl.", "sasl.", "listener.")).toList();
    /** The service's own keys, which are not handed to Kafka. */
    private static final Set<String> OWN_KEYS = Arrays.stream(Setting.values()).map(Setting::key).collect(Collectors.toUnmodifiableSet());
    /** Alert rules (alert.<name>.when, alert.<name>.group): the service's own dynamic keys, checked by the statistics at start. */
    public static final String ALERT_PREFIX = "alert.";

    private final Map<String, String> values;
    /** The keys an environment variable set, and the variable, for errors found after the load (the statistics' settings at start). */
    private final Map<String, String> fromEnvironment;

    private ServiceConfig(Map<String, String> values) {
        this(values, Map.of());
    }

    private ServiceConfig(Map<String, String> values, Map<String, String> fromEnvironment) {
        this.values = values;
        this.fromEnvironment = Map.copyOf(fromEnvironment);
        validate();
    }

    /**
     * {@code error}, with the environment variable named when the value it refuses came from one:
     * a variable overrides the file, and the user would look for the value in the wrong place.
     */
    public ConfigException withSource(ConfigException error) {
        return withSource(error, fromEnvironment);
    }

    private static ConfigException withSource(ConfigException error, Map<String, String> fromEnvironment) {
        for (Map.Entry<String, String> variable : fromEnvironment.entrySet()) {
            if (error.getMessage().startsWith(variable.getKey() + " ") || error.getMessage().startsWith("unknown configuration key '" + variable.getKey() + "'")) {
                return new ConfigException(error.getMessage() + " (set by the environment variable " + variable.getValue() + ")", error);
            }
        }
        return error;
    }

    /** Reads a properties file (optional) and applies environment overrides. */
    public static ServiceConfig load(Path file, Map<String, String> environment) {
        Map<String, String> values = new LinkedHashMap<>();
        if (file != null) {
            if (file.toString().isEmpty()) {
                // Path.of("") is the working directory: "is a directory" would point at the wrong thing.
                throw new ConfigException("--config = '' is empty; give the properties file, or leave --config out");
            }
            if (Files.isDirectory(file)) {
                throw new ConfigException("--config = " + file + " is a directory; give the properties file");
            }
            if (!Files.isRegularFile(file)) {
                throw new ConfigException("--config = " + file + ": no such file");
            }
            Map<String, String> twice = new LinkedHashMap<>();
            // A key given twice is a mistake to name, not to settle silently by the last line.
            Properties properties = new Properties() {
                @Override
                public synchronized Object put(Object key, Object value) {
                    Object earlier = super.put(key, value);
                    if (earlier != null) {
                        twice.putIfAbsent(key.toString(), "'" + earlier + "', then '" + value + "'");
                    }
                    return earlier;
                }
            };
            try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                // Editors on Windows start UTF-8 files with a byte order mark; it is not part of the first key.
                reader.mark(1);
                if (reader.read() != '\uFEFF') {
                    reader.reset();
                }
                properties.load(reader);
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new ConfigException("--config = " + file + " is not UTF-8 text: line " + firstLineNotUtf8(file)
                        + " holds bytes that are not UTF-8 (save the file as UTF-8, or write the character as a \\uXXXX escape)", e);
            } catch (IOException | IllegalArgumentException e) {
                throw new ConfigException("--config = " + file + " cannot be read as a properties file: " + e.getMessage(), e);
            }
            if (!twice.isEmpty()) {
                Map.Entry<String, String> first = twice.entrySet().iterator().next();
                throw new ConfigException("--config = " + file + " sets " + first.getKey() + " twice (" + first.getValue() + "); keep one");
            }
            properties.stringPropertyNames().forEach(key -> values.put(key.trim(), properties.getProperty(key).trim()));
        }
        Map<String, String> fromEnvironment = new LinkedHashMap<>(); // key → the variable that set it
        environment.forEach((name, value) -> {
            if (name.startsWith(ENV_PREFIX) && name.length() > ENV_PREFIX.length()) {
                String key = name.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.');
                values.put(key, value.trim());
                fromEnvironment.put(key, name);
            }
        });
        try {
            return new ServiceConfig(values, fromEnvironment);
        } catch (ConfigException e) {
            throw withSource(e, fromEnvironment);
        }
    }

    /** The 1-based number of the first line of {@code file} that does not decode as UTF-8, or "?" when it cannot be read again. */
    private static String firstLineNotUtf8(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            int line = 1;
            int start = 0;
            for (int i = 0; i <= bytes.length; i++) {
                if (i == bytes.length || bytes[i] == '\n') {
                    try {
                        StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes, start, i - start));
                    } catch (java.nio.charset.CharacterCodingException notUtf8) {
                        return Integer.toString(line);
                    }
                    line++;
                    start = i + 1;
                }
            }
        } catch (IOException e) {
            // reported as unknown below
        }
        return "?";
    }

    public static ServiceConfig of(Map<String, String> values) {
        return new ServiceConfig(new LinkedHashMap<>(values));
    }

    private void validate() {
        Set<String> known = knownKafkaKeys();
        known.addAll(OWN_KEYS);
        for (String key : values.keySet()) {
            if (!known.contains(key) && !key.startsWith(ALERT_PREFIX) && PASS_THROUGH_PREFIXES.stream().noneMatch(key::startsWith)) {
                throw new ConfigException("unknown configuration key '" + key + "'" + Nearest.suggestion(key, known, "")
                        + " (the README lists the service's keys; Kafka keys pass through)");
            }
            clientKey(key);
        }
        kafkaValues();
        String threads = values.get(StreamsConfig.NUM_STREAM_THREADS_CONFIG);
        if (threads != null && !threads.equals("1")) {
            throw new ConfigException(StreamsConfig.NUM_STREAM_THREADS_CONFIG + " = " + threads
                    + " is not supported: one stream thread owns the model; scale out with more instances");
        }
        // Parse every typed setting once, so that a bad value fails at start and not at the first event.
        attributionSettings();
        summaryTopK();
        auditPolicy();
        modelOptions();
        batchPolicy();
        nonNegative(Setting.HEALTH_REPLACEMENTS_MAX);
        positive(Setting.HEALTH_REPLACEMENTS_WINDOW_MS);
        positive(Setting.TOPICS_PARTITIONS);
        replicationFactor();
        for (Setting topic : List.of(Setting.INPUT_TOPIC, Setting.OUTPUT_TOPIC, Setting.DLQ_TOPIC, Setting.DIFF_TOPIC, Setting.STATS_TOPIC,
                Setting.ALERTS_TOPIC)) {
            topicName(topic);
        }
        inputRetentionMs();
        replayOutOfOrderMs();
        metricsMetadataLabels();
        maxRecordBytes();
        validationPolicy();
        inputFormat();
        opsPort();
        subjectStrategy();
        bool(Setting.REDACT);
        bool(Setting.AUTO_REGISTER);
        parse(Setting.LOG_FORMAT, LogFormat::parse);
        if (values.containsKey(RegistryConfig.URL)) {
            registryConfig();
        }
        applicationId();
        stateDir();
        opsHost();
        heartbeatWithinSession();
        dashboardAuth();
    }

    /**
     * A session timeout given at or below the heartbeat interval (3 s by Kafka's default) fails in
     * the consumer's constructor, as a stack trace: said here with both keys.
     */
    private void heartbeatWithinSession() {
        long session = clientValue(CommonClientConfigs.SESSION_TIMEOUT_MS_CONFIG, SESSION_TIMEOUT_MS);
        long heartbeat = clientValue(CommonClientConfigs.HEARTBEAT_INTERVAL_MS_CONFIG, 3_000);
        if (heartbeat >= session) {
            throw new ConfigException(CommonClientConfigs.SESSION_TIMEOUT_MS_CONFIG + " = " + session + " must be greater than "
                    + CommonClientConfigs.HEARTBEAT_INTERVAL_MS_CONFIG + " = " + heartbeat
                    + (mainConsumerSetting(values, CommonClientConfigs.HEARTBEAT_INTERVAL_MS_CONFIG) != null ? "" : " (Kafka's default)")
                    + ": set " + CommonClientConfigs.HEARTBEAT_INTERVAL_MS_CONFIG + " to a third of the session timeout or less");
        }
    }

    /** The main consumer's session timeout: how long the group keeps a member that stopped answering (a killed process). */
    public long sessionTimeoutMs() {
        return clientValue(CommonClientConfigs.SESSION_TIMEOUT_MS_CONFIG, SESSION_TIMEOUT_MS);
    }

    /** A main-consumer setting as a number, or {@code fallback} when none of its keys is given. */
    private long clientValue(String name, long fallback) {
        String value = mainConsumerSetting(values, name);
        return value == null ? fallback : parseLongOr(value, fallback);
    }

    /**
     * A consumer setting as the stream thread's consumer gets it from {@code settings} (this
     * configuration's values, or the Kafka Streams properties): {@code main.consumer.}, then
     * {@code consumer.}, then the plain key; null when none is given.
     */
    public static String mainConsumerSetting(Map<?, ?> settings, String name) {
        for (String key : List.of(StreamsConfig.mainConsumerPrefix(name), StreamsConfig.consumerPrefix(name), name)) {
            Object value = settings.get(key);
            if (value != null) {
                return value.toString();
            }
        }
        return null;
    }

    /** Whether processing.guarantee is exactly_once_v2 (the default): the state stores then commit with the offsets. */
    public boolean exactlyOnce() {
        return guaranteeWarning().isEmpty();
    }

    /**
     * What the start should warn of when processing.guarantee is not exactly_once_v2 (allowed: the
     * README's exactly-once promise and the transaction budget assume it), or empty.
     */
    public java.util.Optional<String> guaranteeWarning() {
        String guarantee = values.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG);
        if (guarantee == null || guarantee.trim().equals(StreamsConfig.EXACTLY_ONCE_V2)) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(StreamsConfig.PROCESSING_GUARANTEE_CONFIG + " = " + guarantee.trim() + ": explanations and dead letters may be"
                + " written twice after a crash or a broker outage; the default, " + StreamsConfig.EXACTLY_ONCE_V2 + ", writes each once");
    }

    /** The dashboard command reads dashboard.auth from the same file: a value it would refuse is refused by every command. */
    private void dashboardAuth() {
        String auth = get(Setting.DASHBOARD_AUTH);
        if (!auth.isEmpty() && !isUserAndPassword(auth)) {
            throw new ConfigException(Setting.DASHBOARD_AUTH.key() + " must be user:password, neither of them empty (the value is not shown)");
        }
    }

    /**
     * Whether {@code credentials} is {@code user:password} with neither part empty: an empty user or
     * password is a value half written, and one anybody could guess.
     */
    public static boolean isUserAndPassword(String credentials) {
        int colon = credentials.indexOf(':');
        return colon > 0 && colon < credentials.length() - 1;
    }

    /**
     * A key under a client prefix ({@code consumer.max.poll.records}) names a setting of that
     * client: a misspelt one ({@code consumer.max.pol.records}) was passed on, and Kafka ignores
     * what it does not know, so the setting silently did nothing.
     */
    private static void clientKey(String key) {
        String prefix = KAFKA_CLIENT_PREFIXES.stream().filter(key::startsWith).findFirst().orElse(null);
        if (prefix == null) {
            return;
        }
        String name = key.substring(prefix.length());
        Set<String> names = prefix.equals("producer.") ? ProducerConfig.configNames()
                : prefix.equals("admin.") ? AdminClientConfig.configNames() : ConsumerConfig.configNames();
        if (!names.contains(name)) {
            String client = prefix.equals("producer.") ? "producer" : prefix.equals("admin.") ? "admin client" : "consumer";
            if (!client.equals("producer") && ProducerConfig.configNames().contains(name)) {
                throw new ConfigException("unknown configuration key '" + key + "': " + name + " is a Kafka producer setting, not a " + client
                        + " one; give it as producer." + name);
            }
            if (!client.equals("consumer") && ConsumerConfig.configNames().contains(name)) {
                throw new ConfigException("unknown configuration key '" + key + "': " + name + " is a Kafka consumer setting, not a " + client
                        + " one; give it as consumer." + name);
            }
            throw new ConfigException("unknown configuration key '" + key + "': " + name + " is not a Kafka " + client + " setting"
                    + Nearest.suggestion(name, names, prefix));
        }
    }

    /** The prefix of the service's consumer group, internal topics and transactional ids: Kafka takes these characters only. */
    private void applicationId() {
        String id = values.getOrDefault(StreamsConfig.APPLICATION_ID_CONFIG, STREAMS_DEFAULTS.get(StreamsConfig.APPLICATION_ID_CONFIG));
        if (id.isEmpty() || !id.matches("[a-zA-Z0-9._-]{1,100}")) {
            throw new ConfigException(StreamsConfig.APPLICATION_ID_CONFIG + " = '" + id + "' must be 1 to 100 characters of ASCII letters, digits, '.', '_'"
                    + " and '-': it names the consumer group and begins the name of every internal topic");
        }
    }

    /** A state.dir that is a file, or under one, failed when Kafka Streams started, as a stack trace. */
    private void stateDir() {
        String configured = values.getOrDefault(StreamsConfig.STATE_DIR_CONFIG, STREAMS_DEFAULTS.get(StreamsConfig.STATE_DIR_CONFIG));
        Path dir;
        try {
            dir = Path.of(configured).toAbsolutePath();
        } catch (java.nio.file.InvalidPathException e) {
            throw new ConfigException(StreamsConfig.STATE_DIR_CONFIG + " = '" + configured + "' is not a path: " + e.getMessage(), e);
        }
        for (Path existing = dir; existing != null; existing = existing.getParent()) {
            if (Files.exists(existing)) {
                if (!Files.isDirectory(existing)) {
                    throw new ConfigException(StreamsConfig.STATE_DIR_CONFIG + " = '" + configured + "': " + existing
                            + " is a file; give a folder for the service's local state");
                }
                return;
            }
        }
    }

    /** The metrics and health endpoint binds here after the embedded broker and the model start: an unknown host is said first. */
    private void opsHost() {
        if (opsPort() < 0) {
            return;
        }
        String host = get(Setting.OPS_HOST).trim();
        try {
            java.net.InetAddress.getByName(host);
        } catch (java.net.UnknownHostException e) {
            throw new ConfigException(Setting.OPS_HOST.key() + " = '" + host + "' does not resolve to an address (no DNS or hosts entry for it)", e);
        }
    }

    /**
     * Each Kafka setting given, parsed and checked as Kafka's clients will: a bad value
     * ({@code processing.guarantee=foo}, {@code session.timeout.ms=abc}) fails at start with its
     * key and value, before an embedded broker is started, and not later as a stack trace.
     */
    private void kafkaValues() {
        List<org.apache.kafka.common.config.ConfigDef> definitions = List.of(StreamsConfig.configDef(), ConsumerConfig.configDef(),
                ProducerConfig.configDef(), AdminClientConfig.configDef());
        values.forEach((key, value) -> {
            if (OWN_KEYS.contains(key) || key.startsWith("topic.")) {
                return; // topic.* are topic configs, which the broker checks when the service creates its topics
            }
            String name = KAFKA_CLIENT_PREFIXES.stream().filter(key::startsWith).findFirst().map(prefix -> key.substring(prefix.length())).orElse(key);
            if (name.equals(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG) && !value.isBlank()) {
                KafkaAddresses.check(key, value);
            }
            for (org.apache.kafka.common.config.ConfigDef definition : definitions) {
                org.apache.kafka.common.config.ConfigDef.ConfigKey configKey = definition.configKeys().get(name);
                if (configKey == null) {
                    continue;
                }
                try {
                    Object parsed = org.apache.kafka.common.config.ConfigDef.parseType(name, value, configKey.type);
                    if (configKey.validator != null) {
                        configKey.validator.ensureValid(name, parsed);
                    }
                } catch (org.apache.kafka.common.config.ConfigException e) {
                    boolean secret = configKey.type == org.apache.kafka.common.config.ConfigDef.Type.PASSWORD;
                    throw new ConfigException(key + " = '" + (secret ? "[hidden]" : value) + "' is not a value Kafka takes: " + e.getMessage());
                }
            }
        });
    }

    private static Set<String> knownKafkaKeys() {
        Set<String> keys = new HashSet<>(StreamsConfig.configDef().names());
        keys.addAll(ConsumerConfig.configNames());
        keys.addAll(ProducerConfig.configNames());
        keys.addAll(AdminClientConfig.configNames());
        return keys;
    }

    public String get(Setting setting) {
        return values.getOrDefault(setting.key(), setting.defaultValue());
    }

    /**
     * The internal topic of the notices of events skipped to stay within the compute budget
     * ({@code <application.id>-skipped}), which the statistics count beside the explanations and
     * dead letters of their windows.
     */
    public String skipNoticesTopic() {
        return streamsProperties().getProperty("application.id") + "-skipped";
    }

    /**
     * The internal topic through which the statistics repartition their observations (explanations,
     * dead letters and skip notices) by group ({@code <application.id>-stats-observations}).
     */
    public String statsObservationsTopic() {
        return streamsProperties().getProperty("application.id") + "-stats-observations";
    }

    /** Whether the setting is configured, rather than at its default. */
    public boolean isSet(Setting setting) {
        return isSet(setting.key());
    }

    /** Whether {@code key} is configured (in the file or the environment), as opposed to left at its default. */
    public boolean isSet(String key) {
        return values.containsKey(key);
    }

    /** Whether bootstrap.servers is configured (without it the embedded broker is used). */
    public boolean hasBootstrapServers() {
        String servers = values.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG);
        return servers != null && !servers.isBlank();
    }

    /** A copy with some keys set, for the embedded default (bootstrap servers, registry URL). */
    public ServiceConfig with(Map<String, String> overrides) {
        Map<String, String> merged = new LinkedHashMap<>(values);
        merged.putAll(overrides);
        Map<String, String> stillFromEnvironment = new LinkedHashMap<>(fromEnvironment);
        stillFromEnvironment.keySet().removeAll(overrides.keySet());
        return new ServiceConfig(merged, stillFromEnvironment);
    }

    /** The configured keys that start with {@code prefix}, and their values. */
    public Map<String, String> prefixed(String prefix) {
        Map<String, String> matching = new TreeMap<>();
        values.forEach((key, value) -> {
            if (key.startsWith(prefix)) {
                matching.put(key, value);
            }
        });
        return matching;
    }

    public int integer(Setting setting) {
        return integer(setting, Integer.MIN_VALUE);
    }

    /**
     * The setting as an int of at least {@code min}. A whole number outside {@code min..2147483647}
     * says so: "is not an integer" would send the reader looking for a typo in 99999999999.
     */
    public int integer(Setting setting, int min) {
        String value = get(setting);
        if (!PlainNumber.isWhole(value.trim())) {
            throw new ConfigException(setting.key() + " = '" + value + "' is not an integer");
        }
        java.math.BigInteger whole = new java.math.BigInteger(value.trim());
        boolean tooLarge = whole.compareTo(java.math.BigInteger.valueOf(Integer.MAX_VALUE)) > 0;
        if (tooLarge && min == Integer.MIN_VALUE) {
            // Its own checks say what the least is (audit.max.lag.ms: 0); a range from -2147483648 read as if negatives were taken.
            throw new ConfigException(setting.key() + " = " + value.trim() + " is too large (at most " + Integer.MAX_VALUE + ")");
        }
        if (whole.compareTo(java.math.BigInteger.valueOf(min)) < 0 || tooLarge) {
            throw new ConfigException(setting.key() + " = " + value.trim() + " is out of range (" + min + ".." + Integer.MAX_VALUE + ")");
        }
        return whole.intValueExact();
    }

    /** The setting as a finite double: a plain decimal number, so not NaN, Infinity, 0x1p3 or 10f. */
    public double number(Setting setting) {
        String value = get(setting);
        try {
            return PlainNumber.parseFinite(value.trim());
        } catch (PlainNumber.Refused e) {
            throw new ConfigException(setting.key() + " = '" + value + "' " + e.getMessage());
        }
    }

    public boolean bool(Setting setting) {
        String value = get(setting).toLowerCase(Locale.ROOT);
        if (!value.equals("true") && !value.equals("false")) {
            throw new ConfigException(setting.key() + " = '" + get(setting) + "' must be true or false");
        }
        return Boolean.parseBoolean(value);
    }

    /** summary.top.k: the length of top_tokens and top_words. */
    public int summaryTopK() {
        int value = integer(Setting.SUMMARY_TOP_K);
        if (value < 1 || value > 100) {
            throw new ConfigException(Setting.SUMMARY_TOP_K.key() + " = " + value + " must be between 1 and 100");
        }
        return value;
    }

    /** topics.replication.factor: -1 for the broker's default, else 1 to 32767 (Kafka's short). */
    private void replicationFactor() {
        int value = integer(Setting.TOPICS_REPLICATION);
        if (value != -1 && (value < 1 || value > Short.MAX_VALUE)) {
            throw new ConfigException(Setting.TOPICS_REPLICATION.key() + " = " + value + " must be -1 (the broker's default) or from 1 to " + Short.MAX_VALUE);
        }
    }

    /** A topic setting holds a name Kafka accepts: a topic the service would create or read fails at start, not at the first event. */
    private void topicName(Setting setting) {
        try {
            org.apache.kafka.common.internals.Topic.validate(get(setting));
        } catch (org.apache.kafka.common.errors.InvalidTopicException e) {
            throw new ConfigException(setting.key() + " = '" + get(setting) + "' is not a Kafka topic name: " + e.getMessage(), e);
        }
    }

    /** replay.out.of.order.ms: milliseconds, or -1 for no bound (a replay reads to the end offset it starts with). */
    public int replayOutOfOrderMs() {
        int value = integer(Setting.REPLAY_OUT_OF_ORDER_MS);
        if (value < -1) {
            throw new ConfigException(Setting.REPLAY_OUT_OF_ORDER_MS.key() + " = " + value + " must be -1 (no bound) or at least 0");
        }
        return value;
    }

    public int nonNegative(Setting setting) {
        int value = integer(setting);
        if (value < 0) {
            throw new ConfigException(setting.key() + " = " + value + " must not be negative");
        }
        return value;
    }

    public int positive(Setting setting) {
        int value = integer(setting);
        if (value <= 0) {
            throw new ConfigException(setting.key() + " = " + value + " must be positive");
        }
        return value;
    }

    /** Wraps an IllegalArgumentException from a parser so that it names the configuration key. */
    private <T> T parse(Setting setting, java.util.function.BiFunction<String, String, T> parser) {
        try {
            return parser.apply(setting.key(), get(setting));
        } catch (ConfigException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage(), e);
        }
    }

    public AttributionSettings attributionSettings() {
        GradientMethod method = parse(Setting.METHOD, GradientMethod::parse);
        double targetDelta = number(Setting.TARGET_DELTA);
        if (targetDelta > 0 && method != GradientMethod.INTEGRATED_GRADIENTS) {
            throw new ConfigException(Setting.TARGET_DELTA.key() + " = " + get(Setting.TARGET_DELTA) + " adapts the steps of integrated_gradients; "
                    + Setting.METHOD.key() + " = " + method.optionName() + " takes one pass at the input and has no steps to adapt");
        }
        try {
            return new AttributionSettings(
                    method,
                    parse(Setting.INTEGRATION, QuadratureRule::parse),
                    positive(Setting.STEPS),
                    parse(Setting.BASELINE, Baseline::parse),
                    bool(Setting.INCLUDE_BOS),
                    bool(Setting.TOKEN_MATRIX),
                    targetDelta,
                    // Without adaptive steps the cap plays no part, so a default below a large attribution.steps is no error.
                    targetDelta > 0 ? positive(Setting.MAX_STEPS) : Math.max(positive(Setting.MAX_STEPS), integer(Setting.STEPS)),
                    parse(Setting.NORMALIZE, ScoreNormalization::parse),
                    positive(Setting.MAX_BATCH_TOKENS));
        } catch (AttributionSettings.Refused e) {
            throw new ConfigException(e.message(ServiceConfig::key), e);
        }
    }

    /** The configuration key of an attribution option: {@code target-delta} is {@code attribution.target.delta}. */
    private static String key(AttributionSettings.Option option) {
        return switch (option) {
            case INTEGRATION -> Setting.INTEGRATION.key();
            case STEPS -> Setting.STEPS.key();
            case TARGET_DELTA -> Setting.TARGET_DELTA.key();
            case MAX_STEPS -> Setting.MAX_STEPS.key();
            case MAX_BATCH_TOKENS -> Setting.MAX_BATCH_TOKENS.key();
            case BASELINE -> Setting.BASELINE.key();
        };
    }

    /** A refusal of the engine's, for settings only the loaded model can judge, in this configuration's keys. */
    public static ConfigException refused(AttributionSettings.Refused refusal) {
        return new ConfigException(refusal.message(ServiceConfig::key), refusal);
    }

    public ModelOptions modelOptions() {
        return new ModelOptions(parse(Setting.MODEL_DEVICE, DeviceSpec::parse), parse(Setting.MODEL_DTYPE, ComputeDtype::parse),
                parse(Setting.MODEL_THREADS, CpuThreads::parse));
    }

    /** The model directory: configured, or the bundled one under {@code home}. */
    public Path modelDirectory(Path home) {
        String dir = get(Setting.MODEL_DIR);
        return dir.isEmpty() ? home.resolve(io.explainstream.model.Checkpoint.BUNDLED_DIRECTORY) : Path.of(dir);
    }

    public String modelId(Path modelDirectory) {
        String id = get(Setting.MODEL_ID);
        return id.isEmpty() ? modelDirectory.getFileName().toString() : id;
    }

    /**
     * The most key and value bytes the service writes in one record. The producer must accept a
     * record that size plus its headers: unless max.request.size is set, it is raised to fit.
     */
    public int maxRecordBytes() {
        int bytes = integer(Setting.RECORD_MAX_BYTES);
        if (bytes < 1024) {
            throw new ConfigException(Setting.RECORD_MAX_BYTES.key() + " = " + bytes + " must be at least 1024");
        }
        String requestKey = values.containsKey(PRODUCER_MAX_REQUEST_SIZE) ? PRODUCER_MAX_REQUEST_SIZE : ProducerConfig.MAX_REQUEST_SIZE_CONFIG;
        String requestSize = values.get(requestKey);
        if (requestSize != null && parseLongOr(requestSize, -1) < (long) bytes + HEADER_ROOM_BYTES) {
            throw new ConfigException(Setting.RECORD_MAX_BYTES.key() + " = " + bytes + " needs " + requestKey + " of at least "
                    + (bytes + HEADER_ROOM_BYTES) + " (headers need room too); it is " + requestSize.trim());
        }
        return bytes;
    }

    private static long parseLongOr(String text, long fallback) {
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    public BatchPolicy batchPolicy() {
        double maxSeconds = number(Setting.BATCH_MAX_SECONDS);
        if (!(maxSeconds > 0)) {
            throw new ConfigException(Setting.BATCH_MAX_SECONDS.key() + " = " + get(Setting.BATCH_MAX_SECONDS) + " must be positive");
        }
        long timeout = transactionTimeoutMs();
        if (timeout < 2 * maxSeconds * 1000) {
            throw new ConfigException(Setting.BATCH_MAX_SECONDS.key() + " = " + get(Setting.BATCH_MAX_SECONDS) + " needs a transaction timeout of at least "
                    + (long) (2 * maxSeconds * 1000) + " ms; producer.transaction.timeout.ms is " + timeout);
        }
        return new BatchPolicy(positive(Setting.BATCH_MAX_EVENTS), positive(Setting.BATCH_MAX_TOKENS), positive(Setting.BATCH_MAX_WAIT_MS), maxSeconds,
                timeout, bool(Setting.BATCH_BY_LENGTH));
    }

    /**
     * The producer's transaction timeout: as configured, else 3 × batch.max.seconds and at least
     * 60 s. After a hard crash, read_committed consumers of the output (and the instance that takes
     * over the partitions) wait until the dead instance's open transaction times out.
     */
    public long transactionTimeoutMs() {
        String key = values.containsKey(PRODUCER_TRANSACTION_TIMEOUT) ? PRODUCER_TRANSACTION_TIMEOUT : ProducerConfig.TRANSACTION_TIMEOUT_CONFIG;
        String configured = values.get(key);
        if (configured != null) {
            long timeout = parseLongOr(configured, -1);
            if (timeout <= 0) {
                throw new ConfigException(key + " = '" + configured.trim() + "' must be a positive number of milliseconds");
            }
            return timeout;
        }
        double maxSeconds = number(Setting.BATCH_MAX_SECONDS);
        long derived = Math.max(MIN_TRANSACTION_TIMEOUT_MS, (long) Math.ceil(3 * maxSeconds * 1000));
        if (derived > Integer.MAX_VALUE) {
            // The producer takes an int: Kafka would fail with a stack trace naming a key the user never set.
            throw new ConfigException(Setting.BATCH_MAX_SECONDS.key() + " = " + get(Setting.BATCH_MAX_SECONDS) + " is too large: the transaction timeout,"
                    + " 3 times it, must fit in " + Integer.MAX_VALUE + " ms, and brokers allow 900000 ms (transaction.max.timeout.ms) by default");
        }
        return derived;
    }

    public List<String> metricsMetadataLabels() {
        return parse(Setting.METRICS_METADATA_LABELS, (key, value) -> {
            try {
                return MetricLabels.parse(value);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
            }
        });
    }

    /** retention.ms for the input topic the service creates, or null for the broker's default. */
    public String inputRetentionMs() {
        String value = get(Setting.TOPICS_INPUT_RETENTION_MS).trim();
        if (value.isEmpty()) {
            return null;
        }
        long ms = parseLongOr(value, Long.MIN_VALUE);
        if (ms < -1 || ms == 0) {
            throw new ConfigException(Setting.TOPICS_INPUT_RETENTION_MS.key() + " = '" + value + "' must be a positive number of milliseconds, or -1 (forever)");
        }
        return Long.toString(ms);
    }

    /**
     * The audit policy. {@code sample.rate}, deprecated, is read as {@code audit.sample.rate} with
     * {@code audit.cheap.method=skip}, which is what it always did; the two rates together are refused.
     */
    /**
     * Why the lag limit cannot be held, where it is under the engine time one call may take (3/4
     * of the transaction timeout): backlog control decides between engine calls, so the events
     * behind one such call pass a shorter limit before any step (a hostile test with a 30 s limit:
     * one 45 s call at the configured method, and the first decision came at a lag of 57 s).
     * Empty where the limit is off or at least that long.
     */
    public Optional<String> lagLimitUnderOneCall() {
        long maxLag = auditPolicy().maxLagMs();
        long oneCallMs = Math.round(0.75 * transactionTimeoutMs());
        if (maxLag == 0 || maxLag >= oneCallMs) {
            return Optional.empty();
        }
        return Optional.of(Setting.AUDIT_MAX_LAG_MS.key() + " = " + maxLag + " is under the engine time one call may take (" + oneCallMs
                + " ms, 3/4 of the transaction timeout): backlog control decides between engine calls, so the events behind a long one may pass it"
                + " before any step down; raise it, or lower batch.max.seconds or " + PRODUCER_TRANSACTION_TIMEOUT);
    }

    public AuditPolicy auditPolicy() {
        double legacy = rate(Setting.SAMPLE_RATE);
        double rate = rate(Setting.AUDIT_SAMPLE_RATE);
        AuditPolicy.CheapMethod cheap = parse(Setting.AUDIT_CHEAP_METHOD, AuditPolicy.CheapMethod::parse);
        if (legacy < 1) {
            if (isSet(Setting.AUDIT_SAMPLE_RATE)) {
                // Even at 1.0: a file that sets audit.sample.rate (the deployment's does) would have it silently replaced.
                throw new ConfigException(Setting.SAMPLE_RATE.key() + " = " + get(Setting.SAMPLE_RATE) + " is deprecated and cannot be combined with "
                        + Setting.AUDIT_SAMPLE_RATE.key() + " = " + get(Setting.AUDIT_SAMPLE_RATE) + "; set audit.sample.rate and audit.cheap.method=skip");
            }
            rate = legacy;
            cheap = AuditPolicy.CheapMethod.SKIP;
        }
        long maxLag = integer(Setting.AUDIT_MAX_LAG_MS);
        if (maxLag < 0) {
            throw new ConfigException(Setting.AUDIT_MAX_LAG_MS.key() + " = " + maxLag + " must not be negative (0 turns backlog control off)");
        }
        int minSteps = positive(Setting.AUDIT_MIN_STEPS);
        return new AuditPolicy(rate, parse(Setting.AUDIT_SAMPLE_ALWAYS, AuditPolicy::parseRules), cheap, maxLag, minSteps);
    }

    private double rate(Setting setting) {
        double rate = number(setting);
        if (!(rate > 0 && rate <= 1)) {
            throw new ConfigException(setting.key() + " = " + get(setting) + " must be in (0, 1]");
        }
        return rate;
    }

    /**
     * The largest input record the service takes: a value of {@code limits.event.bytes} with room
     * for its key and headers, and at least Kafka's default 1 MiB. The input topic the service
     * creates accepts records this large, and {@code send} produces them; with Kafka's defaults
     * an event at the limit could never reach the service.
     */
    public int inputRecordBytes() {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1_048_576L, (long) validationPolicy().eventBytesLimit() + HEADER_ROOM_BYTES));
    }

    public ValidationPolicy validationPolicy() {
        String accept = get(Setting.MODEL_ACCEPT);
        List<String> names = Arrays.stream(accept.split(",", -1)).map(String::trim).toList();
        if (!accept.isBlank() && names.contains("")) {
            // ",,," read as "every model" (empty after the blanks): a list with a gap is a typo, not that.
            throw new ConfigException(Setting.MODEL_ACCEPT.key() + " = '" + accept + "' has an empty name at position " + (names.indexOf("") + 1)
                    + "; leave it empty to explain every model");
        }
        Set<String> accepted = names.stream().filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
        return new ValidationPolicy(
                positive(Setting.PROMPT_TOKEN_LIMIT),
                enumValue(Setting.PROMPT_POLICY, ValidationPolicy.PromptPolicy.class),
                positive(Setting.RESPONSE_TOKEN_LIMIT),
                enumValue(Setting.RESPONSE_POLICY, ValidationPolicy.ResponsePolicy.class),
                positive(Setting.EVENT_BYTES_LIMIT),
                positive(Setting.METADATA_ENTRIES_LIMIT),
                accepted,
                enumValue(Setting.MODEL_OTHER, ValidationPolicy.OtherModels.class));
    }

    public InputFormat inputFormat() {
        return enumValue(Setting.INPUT_FORMAT, InputFormat.class);
    }

    public int opsPort() {
        int port = integer(Setting.OPS_PORT);
        if (port < -1 || port > 65535) {
            throw new ConfigException(Setting.OPS_PORT.key() + " = " + port + " is not a port (0 = any free port, -1 = disabled)");
        }
        return port;
    }

    public SubjectNameStrategy subjectStrategy() {
        return parse(Setting.SUBJECT_STRATEGY, SubjectNameStrategy::parse);
    }

    public RegistryConfig registryConfig() {
        try {
            return RegistryConfig.fromProperties(values);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage(), e);
        }
    }

    private <E extends Enum<E>> E enumValue(Setting setting, Class<E> type) {
        String value = get(setting);
        for (E constant : type.getEnumConstants()) {
            if (constant.name().equalsIgnoreCase(value.trim())) {
                return constant;
            }
        }
        throw new ConfigException(setting.key() + " = '" + value + "' is not one of "
                + Arrays.stream(type.getEnumConstants()).map(c -> c.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")));
    }

    /**
     * The Kafka Streams properties: the service's defaults, then every configured key that is not
     * one of the service's own.
     */
    public Properties streamsProperties() {
        Properties properties = new Properties();
        properties.putAll(STREAMS_DEFAULTS);
        properties.put(PRODUCER_TRANSACTION_TIMEOUT, Long.toString(transactionTimeoutMs()));
        if (!values.containsKey(PRODUCER_MAX_REQUEST_SIZE) && !values.containsKey(ProducerConfig.MAX_REQUEST_SIZE_CONFIG)) {
            // Set only when the user has not: Kafka Streams prefers the prefixed key over the plain one.
            properties.put(PRODUCER_MAX_REQUEST_SIZE, Integer.toString(Math.max(1_048_576, maxRecordBytes() + HEADER_ROOM_BYTES)));
        }
        if (mainConsumerSetting(values, CommonClientConfigs.SESSION_TIMEOUT_MS_CONFIG) == null) {
            properties.put(MAIN_CONSUMER_SESSION_TIMEOUT, Integer.toString(SESSION_TIMEOUT_MS));
        }
        if (!values.containsKey(StreamsConfig.APPLICATION_SERVER_CONFIG) && opsPort() > 0 && !get(Setting.OPS_HOST).equals("0.0.0.0")) {
            // Where other instances forward /api/stats questions about groups this instance holds.
            properties.put(StreamsConfig.APPLICATION_SERVER_CONFIG, get(Setting.OPS_HOST) + ":" + opsPort());
        }
        values.forEach((key, value) -> {
            if (!OWN_KEYS.contains(key) && !key.startsWith("schema.registry.") && !key.startsWith(ALERT_PREFIX)) {
                properties.put(key, value);
            }
        });
        return properties;
    }

    /**
     * The Kafka client settings (bootstrap, security, and the rest of {@link #streamsProperties()})
     * as strings, in a new map the caller may change: what the commands that read or write a
     * cluster themselves hand to Kafka's clients.
     */
    public Map<String, String> clientSettings() {
        Map<String, String> clients = new HashMap<>();
        streamsProperties().forEach((key, value) -> clients.put(key.toString(), value.toString()));
        return clients;
    }

    /** Every value, secrets hidden: what the service logs at start. */
    public Map<String, String> describe() {
        Map<String, String> shown = new TreeMap<>();
        for (Setting setting : Setting.values()) {
            shown.put(setting.key(), get(setting));
        }
        streamsProperties().forEach((key, value) -> shown.put(key.toString(), value.toString()));
        values.forEach((key, value) -> shown.putIfAbsent(key, value));
        shown.replaceAll((key, value) -> isSecret(key) ? "[hidden]" : value);
        return shown;
    }

    public static boolean isSecret(String key) {
        String lower = key.toLowerCase(Locale.ROOT);
        return lower.contains("password") || lower.contains("user.info") || lower.contains("jaas") || lower.contains("secret") || lower.endsWith(".auth")
                || lower.contains("token") && !lower.startsWith("limits.") && !lower.startsWith("batch.") && !lower.startsWith("attribution.");
    }
}
