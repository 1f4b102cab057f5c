package io.explainstream.stream.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.ServiceConfig;
import io.explainstream.stream.ingest.InputEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AuditPolicyTest {

    private static InputEvent event(String id, String model, Map<String, String> metadata) {
        return new InputEvent(id, 0, model, "Once upon a time", null, "Lily", null, null, metadata, List.of());
    }

    @Test
    void theSampleIsTheSameOnEveryInstanceAndReplayAndWithinTwoPercentOfTheRate() {
        for (double rate : new double[] {0.05, 0.25, 0.5, 0.9}) {
            // Two instances (two policies built apart) and a replay (the same ids asked again, in reverse).
            AuditPolicy instanceA = ServiceConfig.of(Map.of("audit.sample.rate", Double.toString(rate))).auditPolicy();
            AuditPolicy instanceB = ServiceConfig.of(Map.of("audit.sample.rate", Double.toString(rate))).auditPolicy();
            List<AuditPolicy.Choice> first = new ArrayList<>();
            int sampled = 0;
            for (int i = 0; i < 10_000; i++) {
                AuditPolicy.Choice choice = instanceA.choose(event("evt-" + i, "m", Map.of()));
                first.add(choice);
                sampled += choice == AuditPolicy.Choice.SAMPLED ? 1 : 0;
            }
            for (int i = 9_999; i >= 0; i--) {
                assertEquals(first.get(i), instanceB.choose(event("evt-" + i, "m", Map.of())), "evt-" + i + " at rate " + rate);
            }
            double share = sampled / 10_000.0;
            assertTrue(Math.abs(share - rate) <= 0.02, "rate " + rate + ": sampled share " + share);
        }
    }

    @Test
    void theHashIsPinnedSoThatAnUpgradePicksTheSameEvents() {
        // SHA-256 of the UTF-8 id, first 53 bits as a uniform number: a replay after an upgrade picks the same events.
        StringBuilder picked = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            picked.append(AuditPolicy.sampled("evt-" + i, 0.5) ? '1' : '0');
        }
        assertEquals(PINNED, picked.toString());
    }

    // Computed apart, with Python: hashlib.sha256(id.encode()).digest()[:8] as a big-endian integer, >> 11, times 2^-53, < 0.5.
    static final String PINNED = "1111100001001010";

    @Test
    void rulesForceTheFullMethodAndSoDoesTheProducersFlag() {
        AuditPolicy policy = ServiceConfig.of(Map.of("audit.sample.rate", "0.0001", "audit.sample.always",
                "model=llama-guard|gpt-x, metadata.tenant=bank")).auditPolicy();
        assertEquals(AuditPolicy.Choice.FORCED, policy.choose(event("a", "gpt-x", Map.of())));
        assertEquals(AuditPolicy.Choice.FORCED, policy.choose(event("b", "m", Map.of("tenant", "bank"))));
        assertEquals(AuditPolicy.Choice.FORCED, policy.choose(event("c", "m", Map.of("audit", "full"))));
        assertEquals(AuditPolicy.Choice.NOT_SAMPLED, policy.choose(event("d", "m", Map.of("tenant", "shop", "audit", "cheap"))));
    }

    @Test
    void badSettingsNameTheKeyAndTheDeprecatedRateMapsToSkip() {
        var rule = assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("audit.sample.always", "tenant=bank")));
        assertTrue(rule.getMessage().contains("audit.sample.always") && rule.getMessage().contains("tenant=bank"), rule.getMessage());
        var method = assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("audit.cheap.method", "lime")));
        assertTrue(method.getMessage().contains("audit.cheap.method = 'lime'"), method.getMessage());
        var both = assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("sample.rate", "0.5", "audit.sample.rate", "0.2")));
        assertTrue(both.getMessage().contains("sample.rate = 0.5"), both.getMessage());
        // audit.sample.rate = 1.0 is set in the deployment's file: a sample.rate added there replaced it silently.
        var withDeployed = assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("sample.rate", "0.5", "audit.sample.rate", "1.0")));
        assertEquals("sample.rate = 0.5 is deprecated and cannot be combined with audit.sample.rate = 1.0; set audit.sample.rate and"
                + " audit.cheap.method=skip", withDeployed.getMessage());
        // The overflow's message gave the range -2147483648..2147483647, where negatives are refused.
        assertEquals("audit.max.lag.ms = 99999999999999999999 is too large (at most 2147483647)",
                assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("audit.max.lag.ms", "99999999999999999999"))).getMessage());
        assertEquals("audit.max.lag.ms = -1 must not be negative (0 turns backlog control off)",
                assertThrows(ConfigException.class, () -> ServiceConfig.of(Map.of("audit.max.lag.ms", "-1"))).getMessage());
        // A limit under one engine call's time (45 s by default) cannot be held for the events behind a long call: said at start.
        assertEquals(java.util.Optional.empty(), ServiceConfig.of(Map.of()).lagLimitUnderOneCall(), "60 s against 45 s");
        assertEquals(java.util.Optional.empty(), ServiceConfig.of(Map.of("audit.max.lag.ms", "0")).lagLimitUnderOneCall(), "off");
        assertEquals("audit.max.lag.ms = 30000 is under the engine time one call may take (45000 ms, 3/4 of the transaction timeout): backlog"
                + " control decides between engine calls, so the events behind a long one may pass it before any step down; raise it, or lower"
                + " batch.max.seconds or producer.transaction.timeout.ms",
                ServiceConfig.of(Map.of("audit.max.lag.ms", "30000")).lagLimitUnderOneCall().orElseThrow());
        AuditPolicy legacy = ServiceConfig.of(Map.of("sample.rate", "0.3")).auditPolicy();
        assertEquals(0.3, legacy.sampleRate());
        assertEquals(AuditPolicy.CheapMethod.SKIP, legacy.cheapMethod());
        assertEquals(AuditPolicy.DEFAULTS, ServiceConfig.of(Map.of()).auditPolicy());
    }
}
