package io.explainstream.testing;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A real single-node KRaft broker in the test JVM (Kafka's own test kit: internal API, test code
 * only), with the replication settings a single broker needs for consumer groups and transactions.
 */
public final class InJvmKafka implements AutoCloseable {

    /** The test kit's SASL/PLAIN super user (its broker runs an authorizer that denies everyone else). */
    public static final String SASL_USER = "plain-admin";
    public static final String SASL_PASSWORD = "plain-admin-secret";
    private static final String JAAS_PROPERTY = "java.security.auth.login.config";

    private final KafkaClusterTestKit cluster;
    private final Map<String, String> clientSecurity;

    private InJvmKafka(KafkaClusterTestKit cluster, Map<String, String> clientSecurity) {
        this.cluster = cluster;
        this.clientSecurity = clientSecurity;
    }

    public static InJvmKafka start() throws Exception {
        return start(Map.of());
    }

    public static InJvmKafka start(Map<String, String> extraConfig) throws Exception {
        return start(extraConfig, SecurityProtocol.PLAINTEXT);
    }

    /**
     * A broker whose client listener takes SASL_PLAINTEXT with the PLAIN mechanism. The test kit
     * writes the broker's JAAS file and points a JVM-wide system property at it; {@link #close()}
     * clears that property again.
     */
    public static InJvmKafka startWithSaslPlain() throws Exception {
        return start(Map.of(), SecurityProtocol.SASL_PLAINTEXT);
    }

    /**
     * A broker whose client listener takes TLS only (SSL), with the certificate of {@code tls}; its
     * clients must trust that certificate.
     */
    public static InJvmKafka startWithTls(SelfSignedTls tls) throws Exception {
        // The test kit itself sets up PLAINTEXT and SASL_PLAINTEXT only: its client listener
        // (EXTERNAL) is switched to SSL through the protocol map; the controller's stays plain.
        Map<String, String> server = Map.of("listener.security.protocol.map", "EXTERNAL:SSL,CONTROLLER:PLAINTEXT",
                "ssl.keystore.location", tls.keystore().toString(), "ssl.keystore.password", tls.password(),
                "ssl.key.password", tls.password(), "ssl.keystore.type", "PKCS12", "ssl.truststore.location", tls.truststore().toString(),
                "ssl.truststore.password", tls.password(), "ssl.truststore.type", "PKCS12");
        InJvmKafka kafka = start(server, SecurityProtocol.PLAINTEXT);
        return new InJvmKafka(kafka.cluster, tlsClientSettings(tls));
    }

    /** The client settings for a TLS listener with a self-signed certificate. */
    public static Map<String, String> tlsClientSettings(SelfSignedTls tls) {
        return Map.of("security.protocol", "SSL", "ssl.truststore.location", tls.truststore().toString(), "ssl.truststore.password",
                tls.password(), "ssl.truststore.type", "PKCS12");
    }

    /** The client settings for this broker's listener: what a user puts in the service's configuration. */
    public static Map<String, String> saslPlainClientSettings(String user, String password) {
        return Map.of("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN", "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + user + "\" password=\"" + password + "\";");
    }

