package io.explainstream.avro;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Schemas in a compacted Kafka topic ({@code _schemas}, one partition), in the key and value
 * format of Confluent Schema Registry's own topic: a restarted registry reads the topic from the
 * start and hands out the same ids.
 */
public final class KafkaSchemaStore implements SchemaStore {

    public static final String DEFAULT_TOPIC = "_schemas";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final String topic;
    private final TopicPartition partition;
    private final KafkaProducer<String, String> producer;
    private final Map<String, Object> clientConfig;

    /**
     * @param clientConfig Kafka client settings (bootstrap.servers, security) shared by the
     *     producer, consumer and admin client
     */
    public KafkaSchemaStore(Map<String, Object> clientConfig, String topic, short replicationFactor) {
        this.topic = topic;
        this.partition = new TopicPartition(topic, 0);
        this.clientConfig = Map.copyOf(clientConfig);
        createTopic(replicationFactor);
        Properties producerConfig = new Properties();
        producerConfig.putAll(clientConfig);
        producerConfig.put(ProducerConfig.ACKS_CONFIG, "all");
        producerConfig.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        this.producer = new KafkaProducer<>(producerConfig, new StringSerializer(), new StringSerializer());
    }

    private void createTopic(short replicationFactor) {
        Map<String, Object> adminConfig = new HashMap<>(clientConfig);
        adminConfig.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
        try (Admin admin = Admin.create(adminConfig)) {
            NewTopic newTopic = new NewTopic(topic, 1, replicationFactor)
                    .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
            admin.createTopics(Set.of(newTopic)).all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("cannot create the schema topic " + topic + ": " + e.getCause().getMessage(), e.getCause());
            }
        } catch (InterruptedException | TimeoutException e) {
            throw new IllegalStateException("cannot create the schema topic " + topic + ": " + e, e);
        }
    }

    @Override
    public List<StoredSchema> readAll() {
        Properties consumerConfig = new Properties();
        consumerConfig.putAll(clientConfig);
        consumerConfig.put(ConsumerConfig.GROUP_ID_CONFIG, "explainstream-registry-" + UUID.randomUUID());
        consumerConfig.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        consumerConfig.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        // By subject and version, in first-seen order: a later record of the same key is the
        // version's new state (soft-deleted), a tombstone removes it, as compaction would.
        Map<String, StoredSchema> schemas = new LinkedHashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerConfig, new StringDeserializer(), new StringDeserializer())) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition), TIMEOUT).get(partition);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (consumer.position(partition, TIMEOUT) < end) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("timed out reading the schema topic " + topic);
                }
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    String versionKey = versionKey(record.key());
                    if (versionKey == null) {
                        continue; // config, mode or other keys of Confluent's topic
                    }
                    StoredSchema schema = parse(record.value());
                    if (schema == null) {
                        schemas.remove(versionKey);
                    } else {
                        schemas.put(versionKey, schema);
                    }
                }
            }
        }
        return new ArrayList<>(schemas.values());
    }

    /** "subject/version" for a SCHEMA key, or null for other keys. */
    private static String versionKey(String key) {
        try {
            JsonNode json = key == null ? null : JSON.readTree(key);
            if (json == null || !json.path("keytype").asText().equals("SCHEMA")) {
                return null;
            }
            return json.path("subject").asText() + "/" + json.path("version").asInt();
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void append(StoredSchema schema) {
        ObjectNode value = JSON.createObjectNode().put("subject", schema.subject()).put("version", schema.version()).put("id", schema.id())
                .put("schema", schema.schema()).put("deleted", schema.deleted());
        send(schema, value.toString());
    }

    /** A tombstone for the version's key, as Confluent writes for a permanent delete. */
    @Override
    public void remove(StoredSchema schema) {
        send(schema, null);
    }

    private void send(StoredSchema schema, String value) {
        ObjectNode key = JSON.createObjectNode().put("keytype", "SCHEMA").put("subject", schema.subject()).put("version", schema.version()).put("magic", 1);
        try {
            producer.send(new ProducerRecord<>(topic, 0, key.toString(), value)).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new RegistryException("cannot store schema " + schema.subject() + " v" + schema.version() + " in topic " + topic + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException("interrupted while storing a schema", e);
        }
    }

    /** A stored version (soft-deleted ones flagged), or null for a tombstone or a value that is not a schema. */
    private static StoredSchema parse(String value) {
        if (value == null) {
            return null;
        }
        try {
            JsonNode json = JSON.readTree(value);
            if (!json.has("schema")) {
                return null;
            }
            return new StoredSchema(json.get("subject").asText(), json.get("version").asInt(), json.get("id").asInt(), json.get("schema").asText(),
                    json.path("deleted").asBoolean(false));
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
