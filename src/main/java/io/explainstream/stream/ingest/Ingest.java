package io.explainstream.stream.ingest;

import io.explainstream.avro.RegistryException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decoding and validation of one input record, in one place: the record's bytes in, its
 * {@link Admission} out. Nothing about the record can make this throw; only a schema registry
 * outage does ({@link RegistryException}), which is not the record's fault: the caller lets it
 * fail the stream thread, and the record is read again after the registry answers.
 */
public final class Ingest {

    private static final Logger LOG = LoggerFactory.getLogger(Ingest.class);

    private final InputDecoder decoder;
    private final EventValidator validator;

    public Ingest(InputDecoder decoder, EventValidator validator) {
        this.decoder = decoder;
        this.validator = validator;
    }

    public Admission admit(String topic, byte[] value) {
        InputDecoder.Decoded decoded;
        try {
            decoded = decoder.read(topic, value);
        } catch (RegistryException e) {
            LOG.warn("schema registry unavailable while reading a record of {}; it will be read again once the registry answers", topic);
            throw e;
        } catch (RuntimeException e) {
            return reject(null, e, topic, value);
        }
        if (decoded.problems().any()) {
            // Fields of the wrong shape: the values of the others are checked too, so that the reason names every problem.
            try {
                validator.checkValues(decoded.event(), value.length, decoded.problems());
                decoded.problems().throwIfAny();
            } catch (RuntimeException e) {
                return reject(null, e, topic, value);
            }
        }
        try {
            return validator.admit(decoded.event(), value.length);
        } catch (RuntimeException e) {
            return reject(decoded.event(), e, topic, value);
        }
    }

    private static Admission.Reject reject(InputEvent event, RuntimeException error, String topic, byte[] value) {
        if (!(error instanceof InvalidEventException)) {
            // Anything unexpected is still this record's: never let one record stop the stream thread.
            LOG.warn("unexpected error reading a record of {} ({} bytes)", topic, value == null ? 0 : value.length, error);
        }
        if (event != null) {
            return new Admission.Reject(event, error, event.model(), event.metadata());
        }
        // A chat message of role 'tool' fails decoding, yet its JSON names its model: counted under it,
        // as the statistics group its dead letter, not as 'unknown'.
        GroupFields group = GroupFields.readLeniently(value);
        return group == null ? new Admission.Reject(null, error, null, Map.of())
                : new Admission.Reject(null, error, group.model(), group.metadataOrEmpty());
    }
}
