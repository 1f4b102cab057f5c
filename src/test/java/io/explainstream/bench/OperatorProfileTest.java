package io.explainstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.explainstream.attribution.GradientTurns;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OperatorProfileTest {

    @Test
    void selfTimesNestByThreadAndBackwardWorkIsMarked() throws Exception {
        String trace = """
                [
                 {"name": "aten::matmul", "ph": "X", "ts": 0, "dur": 100, "tid": 1, "pid": "CPU", "shape": [[4, 8], [8, 2]]},
                 {"name": "aten::mm", "ph": "X", "ts": 10, "dur": 80, "tid": 1, "pid": "CPU", "shape": [[4, 8], [8, 2]]},
                 {"name": "autograd::engine::evaluate_function: MmBackward0", "ph": "X", "ts": 200, "dur": 50, "tid": 1, "pid": "CPU", "shape": []},
                 {"name": "aten::mm", "ph": "X", "ts": 205, "dur": 40, "tid": 1, "pid": "CPU", "shape": [[4, 2], [2, 8]]},
                 {"name": "aten::add", "ph": "X", "ts": 0, "dur": 10, "tid": 2, "pid": "CPU", "shape": [[4], [4]]},
                 {"name": "memory", "ph": "i", "ts": 5, "tid": 1, "pid": "CPU"}
                ]""";
        OperatorProfile profile = OperatorProfile.fromTrace(new ObjectMapper().readTree(trace), 1.0);

        Map<String, OperatorProfile.OperatorTime> byName = profile.operators().stream()
                .collect(Collectors.toMap(OperatorProfile.OperatorTime::name, Function.identity()));
        assertEquals(0.020, byName.get("aten::matmul").selfMs(), 1e-9);
        assertEquals(0.080, byName.get("aten::mm").selfMs(), 1e-9);
        assertEquals(0.040, byName.get("aten::mm [backward]").selfMs(), 1e-9);
        assertEquals(0.010, byName.get("autograd::engine::evaluate_function: MmBackward0").selfMs(), 1e-9);
        assertEquals(1, byName.get("aten::mm [backward]").calls());
        assertEquals("aten::mm", profile.operators().get(0).name(), "largest self time first");
        assertEquals(0.160, profile.insideOperatorsMs(), 1e-9, "top-level spans of both threads");
        assertEquals((2.0 * 4 * 8 * 2 + 2.0 * 4 * 2 * 8) / 1e9, profile.matrixProductGflop(), 1e-18, "mm calls only; matmul is their wrapper");
    }

    @Test
    void aRealProfileCountsTheMatrixProductsThatRan(@TempDir Path dir) throws Exception {
        Path trace = dir.resolve("trace.json");
        OperatorProfile profile;
        try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
            NDArray x = manager.randomUniform(0, 1, new Shape(64, 128)); // (64, 128)
            NDArray y = manager.randomUniform(0, 1, new Shape(128, 32)); // (128, 32)
            NDArray batched = manager.randomUniform(0, 1, new Shape(3, 64, 128)); // (3, 64, 128)
            NDArray batchedRight = manager.randomUniform(0, 1, new Shape(3, 128, 32)); // (3, 128, 32)
            profile = OperatorProfile.capture(() -> {
                try (GradientCollector collector = GradientTurns.open()) {
                    x.setRequiresGradient(true);
                    NDArray product = x.matMul(y); // (64, 32)
                    batched.matMul(batchedRight); // (3, 64, 32)
                    collector.backward(product.sum()); // ∂/∂x = 1·yᵀ: one (64, 32) × (32, 128) product
                }
            }, trace);
        }
        double expected = 2.0 * 64 * 128 * 32 * (1 + 3 + 1) / 1e9;
        assertEquals(expected, profile.matrixProductGflop(), 1e-15);
        assertTrue(Files.size(trace) > 0);
        assertTrue(profile.operators().stream().anyMatch(op -> op.name().equals("aten::bmm")), profile.operators().toString());
        assertTrue(profile.operators().stream().anyMatch(op -> op.name().equals("aten::mm [backward]")), profile.operators().toString());
        assertTrue(profile.insideOperatorsMs() > 0 && profile.insideOperatorsMs() <= profile.wallMs());
    }
}
