// The bench's `conventional` configuration: what the OpenTelemetry JavaScript getting-started
// guide sets up, preloaded into the unchanged service (`node --import <this file>
// dist/server.js`, with TELEMETRY_ENABLED=false so the service's own middleware is off).
// The SDK keeps its defaults: every auto-instrumentation that is on by default, OTLP/HTTP
// (protobuf) exporters for traces, metrics and logs, all read from OTEL_* variables
// (OTEL_EXPORTER_OTLP_ENDPOINT points at the bench's sink), every trace sampled.
import { ProxyTracerProvider, trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { NodeSDK } from '@opentelemetry/sdk-node';

// Every auto-instrumentation names its tracer after its package.
const INSTRUMENTATION_SCOPE = '@opentelemetry/';

/**
 * Hands the auto-instrumentations the SDK's tracers and any other tracer (the service's own,
 * for its agent, LLM and tool spans) a no-op one: the configuration measures what the guide's
 * setup costs an application that has no spans of its own, not that setup plus this
 * project's spans.
 */
class WithoutServiceSpans implements TracerProvider {
  private readonly noop = new ProxyTracerProvider();
  private readonly sdk: TracerProvider;

  constructor(sdk: TracerProvider) {
    this.sdk = sdk;
  }

  getTracer(name: string, version?: string, options?: { schemaUrl?: string }): Tracer {
    return name.startsWith(INSTRUMENTATION_SCOPE)
      ? this.sdk.getTracer(name, version, options)
      : this.noop.getTracer(name, version, options);
  }
}

const sdk = new NodeSDK({ instrumentations: [getNodeAutoInstrumentations()] });
sdk.start();

// The instrumentations registered above already hold the SDK's tracers; only tracers asked for
// from now on (the service's modules load after this preload) see the filter.
const registered = trace.getTracerProvider();
trace.disable();
trace.setGlobalTracerProvider(new WithoutServiceSpans(registered));

process.once('SIGTERM', () => void sdk.shutdown());
