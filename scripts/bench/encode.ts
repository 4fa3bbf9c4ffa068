// What encoding spans as OTLP costs per span, JSON (the service's exporter today,
// exporter-trace-otlp-http) against protobuf (exporter-trace-otlp-proto): CPU time in this
// process, which other work on a shared machine disturbs far less than a throughput figure.
// The spans have the service's shapes: a server span with its HTTP attributes and a run's
// agent, LLM and tool spans (app/src/http/observe.ts, app/src/agent/runner.ts and
// call-telemetry.ts). The packages are the ones sdk-node (a root devDependency, same version as
// the service's) brings.
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import { median } from './stats.ts';

export interface EncodingCost {
  spansPerBatch: number;
  json: { usPerSpan: number; bytesPerSpan: number };
  protobuf: { usPerSpan: number; bytesPerSpan: number };
}

function runSpans(count: number): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer('agent-service', '0.1.0');
  for (let i = 0; i < count / 4; i++) {
    const server = tracer.startSpan('POST /v1/agents/:agent/runs', { kind: SpanKind.SERVER });
    server.setAttributes({
      'http.request.method': 'POST',
      'url.path': '/v1/agents/research/runs',
      'url.scheme': 'http',
      'http.response.status_code': 201,
      'network.protocol.version': '1.1',
      'http.route': '/v1/agents/:agent/runs',
      'user_agent.original': 'autocannon',
      'client.address': '127.0.0.1',
    });
    const parent = trace.setSpan(ROOT_CONTEXT, server);
    const child = (name: string, attributes: Record<string, string | number>) =>
      tracer.startSpan(name, { attributes }, parent).end();
    child('agent.run research', { 'gen_ai.agent.name': 'research', 'agent.tier': 'pro' });
    child('chat sim-large', {
      'gen_ai.request.model': 'sim-large',
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 80,
    });
    child('execute_tool search', { 'gen_ai.tool.name': 'search' });
    server.end();
  }
  return exporter.getFinishedSpans();
}

function cpuMicros(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

/** `rounds` interleaved rounds of encoding one batch many times; the median per span. */
export function measureEncoding(rounds = 7, spansPerBatch = 512): EncodingCost {
  const spans = runSpans(spansPerBatch);
  const repeats = 20;
  const json: number[] = [];
  const protobuf: number[] = [];
  let jsonBytes = 0;
  let protobufBytes = 0;
  for (let round = 0; round < rounds; round++) {
    json.push(
      cpuMicros(() => {
        for (let i = 0; i < repeats; i++)
          jsonBytes = JsonTraceSerializer.serializeRequest(spans)?.length ?? 0;
      }),
    );
    protobuf.push(
      cpuMicros(() => {
        for (let i = 0; i < repeats; i++)
          protobufBytes = ProtobufTraceSerializer.serializeRequest(spans)?.length ?? 0;
      }),
    );
  }
  const perSpan = (micros: number[]) => median(micros) / repeats / spans.length;
  return {
    spansPerBatch: spans.length,
    json: { usPerSpan: perSpan(json), bytesPerSpan: jsonBytes / spans.length },
    protobuf: { usPerSpan: perSpan(protobuf), bytesPerSpan: protobufBytes / spans.length },
  };
}
