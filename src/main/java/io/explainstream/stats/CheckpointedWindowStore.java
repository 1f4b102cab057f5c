package io.explainstream.stats;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.query.Position;
import org.apache.kafka.streams.query.PositionBound;
import org.apache.kafka.streams.query.Query;
import org.apache.kafka.streams.query.QueryConfig;
import org.apache.kafka.streams.query.QueryResult;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowBytesStoreSupplier;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;

/**
 * Kafka Streams' persistent window store, except that Kafka Streams keeps its changelog offset in
 * a checkpoint file of the task folder, written on every clean close, instead of inside the store.
 *
 * <p>Since Kafka 4.3 (KIP-1035) a RocksDB store keeps its committed changelog offset in RocksDB,
 * and a segmented (window) store keeps it in its segments. A window store without a segment (no
 * window written in its task yet, as the alerts store until a rule fires, or every segment dropped
 * by retention) has nowhere to keep it: after a clean stop its offset is gone, while the task
 * folder is not empty (the store's own folder, the task's other stores). Under exactly once,
 * Kafka Streams takes that for a store holding uncommitted writes: on every start it logged
 * "did not find checkpoint offsets while stores are not empty" and TaskCorruptedException, wiped
 * the statistics task and restored all its stores from their changelogs.
 *
 * <p>A store that says it does not manage its offsets ({@link #managesOffsets()} false) gets the
 * checkpointing that all stores had before 4.3: Kafka Streams wraps it in its own
 * {@code LegacyCheckpointingStateStore}, which writes the offset, known or not, to
 * {@code .checkpoint_<store>} on a clean close and, under exactly once, deletes the file when the
 * task starts, so that a crash still leaves the store without an offset and it is rebuilt, as it
 * must be. Everything else goes to the RocksDB window store unchanged.
 */
final class CheckpointedWindowStore implements WindowStore<Bytes, byte[]> {

    private final WindowStore<Bytes, byte[]> inner;

    private CheckpointedWindowStore(WindowStore<Bytes, byte[]> inner) {
        this.inner = inner;
    }

    /** {@link Stores#persistentWindowStore}, checkpointed in a file. */
    static WindowBytesStoreSupplier persistent(String name, Duration retention, Duration windowSize) {
        WindowBytesStoreSupplier rocksDb = Stores.persistentWindowStore(name, retention, windowSize, false);
        return new WindowBytesStoreSupplier() {
            @Override
            public String name() {
                return rocksDb.name();
            }

            @Override
            public WindowStore<Bytes, byte[]> get() {
                return new CheckpointedWindowStore(rocksDb.get());
            }

            @Override
            public String metricsScope() {
                return rocksDb.metricsScope();
            }

            @Override
            public long segmentIntervalMs() {
                return rocksDb.segmentIntervalMs();
            }

            @Override
            public long windowSize() {
                return rocksDb.windowSize();
            }

            @Override
            public boolean retainDuplicates() {
                return rocksDb.retainDuplicates();
            }

            @Override
            public long retentionPeriod() {
                return rocksDb.retentionPeriod();
            }
        };
    }

    /** The one difference: Kafka Streams checkpoints this store's offset in a file. */
    @Override
    public boolean managesOffsets() {
        return false;
    }

    /** Not asked while {@link #managesOffsets()} is false: the checkpoint file answers. */
    @Override
    public Long committedOffset(TopicPartition partition) {
        return null;
    }

    @Override
    public void commit(Map<TopicPartition, Long> changelogOffsets) {
        // RocksDB makes its writes durable here; the offsets it also keeps are not read back.
        inner.commit(changelogOffsets);
    }

    @Override
    @Deprecated
    @SuppressWarnings("deprecation")
    public void flush() {
        inner.flush();
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public void init(StateStoreContext context, StateStore root) {
        inner.init(context, root);
    }

    @Override
    public void close() {
        inner.close();
    }

    @Override
    public boolean persistent() {
        return inner.persistent();
    }

    @Override
    public boolean isOpen() {
        return inner.isOpen();
    }

    @Override
    public <R> QueryResult<R> query(Query<R> query, PositionBound positionBound, QueryConfig config) {
        return inner.query(query, positionBound, config);
    }

    @Override
    public Position getPosition() {
        return inner.getPosition();
    }

    @Override
    public void put(Bytes key, byte[] value, long windowStartTimestamp) {
        inner.put(key, value, windowStartTimestamp);
    }

    @Override
    public byte[] fetch(Bytes key, long time) {
        return inner.fetch(key, time);
    }

    @Override
    public WindowStoreIterator<byte[]> fetch(Bytes key, long timeFrom, long timeTo) {
        return inner.fetch(key, timeFrom, timeTo);
    }

    @Override
    public WindowStoreIterator<byte[]> fetch(Bytes key, Instant timeFrom, Instant timeTo) {
        return inner.fetch(key, timeFrom, timeTo);
    }

    @Override
    public WindowStoreIterator<byte[]> backwardFetch(Bytes key, long timeFrom, long timeTo) {
        return inner.backwardFetch(key, timeFrom, timeTo);
    }

    @Override
    public WindowStoreIterator<byte[]> backwardFetch(Bytes key, Instant timeFrom, Instant timeTo) {
        return inner.backwardFetch(key, timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> fetch(Bytes keyFrom, Bytes keyTo, long timeFrom, long timeTo) {
        return inner.fetch(keyFrom, keyTo, timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> fetch(Bytes keyFrom, Bytes keyTo, Instant timeFrom, Instant timeTo) {
        return inner.fetch(keyFrom, keyTo, timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> backwardFetch(Bytes keyFrom, Bytes keyTo, long timeFrom, long timeTo) {
        return inner.backwardFetch(keyFrom, keyTo, timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> backwardFetch(Bytes keyFrom, Bytes keyTo, Instant timeFrom, Instant timeTo) {
        return inner.backwardFetch(keyFrom, keyTo, timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> fetchAll(long timeFrom, long timeTo) {
        return inner.fetchAll(timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> fetchAll(Instant timeFrom, Instant timeTo) {
        return inner.fetchAll(timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> backwardFetchAll(long timeFrom, long timeTo) {
        return inner.backwardFetchAll(timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> backwardFetchAll(Instant timeFrom, Instant timeTo) {
        return inner.backwardFetchAll(timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> all() {
        return inner.all();
    }

    @Override
    public KeyValueIterator<Windowed<Bytes>, byte[]> backwardAll() {
        return inner.backwardAll();
    }
}
