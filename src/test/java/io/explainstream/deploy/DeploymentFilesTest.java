package io.explainstream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.explainstream.TestData;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.config.Setting;
import java.io.IOException;
import java.io.StringReader;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * There is no Docker engine on the build machines, so the deployment files are checked for
 * consistency instead of run: images, ports, environment keys, the health path, config keys.
 */
class DeploymentFilesTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Path REPO = TestData.repo();

    private static JsonNode yaml(String file) throws IOException {
        return YAML.readTree(REPO.resolve(file).toFile());
    }

    @Test
    void composeWiresKafkaTheConfluentRegistryTheServiceAndTheSampleProducer() throws IOException {
        JsonNode services = yaml("docker-compose.yml").get("services");
        assertTrue(services.path("kafka").path("image").asText().startsWith("apache/kafka:"));
        assertTrue(services.path("schema-registry").path("image").asText().startsWith("confluentinc/cp-schema-registry:"));
        JsonNode service = services.get("explainstream");
        assertEquals("deploy/Dockerfile", service.path("build").path("dockerfile").asText());

        // Every EXPLAINSTREAM_* variable is a key the service accepts, with a valid value.
        Map<String, String> environment = new HashMap<>();
        service.path("environment").fields().forEachRemaining(e -> environment.put(e.getKey(), e.getValue().asText()));
        ServiceConfig config = ServiceConfig.load(null, environment);

        String bootstrap = environment.get("EXPLAINSTREAM_BOOTSTRAP_SERVERS");
        String kafkaListeners = services.path("kafka").path("environment").path("KAFKA_ADVERTISED_LISTENERS").asText();
        assertTrue(kafkaListeners.contains("PLAINTEXT://" + bootstrap), bootstrap + " is an advertised listener: " + kafkaListeners);
        URI registry = URI.create(config.registryConfig().url().toString());
        assertEquals("schema-registry", registry.getHost());
        assertTrue(services.path("schema-registry").path("environment").path("SCHEMA_REGISTRY_LISTENERS").asText().endsWith(":" + registry.getPort()));
        assertTrue(services.path("schema-registry").path("environment").path("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS").asText().endsWith(bootstrap));

        int opsPort = config.opsPort();
        assertEquals("0.0.0.0", config.get(Setting.OPS_HOST), "reachable from outside the container");
        assertTrue(service.path("ports").get(0).asText().endsWith(":" + opsPort + ":" + opsPort), "the ops port is published");
        String health = service.path("healthcheck").path("test").toString();
        assertTrue(health.contains("/dev/tcp/127.0.0.1/" + opsPort) && health.contains("GET /health"), health);

        JsonNode producer = services.get("sample-producer");
        String script = producer.path("entrypoint").toString();
        assertTrue(script.contains("--topic " + config.get(Setting.INPUT_TOPIC)), script);
        assertTrue(script.contains("--bootstrap-server " + bootstrap), script);
        String mounted = producer.path("volumes").get(0).asText().split(":")[0];
        assertTrue(Files.isRegularFile(REPO.resolve(mounted)), "the sample exists: " + mounted);
    }

    /**
     * The shipped configuration lists every service setting with its default and a comment, and
     * nothing else: a setting added to {@link Setting} (or a default changed) without this file
     * fails here.
     */
    @Test
    void theShippedPropertiesFileHasEverySettingAtItsDefaultWithAComment() throws IOException {
        Path file = REPO.resolve("deploy/explainstream.properties");
        List<String> lines = Files.readAllLines(file);
        Properties properties = new Properties();
        properties.load(new StringReader(String.join("\n", lines)));
        List<String> problems = new java.util.ArrayList<>();
        Map<String, Setting> settings = new HashMap<>();
        for (Setting setting : Setting.values()) {
            settings.put(setting.key(), setting);
            String value = properties.getProperty(setting.key());
            if (setting.description().startsWith("deprecated")) {
                // Set in the file, a deprecated key is refused beside its successor in every copy that changes it.
                if (value != null) {
                    problems.add(setting.key() + " is deprecated: the file names it in a comment only");
                } else if (lines.stream().noneMatch(line -> line.startsWith("#") && line.contains(setting.key()))) {
                    problems.add(setting.key() + " is deprecated and not named in a comment");
                }
                continue;
            }
            if (value == null) {
                problems.add(setting.key() + " is missing (default '" + setting.defaultValue() + "': " + setting.description() + ")");
            } else if (!value.equals(setting.defaultValue())) {
                problems.add(setting.key() + "=" + value + ", but its default is '" + setting.defaultValue() + "'");
            }
        }
        for (String key : properties.stringPropertyNames()) {
            if (!settings.containsKey(key)) {
                problems.add(key + " is not a setting of the service (Kafka examples stay commented out)");
            }
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (!line.isBlank() && !line.startsWith("#") && (i == 0 || !lines.get(i - 1).startsWith("# "))) {
                problems.add("line " + (i + 1) + " '" + line + "' has no comment above it");
            }
        }
        assertTrue(problems.isEmpty(), "deploy/explainstream.properties and Setting disagree:\n" + String.join("\n", problems));
        ServiceConfig config = ServiceConfig.load(file, Map.of());
        assertTrue(!config.hasBootstrapServers(), "as shipped, run uses the embedded broker");
        String readme = Files.readString(REPO.resolve("README.md"));
        assertTrue(readme.contains("./explainstream run --config deploy/explainstream.properties"), "the README's run example uses it");
        // replay, diff, tail and dashboard read an existing cluster: their examples take a copy with bootstrap.servers set.
        assertTrue(readme.contains("./explainstream replay --config my.properties"), "the README's replay example uses a copy");
        assertTrue(readme.contains("need a copy with `bootstrap.servers`"), "the README says why the copy");
        assertTrue(!readme.matches("(?s).*explainstream (replay|diff|tail|dashboard) --config deploy/explainstream\\.properties.*"),
                "no example of a command that reads a cluster uses the shipped file, which has no bootstrap.servers");
    }

    @Test
    void dockerfilesBuildTheJarWithLibsAndTheModelAndExposeTheOpsPort() throws IOException {
        for (String file : List.of("deploy/Dockerfile", "deploy/Dockerfile.cuda")) {
            String dockerfile = Files.readString(REPO.resolve(file));
            assertTrue(dockerfile.contains("COPY --from=build /src/target/lib ./lib"), file + " copies the dependency folder");
            assertTrue(dockerfile.contains("COPY models ./models"), file + " bundles the model");
            assertTrue(dockerfile.contains("EXPOSE 9464"), file);
            assertTrue(dockerfile.contains("\"-jar\", \"/opt/explainstream/explainstream.jar\""), file);
            for (String copied : List.of("schemas", "src/main", "models")) {
                assertTrue(Files.exists(REPO.resolve(copied)), file + " copies " + copied);
            }
        }
        String cuda = Files.readString(REPO.resolve("deploy/Dockerfile.cuda"));
        assertTrue(cuda.contains("PYTORCH_LIBRARY_PATH=/opt/libtorch/lib") && cuda.contains("PYTORCH_FLAVOR=cu128")
                && cuda.contains("PYTORCH_VERSION=2.7.1"), "the CUDA libtorch is given to DJL");
        String pom = Files.readString(REPO.resolve("pom.xml"));
        assertTrue(pom.contains("<pytorch.version>2.7.1</pytorch.version>"), "the CUDA libtorch matches the JNI version in the pom");
    }

    @Test
    void kubernetesManifestsAgreeOnConfigPortsProbesAndTheGpu() throws IOException {
        JsonNode configMap = yaml("deploy/k8s/configmap.yaml");
        JsonNode deployment = yaml("deploy/k8s/deployment.yaml");
        JsonNode service = yaml("deploy/k8s/service.yaml");
        Properties properties = new Properties();
        properties.load(new StringReader(configMap.path("data").path("explainstream.properties").asText()));
        Map<String, String> values = new HashMap<>();
        properties.stringPropertyNames().forEach(key -> values.put(key, properties.getProperty(key)));
        ServiceConfig config = ServiceConfig.of(values); // unknown keys or bad values would throw
        int opsPort = config.opsPort();

        JsonNode pod = deployment.path("spec").path("template");
        JsonNode container = pod.path("spec").path("containers").get(0);
        assertEquals("1", container.path("resources").path("limits").path("nvidia.com/gpu").asText());
        assertEquals(opsPort, container.path("ports").get(0).path("containerPort").asInt());
        String portName = container.path("ports").get(0).path("name").asText();
        assertEquals("/ready", container.path("readinessProbe").path("httpGet").path("path").asText());
        assertEquals("/health", container.path("livenessProbe").path("httpGet").path("path").asText());
        assertEquals(portName, container.path("readinessProbe").path("httpGet").path("port").asText());
        assertEquals("0.0.0.0", config.get(Setting.OPS_HOST));
        assertTrue(container.path("image").asText().contains("cuda"), "the GPU image");
        assertEquals("gpu:0", config.get(Setting.MODEL_DEVICE));

        String mountPath = null;
        for (JsonNode mount : container.path("volumeMounts")) {
            if (mount.path("name").asText().equals("config")) {
                mountPath = mount.path("mountPath").asText();
            }
        }
        assertEquals("/etc/explainstream/explainstream.properties", container.path("args").get(2).asText());
        assertTrue(container.path("args").get(2).asText().startsWith(mountPath + "/"), "--config points into the mounted ConfigMap");
        String configMapName = configMap.path("metadata").path("name").asText();
        boolean referenced = false;
        for (JsonNode volume : pod.path("spec").path("volumes")) {
            referenced |= volume.path("configMap").path("name").asText().equals(configMapName);
        }
        assertTrue(referenced, "the deployment mounts " + configMapName);

        assertEquals(pod.path("metadata").path("labels"), service.path("spec").path("selector"));
        assertEquals(opsPort, service.path("spec").path("ports").get(0).path("port").asInt());
        assertEquals(portName, service.path("spec").path("ports").get(0).path("targetPort").asText());
        assertEquals(Integer.toString(opsPort), service.path("metadata").path("annotations").path("prometheus.io/port").asText());
    }
}
