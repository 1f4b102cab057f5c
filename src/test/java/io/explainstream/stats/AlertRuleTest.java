package io.explainstream.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.explainstream.stream.config.ConfigException;
import io.explainstream.stream.config.ServiceConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Alert rules and statistics settings from the configuration: what parses, and bad values that fail start naming the key and value. */
class AlertRuleTest {

    private static String failure(Map<String, String> entries) {
        return assertThrows(ConfigException.class, () -> AlertRule.fromConfig(entries, StatsFixture.GROUP_BY)).getMessage();
    }

    @Test
    void rulesParseWithEveryOperatorAndAnOptionalGroupFilter() {
        List<AlertRule> rules = AlertRule.fromConfig(Map.of("alert.unfaithful.when", "delta.rel.max > 0.1", "alert.dlq-burst.when", "dlq.count>=10",
                "alert.dlq-burst.group", "metadata.application=storybook"), StatsFixture.GROUP_BY);
        assertEquals(2, rules.size());
        AlertRule burst = rules.get(0);
        assertEquals("dlq-burst", burst.name());
        assertEquals(new WindowMetric(StatsMetric.DLQ_COUNT, null), burst.metric());
        assertEquals(AlertRule.Operator.GE, burst.operator());
        assertEquals(10, burst.threshold());
        assertEquals(Map.of("metadata.application", "storybook"), burst.groupFilter());
        for (String op : List.of("<", "<=", ">", ">=", "==", "!=")) {
            assertEquals(op, AlertRule.parse("r", "events " + op + " 1", null, StatsFixture.GROUP_BY).operator().symbol());
        }
    }

    @Test
    void relianceAndConcentrationMetricsParsePerSegmentKind() {
        for (String kind : List.of("system", "user", "assistant", "template", "prompt", "span", "other")) {
            assertEquals(new WindowMetric(StatsMetric.SHARE_MEAN, kind), AlertRule.parse("r", "share." + kind + ".mean < 0.05", null,
                    StatsFixture.GROUP_BY).metric());
        }
        assertEquals(new WindowMetric(StatsMetric.SHARE_P10, "user"), AlertRule.parse("r", "share.user.p10 < 0.1", null, StatsFixture.GROUP_BY).metric());
        assertEquals(new WindowMetric(StatsMetric.SHARE_P90, "system"), AlertRule.parse("r", "share.system.p90>0.9", null, StatsFixture.GROUP_BY).metric());
        AlertRule top = AlertRule.parse("r", "top_segment.template.fraction > 0.5", null, StatsFixture.GROUP_BY);
        assertEquals(new WindowMetric(StatsMetric.TOP_SEGMENT_FRACTION, "template"), top.metric());
        assertEquals("top_segment.template.fraction", top.metric().name());
        assertEquals(new WindowMetric(StatsMetric.ENTROPY_MEAN, null), AlertRule.parse("r", "entropy.mean < 0.5", null, StatsFixture.GROUP_BY).metric());
    }

    @Test
    void aBadSegmentKindOrPerKindMetricFailsNamingTheKeyAndTheValue() {
        assertEquals("alert.x.when = 'share.tool.mean < 0.05': 'tool' is not a segment kind (kinds: system, user, assistant, template, prompt,"
                + " span, other; one named span: span:<name>)", failure(Map.of("alert.x.when", "share.tool.mean < 0.05")));
        assertEquals("alert.x.when = 'top_segment.SYSTEM.fraction > 0.5': 'SYSTEM' is not a segment kind (kinds: system, user, assistant,"
                + " template, prompt, span, other; one named span: span:<name>)", failure(Map.of("alert.x.when", "top_segment.SYSTEM.fraction > 0.5")));
        assertTrue(failure(Map.of("alert.x.when", "share.system.median < 0.05")).startsWith("alert.x.when = 'share.system.median < 0.05':"
                + " no window metric 'share.system.median' (metrics: "));
    }

