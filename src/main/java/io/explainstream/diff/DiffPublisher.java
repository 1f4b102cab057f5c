package io.explainstream.diff;

import io.explainstream.avro.ConfluentAvroSerializer;
import io.explainstream.avro.SchemaRegistryClient;
import io.explainstream.avro.SubjectNameStrategy;
import io.explainstream.schema.ComparisonBasis;
import io.explainstream.schema.DiffRecordKind;
import io.explainstream.schema.DiffSummary;
import io.explainstream.schema.ExplanationDiff;
import io.explainstream.schema.MeasureDistribution;
import io.explainstream.schema.SegmentShareChange;
import io.explainstream.stream.config.KafkaClients;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Writes a diff run's records to the diff topic: one {@link ExplanationDiff} per joined event (key
 * event_id) as the join finds them, then the summary (key summary:&lt;diff id&gt;), all under one
 * subject, so that a dashboard reads one topic with one schema.
 */
public final class DiffPublisher implements AutoCloseable {

    /** Everything the records of one run share. */
    public record RunFacts(String diffId, Instant created, Side replay, Side against, int topK) {}

    private final KafkaProducer<byte[], byte[]> producer;
    private final ConfluentAvroSerializer<ExplanationDiff> serializer;
    private final String topic;
    private final RunFacts facts;
    private long sent;
    /** The first failed send, reported when the summary is written (sends are asynchronous). */
    private final java.util.concurrent.atomic.AtomicReference<Exception> failed = new java.util.concurrent.atomic.AtomicReference<>();

    /**
     * Creates the topic when missing ({@code partitions} of it, the broker's replication factor when
     * {@code replication} is negative) and checks its subject takes the ExplanationDiff schema.
     */
    public DiffPublisher(Map<String, String> clientSettings, SchemaRegistryClient registry, SubjectNameStrategy strategy, boolean autoRegister,
            String topic, int partitions, short replication, RunFacts facts) {
        this.topic = topic;
        this.facts = facts;
        createIfMissing(clientSettings, topic, partitions, replication);
        this.serializer = new ConfluentAvroSerializer<>(registry, strategy, autoRegister, false);
        serializer.checkSubject(topic, ExplanationDiff.getClassSchema());
        Map<String, Object> props = new HashMap<>(clientSettings);
        props.keySet().retainAll(ProducerConfig.configNames());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        this.producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static void createIfMissing(Map<String, String> clientSettings, String topic, int partitions, short replication) {
        try (Admin admin = KafkaClients.admin(clientSettings)) {
            if (!admin.listTopics().names().get(60, TimeUnit.SECONDS).contains(topic)) {
                admin.createTopics(List.of(new NewTopic(topic, Optional.of(partitions), replication < 0 ? Optional.empty() : Optional.of(replication))))
                        .all().get(60, TimeUnit.SECONDS);
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot create the diff topic " + topic + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    public void send(EventDiff diff) {
        List<SegmentShareChange> changes = diff.segmentChanges().stream()
                .map(c -> new SegmentShareChange(c.name(), c.replayShare(), c.againstShare(), c.change())).toList();
        ExplanationDiff record = base(DiffRecordKind.EVENT).setEventId(diff.eventId()).setGroup(diff.group())
                .setBasis(diff.basis() == EventDiff.Basis.TOKENS ? ComparisonBasis.TOKENS : ComparisonBasis.WORDS)
                .setTopKJaccard(value(diff.jaccard())).setSpearman(value(diff.spearman())).setComparedItems(diff.comparedItems())
                .setSegmentChanges(changes).setMaxShareChange(diff.maxShareChange()).setSequenceDeltaChange(diff.deltaChange().orElse(0))
                .setSequenceDeltaCompared(diff.deltaChange().isPresent())
                .setResponseLogprobChange(diff.logProbChange()).setTopSegmentChanged(diff.topSegmentChanged())
                .setReplayTopSegment(diff.replayTopSegment()).setAgainstTopSegment(diff.againstTopSegment()).setChange(diff.change()).build();
        producer.send(new ProducerRecord<>(topic, diff.eventId().getBytes(StandardCharsets.UTF_8), serializer.serialize(topic, record)),
                (metadata, e) -> {
                    if (e != null) {
                        failed.compareAndSet(null, e);
                    }
                });
        sent++;
    }

    /** Writes the summary after every event record, and waits until all are acknowledged. */
    public void sendSummary(DiffAggregate aggregate, SpillJoin.Counts counts) throws InterruptedException, ExecutionException {
        producer.flush();
        if (failed.get() != null) {
            throw new IllegalStateException("cannot write to " + topic + ": " + failed.get().getMessage(), failed.get());
        }
        List<MeasureDistribution> distributions = new ArrayList<>();
        for (String group : aggregate.groups()) {
            for (Measure measure : Measure.values()) {
                aggregate.distribution(group, measure).ifPresent(d -> distributions.add(new MeasureDistribution(group, measure.key(), d.count(),
                        d.p10(), d.p50(), d.p90())));
            }
        }
        aggregate.shareChanges().forEach((name, d) -> distributions.add(new MeasureDistribution(DiffAggregate.ALL, "share_change:" + name, d.count(),
                d.p10(), d.p50(), d.p90())));
        DeadLetterFindings findings = DeadLetterFindings.of(aggregate, counts);
        DiffSummary summary = new DiffSummary(aggregate.joined(), aggregate.replayOnly(), aggregate.againstOnly(), aggregate.wordsBasis(),
                counts.notExplanations(), counts.duplicates(), distributions, aggregate.topSegmentChanged(),
                aggregate.largest().stream().map(l -> l.diff().eventId()).toList(), findings.replayDeadLetters(), findings.againstDeadLetters(),
                findings.replayOnlyDeadLetteredAgainst(), findings.againstOnlyDeadLetteredInReplay(), findings.onBoth(), findings.inReplayOnly(),
                findings.againstOnly());
        ExplanationDiff record = base(DiffRecordKind.SUMMARY).setSummary(summary).build();
        producer.send(new ProducerRecord<>(topic, ("summary:" + facts.diffId()).getBytes(StandardCharsets.UTF_8), serializer.serialize(topic, record)))
                .get();
        sent++;
        producer.flush();
    }

    public long sent() {
        return sent;
    }

    private ExplanationDiff.Builder base(DiffRecordKind kind) {
        return ExplanationDiff.newBuilder().setKind(kind).setDiffId(facts.diffId()).setCreatedTime(facts.created())
                .setReplayId(facts.replay().replayId()).setReplayTopic(facts.replay().topic()).setAgainstTopic(facts.against().topic())
                .setAgainstReplayId(facts.against().replayId()).setTopK(facts.topK());
    }

    private static Double value(java.util.OptionalDouble value) {
        return value.isPresent() ? value.getAsDouble() : null;
    }

    @Override
    public void close() {
        producer.close(java.time.Duration.ofSeconds(10));
    }
}
