package io.explainstream.testing;

import io.explainstream.avro.EmbeddedSchemaRegistry;
import io.explainstream.avro.InMemorySchemaStore;
import io.explainstream.avro.RegistryConfig;
import io.explainstream.avro.SchemaRegistryClient;
import java.net.URI;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The built-in schema registry, in memory on a loopback port, with a client of it; register it
 * with {@code @RegisterExtension}.
 *
 * <ul>
 *   <li>In a static field, one registry serves the whole class: started before its first test,
 *       stopped after its last. For tests that only register the project's own schemas.
 *   <li>In an instance field, each test gets an empty registry of its own, stopped after it: for
 *       tests that assert on versions, ids or a missing subject, or register a schema that would
 *       make another test's incompatible.
 * </ul>
 */
public final class BuiltInRegistry implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {

    private EmbeddedSchemaRegistry registry;
    private SchemaRegistryClient client;
    /** Whether the registry was started for the current test only (the extension is in an instance field). */
    private boolean perTest;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        start();
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        // JUnit calls beforeAll only for an extension in a static field; one in an instance field starts here.
        if (registry == null) {
            perTest = true;
            start();
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (perTest) {
            stop();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        stop();
    }

    /**
     * A registry of its own, in memory on a free loopback port, for a test that starts it beside a
     * broker in one try-with-resources; the caller closes it.
     */
    public static EmbeddedSchemaRegistry startInMemory() throws java.io.IOException {
        return EmbeddedSchemaRegistry.start(new InMemorySchemaStore(), EmbeddedSchemaRegistry.Settings.loopback(0));
    }

    private void start() throws Exception {
        registry = startInMemory();
        client = new SchemaRegistryClient(RegistryConfig.of(registry.url().toString()));
    }

    /** Stops the registry now (a test of an outage); the extension does not stop it twice. */
    public void stop() {
        if (registry != null) {
            registry.close();
            registry = null;
        }
    }

    public URI url() {
        return running().url();
    }

    /** A client of the registry, shared by the tests it serves. */
    public SchemaRegistryClient client() {
        running();
        return client;
    }

    private EmbeddedSchemaRegistry running() {
        if (registry == null) {
            throw new IllegalStateException("the built-in registry is not running: register BuiltInRegistry with @RegisterExtension");
        }
        return registry;
    }
}
