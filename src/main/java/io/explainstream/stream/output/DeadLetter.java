package io.explainstream.stream.output;

import io.explainstream.avro.Utf8Text;
import io.explainstream.stream.replay.Replay;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * A dead letter as read back from its topic ({@link DeadLetters} writes them): the original key and
 * value, cut where {@link #cut} says so, and what its headers say. A header that is missing or not
 * a number where one belongs (a record another producer wrote to the topic) is null.
 *
 * @param key the original key, or null
 * @param value the original value (its first bytes where cut; empty where it was not kept), or null
 * @param cut the original key and value sizes where they were cut ({@code key=K value=V bytes}), or null
 * @param partition the dead letter's own partition of its topic
 * @param offset the dead letter's own offset there
 * @param application the {@code application.id} of the service that wrote it ({@link DeadLetters#APPLICATION}), or null
 * @param replayId the replay whose dead letter it is ({@link Replay#HEADER}), or null
 */
public record DeadLetter(int partition, long offset, byte[] key, byte[] value, String reason, String stage, String errorClass, String sourceTopic,
        Integer sourcePartition, Long sourceOffset, String sourceTimestamp, String failedAt, String cut, String application, String replayId) {

    /** The {@link DeadLetters#CUT} header's form, {@code key=K value=V bytes}. */
    private static final Pattern CUT_SIZES = Pattern.compile("key=(\\d{1,18}) value=(\\d{1,18}) bytes");

    public static DeadLetter of(ConsumerRecord<byte[], byte[]> record) {
        Headers headers = record.headers();
        return new DeadLetter(record.partition(), record.offset(), record.key(), record.value(), header(headers, DeadLetters.REASON),
                header(headers, DeadLetters.STAGE), header(headers, DeadLetters.EXCEPTION), header(headers, DeadLetters.TOPIC), number(headers, DeadLetters.PARTITION, Integer::valueOf),
                number(headers, DeadLetters.OFFSET, Long::valueOf), header(headers, DeadLetters.SOURCE_TIMESTAMP), header(headers, DeadLetters.FAILED_AT),
                header(headers, DeadLetters.CUT), header(headers, DeadLetters.APPLICATION), header(headers, Replay.HEADER));
    }

    /** The original key's size in bytes where the dead letter was cut ({@link #cut}), or null. */
    public Long originalKeyBytes() {
        return cutSize(1);
    }

    /** The original value's size in bytes where the dead letter was cut ({@link #cut}), or null. */
    public Long originalValueBytes() {
        return cutSize(2);
    }

    private Long cutSize(int group) {
        Matcher sizes = cut == null ? null : CUT_SIZES.matcher(cut.strip());
        return sizes != null && sizes.matches() ? Long.valueOf(sizes.group(group)) : null;
    }

    /** An ISO-8601 instant of the headers ({@link #sourceTimestamp}, {@link #failedAt}) in epoch milliseconds, or null. */
    public static Long epochMillis(String instant) {
        try {
            return instant == null ? null : java.time.Instant.parse(instant.strip()).toEpochMilli();
        } catch (java.time.format.DateTimeParseException | ArithmeticException e) {
            return null;
        }
    }

    /**
     * A header's value as UTF-8 text, or null where the record has none of that name. A byte that
     * is not UTF-8 (only another producer writes one) is read as its escape ({@code \xe9}).
     */
    public static String header(Headers headers, String name) {
        Header header = headers.lastHeader(name);
        return header == null || header.value() == null ? null : Utf8Text.escapingInvalid(header.value());
    }

    private static <T> T number(Headers headers, String name, Function<String, T> parse) {
        String text = header(headers, name);
        try {
            return text == null ? null : parse.apply(text.strip());
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