    private static InJvmKafka start(Map<String, String> extraConfig, SecurityProtocol protocol) throws Exception {
        KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(
                new TestKitNodes.Builder().setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).setBrokerSecurityProtocol(protocol)
                        .setControllerSecurityProtocol(protocol).build())
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("offsets.topic.num.partitions", "1")
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("transaction.state.log.min.isr", "1")
                .setConfigProp("transaction.state.log.num.partitions", "1")
                .setConfigProp("group.initial.rebalance.delay.ms", "0");
        extraConfig.forEach(builder::setConfigProp);
        KafkaClusterTestKit cluster = builder.build();
        cluster.format();
        cluster.startup();
        cluster.waitForReadyBrokers();
        return new InJvmKafka(cluster, protocol == SecurityProtocol.SASL_PLAINTEXT ? saslPlainClientSettings(SASL_USER, SASL_PASSWORD) : Map.of());
    }

    public String bootstrapServers() {
        return cluster.bootstrapServers();
    }

    /** bootstrap.servers and, for a SASL broker, the super user's credentials. */
    public Map<String, String> clientSettings() {
        Map<String, String> settings = new HashMap<>(clientSecurity);
        settings.put("bootstrap.servers", bootstrapServers());
        return settings;
    }

    private Properties clientProperties() {
        Properties props = new Properties();
        props.putAll(clientSettings());
        return props;
    }

    /** Broker settings under which time-based retention runs from the start and every half second, so a test sees within seconds what it deletes. */
    public static final Map<String, String> RETENTION_RUNS = Map.of("log.initial.task.delay.ms", "0", "log.retention.check.interval.ms", "500");

    /** Partition 0's first offset still on the broker: above 0 once retention (or deleteRecords) has removed records. */
    public long logStartOffset(String topic) {
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(clientProperties())) {
            org.apache.kafka.common.TopicPartition partition = new org.apache.kafka.common.TopicPartition(topic, 0);
            return admin.listOffsets(Map.of(partition, org.apache.kafka.clients.admin.OffsetSpec.earliest())).partitionResult(partition)
                    .get(30, java.util.concurrent.TimeUnit.SECONDS).offset();
        } catch (Exception e) {
            throw new IllegalStateException("cannot read the log start offset of " + topic, e);
        }
    }

    /**
     * Whether this broker's retention deletes a record of {@code timestampMs} from a topic of the
     * broker's default retention within 30 s: the control that lets a test of what retention keeps
     * fail (on a broker started with {@link #RETENTION_RUNS}).
     */
    public boolean retentionDeletes(String controlTopic, long timestampMs) throws Exception {
        createTopic(controlTopic, 1);
        try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
            producer.send(new ProducerRecord<>(controlTopic, 0, timestampMs, new byte[0], new byte[0])).get();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (logStartOffset(controlTopic) == 0 && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        return logStartOffset(controlTopic) == 1;
    }

    /** Creates a topic, as the service or an operator would before anything is produced to it. */
    public void createTopic(String name, int partitions) {
        createTopic(name, partitions, Map.of());
    }

    /** Creates a topic with these topic configs (retention.ms, message.timestamp.type, ...). */
    public void createTopic(String name, int partitions, Map<String, String> configs) {
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(clientProperties())) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(name, partitions, (short) 1).configs(configs)))
                    .all().get(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create topic " + name, e);
        }
    }

    /** Sends UTF-8 key/value pairs and waits until the broker has them all. */
    public void produce(String topic, List<String[]> keyValues) {
        try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
            for (String[] keyValue : keyValues) {
                producer.send(new ProducerRecord<>(topic, keyValue[0].getBytes(StandardCharsets.UTF_8),
                        keyValue[1] == null ? null : keyValue[1].getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    public KafkaProducer<byte[], byte[]> producer(Map<String, Object> extra) {
        Properties props = clientProperties();
        props.putAll(extra);
        return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /**
     * Reads committed records of a topic from the beginning until {@code done} holds or the
     * timeout passes, then one second more so that late duplicates would show.
     */
    public List<ConsumerRecord<byte[], byte[]>> readCommitted(String topic, Predicate<List<ConsumerRecord<byte[], byte[]>>> done, Duration timeout) {
        return readCommitted(clientSettings(), topic, done, timeout);
    }

    /** {@link #readCommitted(String, Predicate, Duration)} on any cluster. */
    public static List<ConsumerRecord<byte[], byte[]>> readCommitted(Map<String, String> clientSettings, String topic,
            Predicate<List<ConsumerRecord<byte[], byte[]>>> done, Duration timeout) {
        Properties props = new Properties();
        props.putAll(clientSettings);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!done.test(records) && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            long settle = System.nanoTime() + Duration.ofSeconds(1).toNanos();
            while (System.nanoTime() < settle) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    @Override
    public void close() throws Exception {
        cluster.close();
        if ("SASL_PLAINTEXT".equals(clientSecurity.get("security.protocol"))) {
            System.clearProperty(JAAS_PROPERTY);
            javax.security.auth.login.Configuration.setConfiguration(null);
        }
    }
}
