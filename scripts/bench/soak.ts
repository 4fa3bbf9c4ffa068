// What the default configuration costs beyond throughput: the /metrics scrape after load, the
// service's registry at a fork's scale, and memory over a sustained run with the OTLP
// endpoint down (bounded, or a leak).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { APP_DIR, BENCH_KEY, ENDPOINTS, rssBytes, startApp, type AppOptions } from './apps.ts';
import { fetchCatalog } from '../lib/load/catalog.ts';
import { freePort } from '../lib/ports.ts';
import { slope, spread, type Spread } from './stats.ts';

const RUN = ENDPOINTS[1];

/** Closed-loop agent runs for `seconds`; resolves to the 2xx answers per second. */
async function runs(url: string, path: string, seconds: number, connections: number) {
  const result = await autocannon({
    url: `${url}${path}`,
    method: RUN.method,
    headers: RUN.headers,
    body: RUN.body,
    idReplacement: true,
    connections,
    duration: seconds,
  });
  return result['2xx'] / seconds;
}

export interface ScrapeResult {
  series: number;
  bytes: number;
  milliseconds: Spread;
}

export async function measureScrape(
  options: AppOptions,
  connections: number,
): Promise<ScrapeResult> {
  const app = await startApp('default', options);
  try {
    // Touch every agent, both tiers' code paths and the error routes so the label sets that
    // load creates exist, then time the scrape a Prometheus would do.
    const { agents } = await fetchCatalog(app.url, BENCH_KEY);
    for (const agent of agents) {
      await runs(app.url, `/v1/agents/${agent}/runs`, 1, connections);
    }
    await fetch(`${app.url}/no-such-route`);
    const times: number[] = [];
    let body = '';
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      body = await (await fetch(`${app.managementUrl}/metrics`)).text();
      times.push(performance.now() - started);
    }
    const series = body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
    return { series, bytes: Buffer.byteLength(body), milliseconds: spread(times) };
  } finally {
    await app.stop();
  }
}

interface LabelledMetric {
  labels: (...values: string[]) => {
    inc: (value?: number) => void;
    observe: (value: number) => void;
  };
}

interface ServiceMetrics {
  agentRuns: LabelledMetric;
  agentRunDuration: LabelledMetric;
  agentToolCalls: LabelledMetric;
  llmRequests: LabelledMetric;
  llmRequestDuration: LabelledMetric;
  llmTokens: LabelledMetric;
  llmCost: LabelledMetric;
  llmCacheSavedTokens: LabelledMetric;
  llmCacheSavedCost: LabelledMetric;
  agentRunTokens: LabelledMetric;
  agentRunLlmCalls: LabelledMetric;
  genAiTokenUsage: ObjectLabelled;
  genAiOperationDuration: ObjectLabelled;
}

/** Histograms whose label sets vary (error_type only on failures): labelled by object. */
interface ObjectLabelled {
  labels: (labels: Record<string, string>) => { observe: (value: number) => void };
}

/** The GenAI series of one model: both token types, a success and two error types. */
function fillGenAiAtScale(metrics: ServiceMetrics, model: string): void {
  const chat = {
    gen_ai_operation_name: 'chat',
    gen_ai_provider_name: 'simulated',
    gen_ai_request_model: model,
  };
  for (const type of ['input', 'output']) {
    metrics.genAiTokenUsage.labels({ ...chat, gen_ai_token_type: type }).observe(100);
    metrics.llmCacheSavedTokens.labels('simulated', model, type).inc(100);
  }
  metrics.genAiOperationDuration.labels(chat).observe(0.8);
  for (const error_type of ['server_error', 'unavailable'])
    metrics.genAiOperationDuration.labels({ ...chat, error_type }).observe(0.1);
  for (const tier of ['free', 'pro'])
    metrics.llmCacheSavedCost.labels('simulated', model, tier).inc(0.01);
}

/**
 * The service's own registry (app/dist/telemetry/metrics.js) filled with the label sets of a
 * fork with 72 agents and 16 models: about 11,000 series, the size where a scrape starts to
 * cost. It runs in this process because the demo's catalog is fixed at 3 agents and 3 models.
 */