    @Test
    void aNamedSpanIsSpanColonItsNameAsSpanRelianceKeysItDotsAndColonsIncluded() {
        AlertRule mean = AlertRule.parse("r", "share.span:doc:kb-4411.mean < 0.05", null, StatsFixture.GROUP_BY);
        assertEquals(new WindowMetric(StatsMetric.SHARE_MEAN, "span", "doc:kb-4411"), mean.metric());
        assertEquals("share.span:doc:kb-4411.mean", mean.metric().name());
        assertEquals(new WindowMetric(StatsMetric.SHARE_P90, "span", "tool.search/v2"),
                AlertRule.parse("r", "share.span:tool.search/v2.p90>0.9", null, StatsFixture.GROUP_BY).metric(), "the last dotted part is the statistic");
        assertEquals(new WindowMetric(StatsMetric.TOP_SEGMENT_FRACTION, "span", "doc:kb-4411"),
                AlertRule.parse("r", "top_segment.span:doc:kb-4411.fraction >= 0.5", null, StatsFixture.GROUP_BY).metric());
        assertEquals(new WindowMetric(StatsMetric.SHARE_MEAN, "span"), AlertRule.parse("r", "share.span.mean < 0.05", null, StatsFixture.GROUP_BY).metric(),
                "share.span.mean is still every named span together");
        assertEquals(java.util.Set.of("doc:kb-4411", "tool.search/v2"), StatsFixture.settings(java.time.Duration.ofMinutes(1), java.time.Duration.ZERO,
                java.time.Duration.ofSeconds(10), AlertRule.fromConfig(Map.of("alert.a.when", "share.span:doc:kb-4411.mean < 0.05", "alert.b.when",
                        "top_segment.span:tool.search/v2.fraction > 0.5", "alert.c.when", "share.user.mean < 0.5"), StatsFixture.GROUP_BY)).watchedSpans());
    }

    @Test
    void aBadNamedSpanRuleFailsNamingTheKeyAndTheValue() {
        assertEquals("alert.x.when = 'share.span:.mean < 0.05': 'span:' names no span; write the span's name after it, for example"
                + " 'share.span:doc:kb-4411.mean'", failure(Map.of("alert.x.when", "share.span:.mean < 0.05")));
        String longName = "d".repeat(129);
        assertEquals("alert.x.when = 'top_segment.span:" + longName + ".fraction > 0.5': span name '" + longName + "' is 129 characters;"
                + " span names have at most 128", failure(Map.of("alert.x.when", "top_segment.span:" + longName + ".fraction > 0.5")));
        assertEquals(1, AlertRule.fromConfig(Map.of("alert.x.when", "share.span:" + "🐶".repeat(128) + ".mean < 0.05"), StatsFixture.GROUP_BY).size(),
                "128 code points (256 UTF-16 units): a span name");
        assertTrue(failure(Map.of("alert.x.when", "share.span:doc:kb-4411.median < 0.05")).startsWith("alert.x.when = 'share.span:doc:kb-4411.median"
                + " < 0.05': no window metric 'share.span:doc:kb-4411.median' (metrics: "));
        assertTrue(failure(Map.of("alert.x.when", "share.span:doc:kb-4411.median < 0.05")).endsWith("(<kind>: system, user, assistant, template,"
                + " prompt, span, other, or span:<name> for one named span))"));
        assertEquals("alert.x.when = 'share.span:doc kb.mean < 0.05' is not '<metric> <op> <number>' (op one of <, <=, >, >=, ==, !=), for example"
                + " 'delta.rel.max > 0.1'", failure(Map.of("alert.x.when", "share.span:doc kb.mean < 0.05")), "a name with a space cannot be written");
    }

    @Test
    void badRulesNameTheKeyAndTheValue() {
        assertEquals("alert.x.when = 'share.system.mean ~ 0.05' is not '<metric> <op> <number>' (op one of <, <=, >, >=, ==, !=), for example"
                + " 'delta.rel.max > 0.1'", failure(Map.of("alert.x.when", "share.system.mean ~ 0.05")));
        assertTrue(failure(Map.of("alert.x.when", "delta.relative > 0.1")).startsWith("alert.x.when = 'delta.relative > 0.1': no window metric"
                + " 'delta.relative' (metrics: events, dlq.count"));
        assertEquals("alert.x.when = 'events > lots': 'lots' is not a number", failure(Map.of("alert.x.when", "events > lots")));
        assertEquals("alert.x.when = 'events > NaN': 'NaN' is not a number", failure(Map.of("alert.x.when", "events > NaN")));
        assertEquals("alert.x.when = 'events > 1e999': the threshold must be a finite number", failure(Map.of("alert.x.when", "events > 1e999")));
    }

    /** Only plain decimal numbers: Java's float suffix, hexadecimal, underscores and non-ASCII digits are not what a reader sees. */
    @Test
    void aThresholdIsAPlainDecimalNumber() {
        for (String threshold : new String[] {"10f", "10d", "0x10", "0x1p3", "1_000", "Infinity", "\uff11"}) {
            assertEquals("alert.x.when = 'events > " + threshold + "': '" + threshold + "' is not a number",
                    failure(Map.of("alert.x.when", "events > " + threshold)), threshold);
        }
        for (String threshold : new String[] {"10", "-1", "+2", "0.5", ".5", "5.", "1e3", "1.5E-3"}) {
            assertEquals(1, AlertRule.fromConfig(Map.of("alert.x.when", "events > " + threshold), StatsFixture.GROUP_BY).size(), threshold);
        }
        assertTrue(failure(Map.of("alert.x.if", "events > 1")).startsWith("unknown configuration key 'alert.x.if'"));
        assertTrue(failure(Map.of("alert.when", "events > 1")).startsWith("unknown configuration key 'alert.when'"));
        assertEquals("alert.x.group = 'metadata.application=a' has no rule: alert.x.when is not set",
                failure(Map.of("alert.x.group", "metadata.application=a")));
        assertEquals("alert.x.group = 'metadata.tenant=acme': 'metadata.tenant=acme' is not field=value with a field of stats.group.by"
                + " [source_model, metadata.application]", failure(Map.of("alert.x.when", "events > 1", "alert.x.group", "metadata.tenant=acme")));
    }

