package io.explainstream.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.TestData;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CpuThreadsTest {

    @Test
    void aCountOrAutoIsAcceptedAndAnythingElseIsRefusedNamingTheKeyAndTheValue() {
        assertEquals(CpuThreads.AUTO, CpuThreads.parse("model.threads", " Auto "));
        assertEquals(new CpuThreads(3), CpuThreads.parse("model.threads", "3"));
        for (String bad : new String[] {"0", "-2", "1.5", "two", "", "99999999999"}) {
            var refused = assertThrows(IllegalArgumentException.class, () -> CpuThreads.parse("model.threads", bad));
            assertEquals("model.threads = '" + bad + "' is not a thread count (use a positive whole number or auto)", refused.getMessage());
        }
        int processors = Runtime.getRuntime().availableProcessors();
        var flood = assertThrows(IllegalArgumentException.class, () -> CpuThreads.parse("--threads", "100000"));
        assertEquals("--threads = 100000 is more than " + 4 * processors + ", four times the " + processors + " processors this JVM may use",
                flood.getMessage());
        assertEquals(new CpuThreads(4 * processors), CpuThreads.parse("--threads", Integer.toString(4 * processors)));
        var service = assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("model.threads", "0")));
        assertEquals("model.threads = '0' is not a thread count (use a positive whole number or auto)", service.getMessage());
        assertEquals(new CpuThreads(2), ServiceConfig.of(Map.of("model.threads", "2")).modelOptions().threads());
        assertEquals(CpuThreads.AUTO, ServiceConfig.of(Map.of()).modelOptions().threads());
    }

    @Test
    void autoIsDjlsPropertyWhenSetElseOneLessThanTheProcessorsTheJvmMayUse() {
        String saved = System.getProperty(CpuThreads.DJL_PROPERTY);
        try {
            System.clearProperty(CpuThreads.DJL_PROPERTY);
            assertEquals(Math.max(1, Runtime.getRuntime().availableProcessors() - 1), CpuThreads.AUTO.resolve());
            System.setProperty(CpuThreads.DJL_PROPERTY, "5");
            assertEquals(5, CpuThreads.AUTO.resolve());
            assertEquals(3, new CpuThreads(3).resolve(), "a number asked for wins over the property");
        } finally {
            if (saved == null) {
                System.clearProperty(CpuThreads.DJL_PROPERTY);
            } else {
                System.setProperty(CpuThreads.DJL_PROPERTY, saved);
            }
        }
    }

    /** The count reaches a thread that starts computing after the load, as the service's stream thread does. */
    @Test
    void loadingAModelSetsLibtorchsThreadsForTheThreadsThatComputeLater() throws Exception {
        int before = CpuThreads.inEffect();
        int asked = before == 1 ? 2 : 1;
        try (LlamaModel model = LlamaModel.load(TestData.stories260K(), new ModelOptions(new DeviceSpec("cpu"), ComputeDtype.FLOAT32, new CpuThreads(asked)))) {
            AtomicInteger seen = new AtomicInteger();
            Thread worker = new Thread(() -> seen.set(CpuThreads.inEffect()));
            worker.start();
            worker.join();
            assertEquals(asked, seen.get());
        } finally {
            LlamaModel.load(TestData.stories260K(), new ModelOptions(new DeviceSpec("cpu"), ComputeDtype.FLOAT32, new CpuThreads(before))).close();
        }
    }
}
