// Test only (run by cmd/aispend/otlp_test.go): the OpenTelemetry JavaScript SDK creates GenAI
// spans and its OTLP/HTTP exporter (OTLP JSON) sends them to the collector at AISPEND_URL with
// the bearer token AISPEND_TOKEN; then the same spans are exported again, gzip-compressed, as
// an exporter's retry would. Prints what the Go test checks, as one JSON object.
import { diag, DiagLogLevel, SpanStatusCode } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";

const url = process.env.AISPEND_URL + "/v1/traces";
const headers = { Authorization: `Bearer ${process.env.AISPEND_TOKEN}` };

// The exporter reports a partial success through the diagnostic logger.
const warnings = [];
const keep = (...args) => warnings.push(args.map(String).join(" "));
diag.setLogger({ error: keep, warn: keep, info() {}, debug() {}, verbose() {} }, DiagLogLevel.WARN);

const exporter = new OTLPTraceExporter({ url, headers });
const memory = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ "service.name": "QA_CHAT", "aispend.org_id": "acme" }),
  spanProcessors: [new SimpleSpanProcessor(exporter), new SimpleSpanProcessor(memory)],
});
const tracer = provider.getTracer("aispend-otlp-test");

// Span times as [seconds, nanoseconds], a minute ago: each lasts exactly 1.5 s.
const base = Math.floor(Date.now() / 1000) - 60;
const start = [base, 250_000_000];
const end = [base + 1, 750_000_000];

const spans = [];
function span(name, attributes, status) {
  const s = tracer.startSpan(name, { startTime: start, attributes });
  if (status) s.setStatus(status);
  s.end(end);
  spans.push({ name, traceId: s.spanContext().traceId, spanId: s.spanContext().spanId });
}

span("chat claude-sonnet-4-5", {
  "gen_ai.operation.name": "chat",
  "gen_ai.provider.name": "anthropic",
  "gen_ai.request.model": "claude-sonnet-4-5",
  "gen_ai.response.model": "claude-sonnet-4-5",
  "gen_ai.usage.input_tokens": 500,
  "gen_ai.usage.output_tokens": 300,
  "user.id": "js-user",
});
span("older names", {
  "gen_ai.system": "anthropic",
  "gen_ai.request.model": "claude-sonnet-4-5",
  "gen_ai.usage.prompt_tokens": 1200,
  "gen_ai.usage.completion_tokens": 300,
  "gen_ai.usage.cache_read.input_tokens": 1000,
  "gen_ai.usage.cache_creation.input_tokens": 100,
  "aispend.service": "MATCH_EXPLANATION",
  "enduser.id": "js-user-2",
});
span("failed", {
  "gen_ai.provider.name": "anthropic",
  "gen_ai.request.model": "claude-sonnet-4-5",
  "gen_ai.usage.input_tokens": 10,
  "gen_ai.usage.output_tokens": 0,
  "error.type": "overloaded_error",
}, { code: SpanStatusCode.ERROR, message: "Overloaded" });
span("GET /health", { "http.request.method": "GET" });
span("no model", { "gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 1 });

function exportWith(e, batch) {
  return new Promise((resolve) => e.export(batch, (result) => resolve({ code: result.code, error: result.error ? String(result.error) : "" })));
}

// The SimpleSpanProcessor has exported each span as it ended; flush waits for the answers.
await provider.forceFlush();
const retry = await exportWith(new OTLPTraceExporter({ url, headers, compression: "gzip" }), memory.getFinishedSpans());
await provider.shutdown();
process.stdout.write(JSON.stringify({ spans, start: String(BigInt(base) * 1_000_000_000n + 250_000_000n), retry, warnings }) + "\n");