    @Test
    void theServiceConfigurationTakesAlertKeysAndTheStatisticsSettingsFailStartOnABadOne() {
        ServiceConfig config = ServiceConfig.of(Map.of("alert.unfaithful.when", "delta.rel.max > 0.1", "stats.window", "5m"));
        StatsSettings settings = StatsSettings.from(config);
        assertEquals(1, settings.rules().size());
        assertEquals(java.time.Duration.ofMinutes(5), settings.window());
        assertTrue(!config.streamsProperties().containsKey("alert.unfaithful.when"), "alert keys are not passed to Kafka");
        assertEquals("alert.unfaithful.when = 'delta.rel.max >> 0.1' is not '<metric> <op> <number>' (op one of <, <=, >, >=, ==, !=), for example"
                + " 'delta.rel.max > 0.1'", assertThrows(ConfigException.class,
                        () -> StatsSettings.from(ServiceConfig.of(Map.of("alert.unfaithful.when", "delta.rel.max >> 0.1")))).getMessage());
        assertEquals("stats.window = 'soon' is not a duration (for example 500ms, 30s, 1m, 2h, 1d or PT1M)",
                assertThrows(ConfigException.class, () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.window", "soon")))).getMessage());
        assertEquals("stats.grace = '-1s' is not a duration (for example 500ms, 30s, 1m, 2h, 1d or PT1M)",
                assertThrows(ConfigException.class, () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.grace", "-1s")))).getMessage());
        // Under a millisecond passed this check, then failed the stream thread at every event (a window of 0 ms) or at start.
        assertEquals("stats.window = 'PT0.0001S' must be a whole number of milliseconds",
                assertThrows(ConfigException.class, () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.window", "PT0.0001S")))).getMessage());
        assertEquals("stats.emit.interval = 'PT1.0005S' must be a whole number of milliseconds", assertThrows(ConfigException.class,
                () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.emit.interval", "PT1.0005S")))).getMessage());
        assertEquals(java.time.Duration.ofMillis(1500), StatsSettings.from(ServiceConfig.of(Map.of("stats.emit.interval", "PT1.5S"))).emitInterval());
        // Near Long.MAX_VALUE ms, Kafka's clock arithmetic (and the check of window + grace) overflowed.
        for (String tooLong : List.of("PT9223372036854776S", "99999999999999999999d", "106751991167301d", "PT9223372036854775S", "36501d")) {
            assertEquals("stats.retention = '" + tooLong + "' is too long (at most 36500d, 100 years)", assertThrows(ConfigException.class,
                    () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.retention", tooLong)))).getMessage());
        }
        assertEquals("stats.window = 'PT9223372036854775S' is too long (at most 36500d, 100 years)", assertThrows(ConfigException.class,
                () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.window", "PT9223372036854775S")))).getMessage());
        assertEquals(java.time.Duration.ofDays(36_500), StatsSettings.from(ServiceConfig.of(Map.of("stats.emit.interval", "36500d"))).emitInterval());
        assertTrue(assertThrows(ConfigException.class, () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.group.by", "prompt_tokens"))))
                .getMessage().startsWith("stats.group.by = 'prompt_tokens': 'prompt_tokens' is not a scalar field of Explanation"));
        assertEquals("stats.retention = 1m must be at least stats.window + stats.grace = 1m + 30s",
                assertThrows(ConfigException.class, () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.retention", "1m")))).getMessage());
        // A retention left at its default is said to be one (helper-74 met this one after setting only stats.grace, and read "52560001m").
        assertEquals("stats.retention = 1d (its default) must be at least stats.window + stats.grace = 1m + 36500d",
                assertThrows(ConfigException.class, () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.grace", "36500d")))).getMessage());
        assertEquals("stats.max.groups = 99999999999 is out of range (1..2147483647)",
                assertThrows(ConfigException.class, () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.max.groups", "99999999999")))).getMessage());
        assertEquals("stats.max.groups = 0 is out of range (1..2147483647)",
                assertThrows(ConfigException.class, () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.max.groups", "0")))).getMessage());
        assertEquals("stats.max.groups = 'many' is not an integer",
                assertThrows(ConfigException.class, () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.max.groups", "many")))).getMessage());
        assertEquals(1000, StatsSettings.from(ServiceConfig.of(Map.of())).maxGroups());
        assertEquals("stats.max.groups = '\uff11\uff10' is not an integer", assertThrows(ConfigException.class,
                () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.max.groups", "\uff11\uff10")))).getMessage(), "ASCII digits only");
        assertEquals("stats.max.groups = '1_000' is not an integer",
                assertThrows(ConfigException.class, () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.max.groups", "1_000")))).getMessage());
        for (String notFinite : new String[] {"Infinity", "NaN", "1e999", "5f"}) {
            assertTrue(assertThrows(ConfigException.class, () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.delta.warn", notFinite))))
                    .getMessage().startsWith("stats.delta.warn = '" + notFinite + "' is not a"), notFinite);
        }
        assertEquals("stats.delta.warn = -1 must be a number >= 0",
                assertThrows(ConfigException.class, () -> StatsSettings.from(ServiceConfig.of(Map.of("stats.delta.warn", "-1")))).getMessage());
    }

    @Test
    void aThresholdTooSmallToTellFromZeroIsRefused() {
        assertEquals("alert.tiny.when = 'delta.rel.max > 1e-999': the threshold '1e-999' is too small to tell from 0", assertThrows(ConfigException.class,
                () -> StatsSettings.from(ServiceConfig.of(Map.of("alert.tiny.when", "delta.rel.max > 1e-999")))).getMessage());
    }

    /** Rules are tested on the statistics windows: with the statistics off they would never fire, so the live service refuses to start. */
    @Test
    void alertRulesWithTheStatisticsDisabledFailStart() {
        ServiceConfig config = ServiceConfig.of(Map.of("stats.enabled", "false", "alert.unfaithful.when", "delta.rel.max > 0.1",
                "alert.busy.when", "events > 100"));
        assertEquals("stats.enabled = false, but alert rules are set (alert.busy.when, alert.unfaithful.when): alerts are computed from the"
                + " statistics windows; enable the statistics or remove the rules", assertThrows(ConfigException.class,
                        () -> StatsTopology.addTo(new org.apache.kafka.streams.Topology(), config, null, new io.micrometer.core.instrument.simple.SimpleMeterRegistry(),
                                io.explainstream.stream.config.TimestampWindow.ANY))
                .getMessage());
        assertTrue(StatsTopology.addTo(new org.apache.kafka.streams.Topology(), ServiceConfig.of(Map.of("stats.enabled", "false")), null,
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), io.explainstream.stream.config.TimestampWindow.ANY).isEmpty(),
                "no rules: nothing to refuse");
    }

    @Test
    void aGroupFilterNamingAFieldTwiceFailsNamingTheKeyAndTheValue() {
        assertEquals("alert.x.group = 'metadata.application=a,metadata.application=b' names the field 'metadata.application' twice"
                + " (a group has one value per field; give one rule per value)", failure(Map.of("alert.x.when", "events > 1",
                        "alert.x.group", "metadata.application=a,metadata.application=b")));
    }

    /** An empty source_model never matches a window, so the rule never fired; an empty metadata value is a value an event can have. */
    @Test
    void aGroupFilterWithAnEmptyValueIsRefusedButForMetadata() {
        assertEquals("alert.x.group = 'source_model=': 'source_model=' has no value, and source_model is never empty (an explanation without it is"
                + " grouped as none)", failure(Map.of("alert.x.when", "events > 1", "alert.x.group", "source_model=")));
        GroupBy byApplication = GroupBy.parse("stats.group.by", "source_model,metadata.application");
        assertEquals(Map.of("metadata.application", ""), AlertRule.fromConfig(Map.of("alert.x.when", "events > 1", "alert.x.group",
                "metadata.application="), byApplication).get(0).groupFilter());
    }

    @Test
    void groupKeysRoundTripThroughTheirText() {
        GroupKey key = new GroupKey(List.of("source_model", "metadata.application"), List.of("m=1,2%", "app"));
        assertEquals("source_model=m%3D1%2C2%25,metadata.application=app", key.text());
        assertEquals(key, GroupKey.parse(key.text()));
        assertEquals("group 'source_model' is not field=value pairs joined by commas",
                assertThrows(IllegalArgumentException.class, () -> GroupKey.parse("source_model")).getMessage());
    }

    @Test
    void histogramQuantilesAreWithinOnePercent() {
        LogHistogram histogram = new LogHistogram();
        for (int i = 1; i <= 1000; i++) {
            histogram.add(i);
        }
        assertEquals(500, histogram.quantile(0.5), 5);
        assertEquals(950, histogram.quantile(0.95), 9.5);
        assertEquals(1000, histogram.max);
    }
}
