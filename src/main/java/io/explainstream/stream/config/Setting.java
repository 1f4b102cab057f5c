package io.explainstream.stream.config;

import io.explainstream.attribution.AttributionDefaults;

/**
 * The service's own configuration keys, with their defaults and meaning. Every other key is passed
 * to Kafka Streams and its clients as it is. The README's configuration reference lists these.
 */
public enum Setting {
    INPUT_TOPIC("input.topic", "llm-interactions", "topic of logged LLM interactions"),
    OUTPUT_TOPIC("output.topic", "explanations", "topic the Avro explanations are written to"),
    DLQ_TOPIC("dlq.topic", "llm-interactions-dlq", "dead-letter topic: original bytes of rejected events, reason in headers"),
    DIFF_TOPIC("diff.topic", "explanation-diffs", "topic diff --publish writes its Avro ExplanationDiff records to: one per event, then a summary"),
    INPUT_FORMAT("input.format", "auto", "auto (per record: Confluent-framed Avro if it starts with byte 0, else JSON), json or avro"),
    MODEL_DIR("model.dir", "", "Hugging Face LLaMA checkpoint directory; empty: the bundled models/stories260K"),
    MODEL_ID("model.id", "", "name written to model_id; empty: the model directory's name"),
    MODEL_DEVICE("model.device", "auto", "cpu, gpu, gpu:N or auto"),
    MODEL_DTYPE("model.dtype", "float32", "float32, float64, float16 or bfloat16 (GPU only)"),
    MODEL_THREADS("model.threads", "auto", "libtorch's CPU threads: a positive number, or auto: one less than the processors the JVM may use (which follow a container's CPU limit), at least 1"),
    MODEL_ACCEPT("model.accept", "", "comma-separated model names (the events' model field) to explain; empty: every model"),
    MODEL_OTHER("model.other", "skip", "events for other models: skip (counted), dlq, or explain anyway"),
    METHOD("attribution.method", AttributionDefaults.METHOD, "integrated_gradients, gradient or input_x_gradient"),
    STEPS("attribution.steps", AttributionDefaults.STEPS, "path points of integrated gradients"),
    INTEGRATION("attribution.integration", AttributionDefaults.INTEGRATION, "gausslegendre, riemann_left, riemann_right, riemann_middle, riemann_trapezoid, clenshaw_curtis"),
    BASELINE("attribution.baseline", AttributionDefaults.BASELINE, "unk, pad, zero or a token id"),
    INCLUDE_BOS("attribution.include.bos", AttributionDefaults.INCLUDE_BOS, "attribute BOS tokens too"),
    TOKEN_MATRIX("attribution.token.matrix", AttributionDefaults.TOKEN_MATRIX, "also publish the per-response-token matrix"),
    TARGET_DELTA("attribution.target.delta", AttributionDefaults.TARGET_DELTA, "adaptive steps: relative completeness tolerance; 0 keeps attribution.steps"),
    MAX_STEPS("attribution.max.steps", AttributionDefaults.MAX_STEPS, "cap for adaptive steps"),
    NORMALIZE("attribution.normalize", AttributionDefaults.NORMALIZE, "l1 or max_abs"),
    MAX_BATCH_TOKENS("attribution.max.batch.tokens", AttributionDefaults.MAX_BATCH_TOKENS, "tokens per forward pass (path points x padded length): the memory budget; about 4096 is fastest on CPU, raise it on a GPU"),
    PROMPT_TOKEN_LIMIT("limits.prompt.tokens", "1024", "longest prompt explained, in tokens"),
    PROMPT_POLICY("limits.prompt.policy", "truncate_left", "longer prompts: truncate_left (keep the last tokens, flagged in the output) or reject"),
    RESPONSE_TOKEN_LIMIT("limits.response.tokens", "256", "longest response explained, in tokens"),
    RESPONSE_POLICY("limits.response.policy", "reject", "longer responses: reject or truncate_right (explain the first tokens, flagged)"),
    EVENT_BYTES_LIMIT("limits.event.bytes", "1048576", "largest input record value, in bytes"),
    RECORD_MAX_BYTES("record.max.bytes", "1000000", "largest key + value the service writes: longer dead letters are cut (headers say so), larger explanations are dead-lettered; raise it with the broker's message.max.bytes"),
    METADATA_ENTRIES_LIMIT("limits.metadata.entries", "64", "most metadata entries an event may carry"),
    SAMPLE_RATE("sample.rate", "1.0", "deprecated: the same as audit.sample.rate with audit.cheap.method=skip (events outside the sample skipped, counted as not_sampled)"),
    AUDIT_SAMPLE_RATE("audit.sample.rate", "1.0", "share of events explained with the full method, chosen by a hash of event_id (the same on every instance and replay; 0 < rate ≤ 1)"),
    AUDIT_SAMPLE_ALWAYS("audit.sample.always", "", "rules forcing the full method: comma-separated model=A|B or metadata.KEY=V1|V2; metadata.audit=full always forces"),
    AUDIT_CHEAP_METHOD("audit.cheap.method", "input_x_gradient", "what events outside the sample get: input_x_gradient, gradient (one forward and backward) or skip (counted)"),
    AUDIT_MAX_LAG_MS("audit.max.lag.ms", "60000", "lag of the input records (now minus their Kafka timestamps) over which the service degrades step by step (fewer steps to audit.min.steps, the cheap method, skipping unsampled events) and under half of which it recovers; 0: off"),
    AUDIT_MIN_STEPS("audit.min.steps", "8", "fewest integrated-gradients steps under backlog"),
    BATCH_MAX_EVENTS("batch.max.events", "8", "a batch is attributed when it holds this many events"),
    BATCH_MAX_TOKENS("batch.max.tokens", "4096", "... or this many prompt + response tokens"),
    BATCH_MAX_WAIT_MS("batch.max.wait.ms", "2000", "... or its oldest event has waited this long (wall clock)"),
    BATCH_BY_LENGTH("batch.by.length", "true", "batch events only with events of similar length (prompt + response tokens rounded up to a power of two, up to 64 in one bucket), so a long prompt neither pads nor holds up short ones; false: arrival order"),
    BATCH_MAX_SECONDS("batch.max.seconds", "20", "engine seconds per Kafka transaction: batches are cut to fit, from the measured cost per token; the transaction timeout is 3x this (at least 60 s), which bounds how long consumers stall after a hard crash"),
    HEALTH_REPLACEMENTS_MAX("health.thread.replacements.max", "3", "/health answers 503 when the stream thread was replaced more often than this ..."),
    HEALTH_REPLACEMENTS_WINDOW_MS("health.thread.replacements.window.ms", "300000", "... within this many milliseconds"),
    METRICS_METADATA_LABELS("metrics.metadata.labels", "", "comma-separated metadata keys the event counters are labelled by (at most 100 values each, then other); empty: model only"),
    SUMMARY_TOP_K("summary.top.k", "5", "how many prompt tokens and words each explanation lists in top_tokens and top_words (1 to 100)"),
    REDACT("redact", "false", "publish token ids, offsets and scores but no token text, for PII-sensitive traffic"),
    LOG_FORMAT("log.format", "text", "text or json (one object per line on stderr); logging starts before this file is read, so set EXPLAINSTREAM_LOG_FORMAT"),
    OPS_HOST("ops.host", "127.0.0.1", "address of the metrics and health HTTP endpoint"),
    OPS_PORT("ops.port", "9464", "port of /metrics (Prometheus) and /health; 0 picks a free port, -1 disables"),
    DASHBOARD_AUTH("dashboard.auth", "", "user:password that the dashboard command asks of every request (HTTP basic); empty: none, so bind it to 127.0.0.1"),
    TOPICS_CREATE("topics.create", "true", "create the input, output and dead-letter topics at start when missing (the output and dead-letter topics with the input's retention.ms)"),
    TOPICS_PARTITIONS("topics.partitions", "3", "partitions of topics the service creates"),
    TOPICS_REPLICATION("topics.replication.factor", "-1", "replication factor of topics the service creates; -1: the broker's default"),
    TOPICS_INPUT_RETENTION_MS("topics.input.retention.ms", "", "retention.ms of the input topic when the service creates it; empty: the broker's default (Kafka's is 7 days), except that run on its embedded broker makes it -1; -1: forever, so that old traffic can be replayed"),
    REPLAY_OUT_OF_ORDER_MS("replay.out.of.order.ms", "300000", "how far out of timestamp order a record of a replay's range may sit in its partition and still be replayed: a replay reads on past --to until the first record stamped this long after it (records stamped --to or later are read and skipped); 0: stop at the first record stamped --to or later; -1: no bound, read to the end offset seen at start (every event of the range, at the cost of reading everything logged after it)"),
    STATS_ENABLED("stats.enabled", "true", "run the statistics sub-topology: windowed audit statistics of the explanations and dead letters, alert rules, /api/stats and /api/alerts (live service only)"),
    STATS_TOPIC("stats.topic", "explanation-stats", "topic the Avro ExplanationStats window records are written to"),
    ALERTS_TOPIC("alerts.topic", "explanation-alerts", "topic the Avro AuditAlert records of the alert.<name>.when rules are written to"),
    STATS_WINDOW("stats.window", "1m", "size of the tumbling event-time windows (500ms, 30s, 1m, 2h, 1d or ISO-8601)"),
    STATS_GRACE("stats.grace", "30s", "how long after its end a window still takes events; later ones are dropped and counted as late"),
    STATS_EMIT_INTERVAL("stats.emit.interval", "10s", "least wall-clock time between two updates of an open window on the stats topic"),
    STATS_RETENTION("stats.retention", "1d", "how long closed windows and fired alerts stay queryable at /api/stats and /api/alerts"),
    STATS_GROUP_BY("stats.group.by", "source_model,metadata.application", "comma-separated fields a window is grouped by: scalar Explanation fields or metadata.<key>"),
    STATS_DELTA_WARN("stats.delta.warn", "0.05", "relative delta over which an explanation counts in faithfulness.over_warn"),
    STATS_MAX_GROUPS("stats.max.groups", "1000", "most groups one window holds in each statistics task (partition of the observations topic); the events of further groups count in the group whose values are all _other"),
    AUTO_REGISTER("auto.register.schemas", "true", "register the Explanation schema (as published in schemas/Explanation.avsc) at start; false: it must be registered beforehand, and a missing subject fails start"),
    SUBJECT_STRATEGY("value.subject.name.strategy", "topic_name", "topic_name, record_name or topic_record_name (Confluent class names accepted)");

    private final String key;
    private final String defaultValue;
    private final String description;

    Setting(String key, String defaultValue, String description) {
        this.key = key;
        this.defaultValue = defaultValue;
        this.description = description;
    }

    public String key() {
        return key;
    }

    public String defaultValue() {
        return defaultValue;
    }

    public String description() {
        return description;
    }
}
