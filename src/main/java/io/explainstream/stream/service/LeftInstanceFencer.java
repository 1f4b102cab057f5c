package io.explainstream.stream.service;

import io.explainstream.stream.config.KafkaClients;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions;
import org.apache.kafka.clients.admin.FenceProducersOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Aborts the open transactions of an instance that left the service's group, once it has left.
 *
 * <p>A killed instance's open transaction holds back every {@code read_committed} reader of what it
 * wrote, the changelogs of the batch stores included, until the broker times it out (60 s by
 * default, and up to 10 s more for the broker's check): a survivor restores a store it takes over
 * only past that, so a kill 3 s into a long batch held that partition's events for 58 to 79 s (a
 * hostile test, helper-67's F5), over a 60 s {@code audit.max.lag.ms}. An instance restarted on its
 * own state folder fences its earlier self (Kafka Streams keeps the process id there); a take-over by
 * another instance waited.
 *
 * <p>Kafka Streams names a stream thread's transactional producer
 * {@code <application.id>-<process id>-<thread index>} (exactly-once v2) and its consumer
 * {@code <application.id>-<process id>-StreamThread-<thread index>-consumer}, so the group's
 * members name the ids to fence. A process whose members were in the group when it was last stable
 * and are not now has left it: its ids are fenced (their epoch bumped, which aborts an open
 * transaction). Only stable groups are compared: while a group rebalances, members that stay may be
 * missing from its description. One that left cleanly has no transaction open, and fencing it
 * changes nothing; one that was only dropped (paused past the session timeout) finds its producer
 * fenced and rejoins, as it would at its next commit in a group that moved on without it. A
 * {@code client.id} of the operator's own names no process, and nothing is fenced then.
 */
final class LeftInstanceFencer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LeftInstanceFencer.class);

    private final Properties properties;
    private final String applicationId;
    private final Duration period;
    /** The consumer client ids of this instance's own stream threads, never fenced. */
    private final Supplier<Collection<String>> ownConsumers;
    private final Pattern consumerName;
    /** Null until {@link #begin()}. */
    private ScheduledExecutorService watcher;
    /** Null until {@link #begin()}. */
    private Admin admin;
    /** The processes and their thread indices in the group when it was last seen stable (watcher thread only). */
    private Map<String, Set<Integer>> lastStable = Map.of();

    /** A fencer for the group of {@code properties}' application.id, looking every {@code period} from {@link #begin()} on. */
    LeftInstanceFencer(Properties properties, Duration period, Supplier<Collection<String>> ownConsumers) {
        this.properties = properties;
        this.applicationId = properties.getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
        this.period = period;
        this.ownConsumers = ownConsumers;
        this.consumerName = consumerName(applicationId);
    }

    /** Kafka Streams' default consumer client id of a stream thread: the process id and the thread index. */
    static Pattern consumerName(String applicationId) {
        return Pattern.compile(Pattern.quote(applicationId) + "-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-StreamThread-(\\d+)-consumer");
    }

    /** Starts watching the group, the first look at once. */
    synchronized void begin() {
        admin = KafkaClients.admin(properties);
        watcher = DaemonThread.scheduler("explainstream-left-instances");
        watcher.scheduleWithFixedDelay(this::lookQuietly, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void lookQuietly() {
        try {
            look();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            // An outage of the broker shows in the service's own warnings; a fence that failed is
            // tried again at the next look, as the process is still missing from the last stable group.
            LOG.debug("could not look at group {}'s members", applicationId, e);
        }
    }

    /** One look: the group's members if it is stable, and a fence of the processes that left since it last was. */
    private void look() throws InterruptedException, ExecutionException, TimeoutException {
        long wait = Math.max(1_000, period.toMillis());
        ConsumerGroupDescription group = admin.describeConsumerGroups(List.of(applicationId), new DescribeConsumerGroupsOptions().timeoutMs((int) wait))
                .all().get(2 * wait, TimeUnit.MILLISECONDS).get(applicationId);
        if (group == null || group.groupState() != GroupState.STABLE) {
            return;
        }
        Map<String, Set<Integer>> now = processes(group.members().stream().map(MemberDescription::clientId).toList());
        Set<String> own = processes(ownConsumers.get()).keySet();
        Set<String> ids = transactionalIdsOfTheLeft(applicationId, lastStable, now, own);
        if (!ids.isEmpty()) {
            admin.fenceProducers(ids, new FenceProducersOptions().timeoutMs((int) wait)).all().get(2 * wait, TimeUnit.MILLISECONDS);
            LOG.info("An instance left group {} (its stream threads' consumers are gone); fenced its transactional producers {}, which aborts"
                    + " any transaction it left open, so that the partitions it had are restored and read now rather than when the transaction"
                    + " times out", applicationId, ids);
        }
        lastStable = now;
    }

    /** The processes these consumer client ids name, each with its stream threads' indices; other names are left out. */
    Map<String, Set<Integer>> processes(Collection<String> consumerClientIds) {
        Map<String, Set<Integer>> processes = new HashMap<>();
        for (String clientId : consumerClientIds) {
            Matcher named = consumerName.matcher(clientId);
            if (named.matches()) {
                processes.computeIfAbsent(named.group(1), process -> new TreeSet<>()).add(Integer.parseInt(named.group(2)));
            }
        }
        return processes;
    }

    /**
     * The transactional ids of the stream threads of the processes in {@code before} and not in
     * {@code now}, other than this instance's own: {@code <application.id>-<process id>-<thread index>}.
     */
    static Set<String> transactionalIdsOfTheLeft(String applicationId, Map<String, Set<Integer>> before, Map<String, Set<Integer>> now,
            Set<String> own) {
        Set<String> ids = new TreeSet<>();
        before.forEach((process, threads) -> {
            if (!now.containsKey(process) && !own.contains(process)) {
                threads.forEach(thread -> ids.add(applicationId + "-" + process + "-" + thread));
            }
        });
        return ids;
    }

    @Override
    public synchronized void close() {
        if (watcher != null) {
            watcher.shutdownNow();
            try {
                watcher.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
        }
    }
}
