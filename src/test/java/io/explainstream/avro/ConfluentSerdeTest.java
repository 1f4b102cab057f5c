package io.explainstream.avro;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.schema.Explanation;
import io.explainstream.schema.LlmInteraction;
import io.explainstream.testing.BuiltInRegistry;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The serde and the registry client over real HTTP against the built-in registry. */
class ConfluentSerdeTest {

    /** A registry per test: the tests assert on versions and ids, and register incompatible schemas. */
    @RegisterExtension
    final BuiltInRegistry registry = new BuiltInRegistry();

    @ParameterizedTest
    @EnumSource(SubjectNameStrategy.class)
    void specificAndGenericRecordsRoundTripUnderEachNamingStrategy(SubjectNameStrategy strategy) {
        Explanation explanation = SampleRecords.explanation("e-1");
        byte[] bytes = new ConfluentAvroSerializer<Explanation>(registry.client(), strategy, true, false).serialize("explanations", explanation);
        Explanation back = ConfluentAvroDeserializer.specific(registry.client(), Explanation.class).deserialize("explanations", bytes);
        assertEquals(explanation, back);

        GenericRecord interaction = new GenericRecordBuilder(LlmInteraction.getClassSchema())
                .set("event_id", "g-1").set("timestamp", 1_764_000_000_000L).set("model", "m").set("prompt", "Once")
                .set("response", "upon").build();
        byte[] genericBytes = new ConfluentAvroSerializer<GenericRecord>(registry.client(), strategy, true, false).serialize("llm-interactions", interaction);
        GenericRecord genericBack = ConfluentAvroDeserializer.generic(registry.client(), null).deserialize("llm-interactions", genericBytes);
        assertEquals(interaction, genericBack);
        LlmInteraction asSpecific = ConfluentAvroDeserializer.specific(registry.client(), LlmInteraction.class).deserialize("llm-interactions", genericBytes);
        assertEquals("g-1", asSpecific.getEventId());

        String expectedSubject = switch (strategy) {
            case TOPIC_NAME -> "explanations-value";
            case RECORD_NAME -> "io.explainstream.schema.Explanation";
            case TOPIC_RECORD_NAME -> "explanations-io.explainstream.schema.Explanation";
        };
        assertTrue(registry.client().subjects().contains(expectedSubject), registry.client().subjects() + " lacks " + expectedSubject);
    }

    @Test
    void aMessageFramedByHandFromTheFormatDefinitionIsRead() throws Exception {
        int id = registry.client().register("llm-interactions-value", LlmInteraction.getClassSchema());
        LlmInteraction interaction = SampleRecords.interaction("hand-1");
        ByteArrayOutputStream avro = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(avro, null);
        new org.apache.avro.specific.SpecificDatumWriter<LlmInteraction>(LlmInteraction.getClassSchema()).write(interaction, encoder);
        encoder.flush();
        ByteArrayOutputStream framed = new ByteArrayOutputStream();
        framed.write(0); // magic byte
        framed.write((id >>> 24) & 0xff); // schema id, 4 bytes big-endian
        framed.write((id >>> 16) & 0xff);
        framed.write((id >>> 8) & 0xff);
        framed.write(id & 0xff);
        framed.write(avro.toByteArray());
        assertEquals(interaction, ConfluentAvroDeserializer.specific(registry.client(), LlmInteraction.class).deserialize("llm-interactions", framed.toByteArray()));
    }

    @Test
    void ourBytesMinusTheHeaderDecodeWithPlainAvroAndTheSchemaFromRest() throws Exception {
        Explanation explanation = SampleRecords.explanation("plain-1");
        byte[] bytes = new ConfluentAvroSerializer<Explanation>(registry.client(), SubjectNameStrategy.TOPIC_NAME, true, false).serialize("explanations", explanation);
        assertEquals(0, bytes[0]);
        int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
        HttpResponse<String> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(registry.url() + "/schemas/ids/" + id)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        Schema schema = new Schema.Parser().parse(new ObjectMapper().readTree(response.body()).get("schema").asText());
        GenericRecord decoded = new GenericDatumReader<GenericRecord>(schema)
                .read(null, DecoderFactory.get().binaryDecoder(Arrays.copyOfRange(bytes, 5, bytes.length), null));
        assertEquals("plain-1", decoded.get("event_id").toString());
        assertEquals(1.5, ((GenericData.Array<?>) decoded.get("seq_attr")).get(1));
    }