export async function measureRegistryAtScale(): Promise<ScrapeResult> {
  const require = createRequire(import.meta.url);
  // metricsText: what /metrics serves (the service's own exposition, telemetry/exposition.ts).
  const { metrics, metricsText } = require(join(APP_DIR, 'dist/telemetry/metrics.js')) as {
    metrics: ServiceMetrics;
    metricsText: () => Promise<string>;
  };
  const agents = Array.from({ length: 72 }, (_, i) => `agent-${i}`);
  const models = Array.from({ length: 16 }, (_, i) => `model-${i}`);
  for (const agent of agents) {
    for (const tier of ['free', 'pro']) {
      for (const status of ['success', 'error', 'timeout', 'rejected'])
        metrics.agentRuns.labels(agent, tier, status).inc();
    }
    for (const status of ['success', 'error', 'timeout'])
      metrics.agentRunDuration.labels(agent, status).observe(1.5);
    for (const tool of ['search', 'calculator']) {
      for (const status of ['success', 'error'])
        metrics.agentToolCalls.labels(agent, tool, status).inc();
    }
    metrics.agentRunTokens.labels(agent).observe(900);
    metrics.agentRunLlmCalls.labels(agent).observe(3);
    // Cost by agent (docs/alerting.md): every agent can use every model in both tiers.
    for (const model of models) {
      for (const tier of ['free', 'pro'])
        metrics.llmCost.labels('simulated', model, tier, agent).inc(0.01);
    }
  }
  for (const model of models) {
    for (const status of ['success', 'error', 'circuit_open'])
      metrics.llmRequests.labels('simulated', model, status).inc();
    metrics.llmRequestDuration.labels('simulated', model).observe(0.8);
    for (const type of ['input', 'output'])
      metrics.llmTokens.labels('simulated', model, type).inc(100);
    fillGenAiAtScale(metrics, model);
  }
  const times: number[] = [];
  let body = '';
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    body = await metricsText();
    times.push(performance.now() - started);
  }
  return {
    series: body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length,
    bytes: Buffer.byteLength(body),
    milliseconds: spread(times),
  };
}

export interface SoakResult {
  seconds: number;
  requests: number;
  rssStartBytes: number;
  rssPeakBytes: number;
  rssEndBytes: number;
  lastThirdSlopeBytesPerSecond: number;
  exportFailures: number;
}

export async function soakWithOtlpDown(
  options: AppOptions,
  seconds: number,
  connections: number,
): Promise<SoakResult> {
  // A port nobody listens on: every export fails fast with ECONNREFUSED.
  const deadPort = await freePort();
  const app = await startApp('default', {
    ...options,
    otlpEndpoint: `http://127.0.0.1:${deadPort}`,
  });
  try {
    const pid = app.pid;
    const samples: { t: number; rss: number }[] = [];
    const started = Date.now();
    const sampler = setInterval(
      () => samples.push({ t: (Date.now() - started) / 1000, rss: rssBytes(pid) }),
      1000,
    );
    const okPerSecond = await runs(app.url, RUN.path, seconds, connections);
    clearInterval(sampler);
    const metrics = await (await fetch(`${app.managementUrl}/metrics`)).text();
    const failures = /^telemetry_export_failures_total\{signal="traces"\} (\S+)/m.exec(metrics);
    // RSS climbs while V8 grows its heap to a working size, then levels off; the last third
    // of the run says whether it keeps growing (a leak) or holds (bounded).
    const lastThird = samples.slice(Math.floor((samples.length * 2) / 3));
    return {
      seconds,
      requests: Math.round(okPerSecond * seconds),
      rssStartBytes: samples[0]?.rss ?? 0,
      rssPeakBytes: Math.max(...samples.map((s) => s.rss)),
      rssEndBytes: samples.at(-1)?.rss ?? 0,
      lastThirdSlopeBytesPerSecond: slope(
        lastThird.map((s) => s.t),
        lastThird.map((s) => s.rss),
      ),
      exportFailures: failures ? Number(failures[1]) : 0,
    };
  } finally {
    await app.stop();
  }
}
