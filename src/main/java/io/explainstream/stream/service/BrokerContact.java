package io.explainstream.stream.service;

import io.explainstream.stream.config.DurationText;
import io.explainstream.stream.config.KafkaClients;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the Kafka cluster answers, asked in the background every few seconds. A broker that is
 * down makes the clients log that they cannot connect; one that hangs (a paused VM, a stalled
 * disk) keeps their connections open and leaves them waiting in silence until their timeouts (30 s
 * a request, minutes a transaction), so the service would stop explaining with nothing in its log.
 * After {@code warnAfter} without an answer it warns once, with when the cluster last answered, and
 * says when it answers again; the metric {@code explainstream_broker_unanswered_seconds} has it
 * all along.
 */
final class BrokerContact implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(BrokerContact.class);

    private final Properties properties;
    private final Duration every;
    private final Duration warnAfter;
    private final Clock clock;
    /** Null until {@link #begin()}. */
    private ScheduledExecutorService asker;
    /** Null until {@link #begin()}. */
    private Admin admin;
    /** When the cluster last answered (the service reached it at start). */
    private volatile long lastAnsweredMs;
    /** Whether the latest question went unanswered. */
    private volatile boolean silent;
    /** Whether the silence was warned of (asker thread only). */
    private boolean warned;

    /**
     * @param every how often the cluster is asked; an answer may take as long
     * @param warnAfter how long without an answer before the warning
     */
    BrokerContact(Properties properties, Duration every, Duration warnAfter, Clock clock) {
        this.properties = properties;
        this.every = every;
        this.warnAfter = warnAfter;
        this.clock = clock;
    }

    /** Starts asking. Apart from the constructor, so that a start that fails before has nothing of this to stop. */
    synchronized void begin() {
        admin = KafkaClients.admin(properties);
        lastAnsweredMs = clock.millis();
        asker = DaemonThread.scheduler("explainstream-broker-contact");
        asker.scheduleWithFixedDelay(this::ask, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Seconds since the cluster last answered, while it does not; 0 while it does. */
    double unansweredSeconds() {
        return silent ? Math.max(0, clock.millis() - lastAnsweredMs) / 1000.0 : 0;
    }

    private void ask() {
        try {
            admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) every.toMillis())).nodes().get(2 * every.toMillis(), TimeUnit.MILLISECONDS);
            answered();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            unanswered(String.valueOf(e.getCause().getMessage()));
        } catch (TimeoutException e) {
            unanswered("no answer within " + DurationText.format(every.multipliedBy(2)));
        } catch (RuntimeException e) {
            unanswered(String.valueOf(e.getMessage()));
        }
    }

    private void answered() {
        long now = clock.millis();
        if (warned) {
            LOG.warn("the Kafka cluster at {} answers again, after {} without an answer", properties.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG),
                    seconds(now - lastAnsweredMs));
            warned = false;
        }
        lastAnsweredMs = now;
        silent = false;
    }

    private void unanswered(String reason) {
        silent = true;
        long quietMs = clock.millis() - lastAnsweredMs;
        if (!warned && quietMs >= warnAfter.toMillis()) {
            LOG.warn("the Kafka cluster at {} has not answered for {} (last answer at {}; {}): events are read and explanations written"
                    + " when it answers again", properties.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG), seconds(quietMs),
                    Instant.ofEpochMilli(lastAnsweredMs), reason);
            warned = true;
        }
    }

    /** "12s", "2m": whole seconds read better in a log line than milliseconds. */
    private static String seconds(long ms) {
        return DurationText.format(Duration.ofSeconds(Math.max(1, Math.round(ms / 1000.0))));
    }

    @Override
    public synchronized void close() {
        if (asker != null) {
            asker.shutdownNow();
            admin.close(Duration.ofSeconds(5));
        }
    }
}