    @Test
    void malformedBytesAreRefusedWithTheReason() {
        var deserializer = ConfluentAvroDeserializer.specific(registry.client(), LlmInteraction.class);
        byte[] good = new ConfluentAvroSerializer<LlmInteraction>(registry.client(), SubjectNameStrategy.TOPIC_NAME, true, false)
                .serialize("t", SampleRecords.interaction("x"));
        assertMessage("wrong magic byte 0x7b on topic t: expected 0x00, the value is not Confluent-framed Avro",
                () -> deserializer.deserialize("t", "{\"event_id\":1}".getBytes()));
        assertMessage("empty value on topic t: no Confluent-framed Avro to read", () -> deserializer.deserialize("t", new byte[0]));
        assertMessage("truncated header on topic t: 3 bytes, the schema id needs 5", () -> deserializer.deserialize("t", new byte[] {0, 0, 1}));
        byte[] unknown = good.clone();
        ByteBuffer.wrap(unknown).putInt(1, 9999);
        SerializationException unknownId = assertThrows(SerializationException.class, () -> deserializer.deserialize("t", unknown));
        assertTrue(unknownId.getMessage().startsWith("unknown schema id 9999 on topic t"), unknownId.getMessage());
        SerializationException truncated = assertThrows(SerializationException.class,
                () -> deserializer.deserialize("t", Arrays.copyOf(good, good.length - 6)));
        assertTrue(truncated.getMessage().startsWith("truncated or corrupt Avro payload for schema id"), truncated.getMessage());
        // A whole record of another schema is said as such, not as a damaged one (tail called a diff record "truncated or corrupt").
        byte[] explanation = new ConfluentAvroSerializer<io.explainstream.schema.Explanation>(registry.client(), SubjectNameStrategy.TOPIC_NAME, true,
                false).serialize("x", SampleRecords.explanation("e-1"));
        assertMessage("schema id " + java.nio.ByteBuffer.wrap(explanation, 1, 4).getInt() + " on topic x is io.explainstream.schema.Explanation, not"
                + " io.explainstream.schema.LlmInteraction", () -> deserializer.deserialize("x", explanation));
    }

    @Test
    void stringsAreStrictUtf8ButAnEncodedLoneSurrogateStaysOneForTheValidator() {
        LlmInteraction interaction = LlmInteraction.newBuilder().setEventId("avro").setTimestamp(java.time.Instant.ofEpochMilli(1_764_000_000_000L))
                .setModel("m").setPrompt("p").setResponse("r").setMetadata(java.util.Map.of("tenant", "acme")).build();
        byte[] bytes = new ConfluentAvroSerializer<LlmInteraction>(registry.client(), SubjectNameStrategy.TOPIC_NAME, true, false).serialize("in", interaction);
        var deserializer = ConfluentAvroDeserializer.specific(registry.client(), LlmInteraction.class);
        // Avro's own decoding would give "a\uFFFD" for both: the surrogate, and a broken sequence, vanish into U+FFFD.
        byte[] surrogate = patch(bytes, "avro", new byte[] {'a', (byte) 0xED, (byte) 0xA0, (byte) 0x80});
        assertEquals("a\uD800", deserializer.deserialize("in", surrogate).getEventId());
        byte[] metadataSurrogate = patch(bytes, "acme", new byte[] {(byte) 0xED, (byte) 0xB0, (byte) 0x80, 'e'});
        assertEquals("\uDC00e", deserializer.deserialize("in", metadataSurrogate).getMetadata().get("tenant"));
        byte[] broken = patch(bytes, "avro", new byte[] {'a', (byte) 0xC3, 'r', 'o'});
        SerializationException error = assertThrows(SerializationException.class, () -> deserializer.deserialize("in", broken));
        assertTrue(error.getMessage().contains("is not valid UTF-8"), error.getMessage());
        assertEquals(interaction, deserializer.deserialize("in", bytes));
    }

