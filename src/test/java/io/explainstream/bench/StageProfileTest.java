package io.explainstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.explainstream.TestData;
import io.explainstream.model.LlamaModel;
import io.explainstream.model.ModelOptions;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class StageProfileTest {

    @Test
    void samplesOfTheModelAreChargedToItsBlocksAndCountedAsLibtorch() {
        StageProfile profile;
        try (LlamaModel model = LlamaModel.load(TestData.stories260K(), ModelOptions.CPU_FLOAT32);
                NDManager manager = NDManager.newBaseManager("PyTorch")) {
            profile = StageProfile.sample(() -> {
                try (NDManager pass = manager.newSubManager()) {
                    var embeddings = pass.randomNormal(new Shape(16, 256, model.config().hiddenSize())); // (16, 256, H)
                    model.hiddenStates(embeddings, pass.ones(new Shape(16, 256), DataType.INT64)); // (16, 256, H)
                }
            }, Duration.ofSeconds(1), 40, Duration.ofSeconds(60));
        }
        assertTrue(profile.samples() >= 40, "sampled until there were enough: " + profile);
        assertTrue(profile.runs() >= 1);
        assertEquals(profile.samples(), profile.stages().stream().mapToInt(StageProfile.Stage::total).sum());
        int inModel = profile.stages().stream().filter(stage -> stage.name().startsWith("LlamaModel")).mapToInt(StageProfile.Stage::total).sum();
        assertTrue(inModel >= 0.7 * profile.samples(), "nearly all inside the model: " + profile);
        assertTrue(profile.stages().stream().anyMatch(stage -> stage.name().equals("LlamaModel.attention")), profile.toString());
        assertTrue(profile.javaShare() < 0.5, "the work is libtorch's: " + profile);
    }

    @Test
    void aJavaLoopIsJavaTime() {
        long[] sink = new long[1];
        StageProfile profile = StageProfile.sample(() -> {
            long x = 1;
            for (int i = 0; i < 50_000_000; i++) {
                x = x * 6364136223846793005L + 1442695040888963407L;
            }
            sink[0] += x;
        }, Duration.ofSeconds(1), 40, Duration.ofSeconds(60));
        assertTrue(profile.samples() >= 40, profile.toString());
        assertTrue(profile.javaShare() > 0.9, profile.toString());
        assertEquals("other", profile.stages().get(0).name(), "no project method outside bench on the stack: " + profile);
        assertTrue(sink[0] != 0);
    }
}