    private static byte[] patch(byte[] bytes, String marker, byte[] with) {
        byte[] copy = bytes.clone();
        byte[] pattern = marker.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (int i = 0; i + pattern.length <= copy.length; i++) {
            if (Arrays.equals(copy, i, i + pattern.length, pattern, 0, pattern.length)) {
                System.arraycopy(with, 0, copy, i, with.length);
                return copy;
            }
        }
        throw new IllegalArgumentException(marker);
    }

    @Test
    void withoutAutoRegistrationOnlyRegisteredSchemasSerialize() {
        var serializer = new ConfluentAvroSerializer<Explanation>(registry.client(), SubjectNameStrategy.TOPIC_NAME, false, false);
        SerializationException error = assertThrows(SerializationException.class, () -> serializer.serialize("explanations", SampleRecords.explanation("a")));
        assertTrue(error.getMessage().contains("Subject 'explanations-value' not found"), error.getMessage());
        int id = registry.client().register("explanations-value", Explanation.getClassSchema());
        byte[] bytes = serializer.serialize("explanations", SampleRecords.explanation("a"));
        assertEquals(id, ByteBuffer.wrap(bytes, 1, 4).getInt());
    }

    @Test
    void olderWriterSchemaIsResolvedToTheReaderSchema() throws Exception {
        // A producer still on an older interaction schema: no metadata field.
        Schema older = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"LlmInteraction\",\"namespace\":\"io.explainstream.schema\",\"fields\":["
                + "{\"name\":\"event_id\",\"type\":\"string\"},{\"name\":\"timestamp\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
                + "{\"name\":\"model\",\"type\":\"string\"},{\"name\":\"prompt\",\"type\":[\"null\",\"string\"],\"default\":null},"
                + "{\"name\":\"response\",\"type\":\"string\"}]}");
        GenericRecord old = new GenericRecordBuilder(older).set("event_id", "old-1").set("timestamp", 5L).set("model", "m").set("prompt", "p")
                .set("response", "r").build();
        byte[] bytes = new ConfluentAvroSerializer<GenericRecord>(registry.client(), SubjectNameStrategy.TOPIC_NAME, true, false).serialize("in", old);
        LlmInteraction read = ConfluentAvroDeserializer.specific(registry.client(), LlmInteraction.class).deserialize("in", bytes);
        assertEquals("old-1", read.getEventId());
        assertEquals(java.util.Map.of(), read.getMetadata(), "missing field takes its default");
        assertEquals(null, read.getMessages());
    }

    @Test
    void anIncompatibleVersionIsRefusedWith409AndTheReason() {
        registry.client().register("explanations-value", Explanation.getClassSchema());
        // Removing a field's default and adding a required field breaks BACKWARD compatibility.
        Schema incompatible = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"Explanation\",\"namespace\":\"io.explainstream.schema\","
                + "\"fields\":[{\"name\":\"event_id\",\"type\":\"string\"},{\"name\":\"new_required\",\"type\":\"string\"}]}");
        RegistryException error = assertThrows(RegistryException.class, () -> registry.client().register("explanations-value", incompatible));
        assertEquals(409, error.status());
        assertTrue(error.getMessage().contains("incompatible with an earlier schema"), error.getMessage());
        assertTrue(error.getMessage().contains("new_required"), error.getMessage());
        assertEquals(false, registry.client().testCompatibility("explanations-value", incompatible).compatible());
        assertEquals(true, registry.client().testCompatibility("explanations-value", Explanation.getClassSchema()).compatible());
        assertEquals(1, registry.client().latest("explanations-value").version());
    }

    @Test
    void theSameSchemaUnderTwoSubjectsHasOneId() {
        int first = registry.client().register("a-value", Explanation.getClassSchema());
        int second = registry.client().register("b-value", Explanation.getClassSchema());
        assertEquals(first, second);
        assertEquals(Explanation.getClassSchema(), registry.client().schemaById(first));
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable action) {
        assertEquals(expected, assertThrows(SerializationException.class, action).getMessage());
    }

    @Test
    void framingHelperWritesTheHeader() {
        assertArrayEquals(new byte[] {0, 0, 0, 1, 2, 42}, WireFormat.frame(258, new byte[] {42}));
    }
}
