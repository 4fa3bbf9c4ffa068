// `make smoke`'s checks of the stack itself, from outside and through public HTTP APIs only,
// so they work the same against compose and `make native`: each service answers its health
// endpoint, every Prometheus target is up, no rule evaluation failed, Alertmanager has its
// config and Prometheus reaches it, and Jaeger holds traces the app itself pointed at.
import { call, json } from '../http.ts';
import { PrometheusClient } from '../clients.ts';
import { REPO_ROOT } from '../repo.ts';
import { loadServices } from '../services.ts';
import { demoSelector } from '../services-templates.ts';
import { waitUntil } from '../wait.ts';
import { fail, pass, skip, type CheckResult } from './report.ts';

export interface StackUrls {
  app: string;
  /** The app's management port: /health*, /metrics, /admin/*. */
  management: string;
  prometheus: string;
  alertmanager: string;
  receiver: string;
  jaeger: string;
  /** The Python example service (examples/python-agent). */
  pythonAgent: string;
  /** Services the stack does not run (a `make native` without the Python venv, say). */
  absent: string[];
}

// Each service's own health or readiness endpoint (Jaeger's health port is not published;
// its query API answering is the check).
const HEALTH_ENDPOINTS: [string, keyof StackUrls, string][] = [
  ['app', 'management', '/health/ready'],
  ['prometheus', 'prometheus', '/-/ready'],
  ['alertmanager', 'alertmanager', '/-/ready'],
  ['alert-receiver', 'receiver', '/-/healthy'],
  ['jaeger', 'jaeger', '/api/services'],
  ['python-agent', 'pythonAgent', '/health/ready'],
];

export function checkServices(urls: StackUrls): Promise<CheckResult[]> {
  return Promise.all(
    HEALTH_ENDPOINTS.map(async ([name, key, path]) => {
      if (urls.absent.includes(key)) return skip(`service ${name} healthy`, 'this stack runs none');
      const url = `${urls[key]}${path}`;
      try {
        await call(url);
        return pass(`service ${name} healthy`, `${url} answers`);
      } catch (err) {
        return fail(`service ${name} healthy`, (err as Error).message);
      }
    }),
  );
}

/** The Collector publishes no health port: its own metrics endpoint, scraped by Prometheus. */
export async function checkCollector(prometheusUrl: string): Promise<CheckResult> {
  const name = 'service otel-collector healthy';
  const targets = (await new PrometheusClient(prometheusUrl).targets()).filter(
    (t) => t.labels.job === 'otel-collector',
  );
  if (!targets.length) return fail(name, 'Prometheus has no otel-collector target');
  const down = targets.find((t) => t.health !== 'up');
  return down
    ? fail(name, `its metrics endpoint is ${down.health} in Prometheus (${down.lastError})`)
    : pass(name, 'its metrics endpoint is up in Prometheus');
}

export async function checkTargets(prometheusUrl: string): Promise<CheckResult> {
  const name = 'every Prometheus target up';
  const targets = await new PrometheusClient(prometheusUrl).targets();
  if (!targets.length) return fail(name, 'Prometheus has no targets');
  const down = targets.filter((t) => t.health !== 'up');
  if (down.length) {
    const list = down.map(
      (t) =>
        `${t.labels.job} ${t.labels.instance} ${t.health}${t.lastError ? ` (${t.lastError})` : ''}`,
    );
    return fail(name, `${down.length} of ${targets.length} not up: ${list.join('; ')}`);
  }
  const jobs = [...new Set(targets.map((t) => t.labels.job))].sort();
  return pass(name, `${targets.length} targets (${jobs.join(', ')})`);
}

interface RuleGroups {
  data: {
    groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[];
  };
}

/** Rule health from the rules API, and Prometheus' own failure counter from its /metrics. */
export async function checkRules(prometheusUrl: string): Promise<CheckResult[]> {
  const { data } = await json<RuleGroups>(`${prometheusUrl}/api/v1/rules`);
  const rules = data.groups.flatMap((g) => g.rules.map((r) => ({ ...r, group: g.name })));
  const broken = rules.filter((r) => r.health === 'err' || r.lastError);
  const unevaluated = rules.filter((r) => r.health === 'unknown').length;
  const health = broken.length
    ? fail(
        'no rule evaluation failed (rules API)',
        broken.map((r) => `${r.group}/${r.name}: ${r.lastError || r.health}`).join('; '),
      )
    : rules.length
      ? pass(
          'no rule evaluation failed (rules API)',
          `${rules.length} rules in ${data.groups.length} groups` +
            (unevaluated ? `, ${unevaluated} not evaluated yet` : ''),
        )
      : fail('no rule evaluation failed (rules API)', 'Prometheus has no rules loaded');
  const metrics = await (await call(`${prometheusUrl}/metrics`)).text();
  const failures = sumCounter(metrics, 'prometheus_rule_evaluation_failures_total');
  const counter =
    failures === 0
      ? pass('prometheus_rule_evaluation_failures_total is 0')
      : fail('prometheus_rule_evaluation_failures_total is 0', `it is ${failures}`);
  return [health, counter];
}

/** The sum of every series of a counter in Prometheus' text exposition format. */
export function sumCounter(exposition: string, metric: string): number {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith(`${metric}{`) || line.startsWith(`${metric} `))
    .reduce((sum, line) => sum + Number(line.trim().split(/\s+/).at(-1)), 0);
}

export async function checkAlertmanager(urls: StackUrls): Promise<CheckResult[]> {
  const status = await json<{ config?: { original?: string } }>(
    `${urls.alertmanager}/api/v2/status`,
  );
  const receivers = await json<{ name: string }[]>(`${urls.alertmanager}/api/v2/receivers`);
  const config = status.config?.original?.includes('route:')
    ? pass('Alertmanager has its config', `receivers: ${receivers.map((r) => r.name).join(', ')}`)
    : fail('Alertmanager has its config', 'api/v2/status shows no loaded configuration');
  const { data } = await json<{ data: { activeAlertmanagers: { url: string }[] } }>(
    `${urls.prometheus}/api/v1/alertmanagers`,
  );
  const active = data.activeAlertmanagers.map((a) => a.url);
  const linked = active.length
    ? pass('Prometheus sends alerts to Alertmanager', active.join(', '))
    : fail('Prometheus sends alerts to Alertmanager', 'no active Alertmanager in Prometheus');
  return [config, linked];
}

/** A trace id in Jaeger within `waitMs` (spans leave a service in batches, seconds later). */
async function traceInJaeger(jaegerUrl: string, ids: string[], waitMs: number): Promise<string> {
  return waitUntil(`a trace of ${ids.length} in Jaeger`, waitMs, async () => {
    for (const id of ids.slice(0, 20)) {
      const res = await fetch(`${jaegerUrl}/api/v3/traces/${id}`, {
        signal: AbortSignal.timeout(5_000),
      });
      if (res.ok) return id;
      if (res.status !== 404) throw new Error(`Jaeger answered ${res.status} for trace ${id}`);
    }
    return undefined;
  });
}

/**
 * The Python example service end to end: one run of its assistant (which calls the app's
 * OpenAI-compatible provider) is answered 201 with its trace id, and Jaeger holds that trace
 * (OTLP from Python through the Collector).
 */
export async function checkPythonAgent(urls: StackUrls, waitMs: number): Promise<CheckResult[]> {
  const name = 'python-agent answers a run, its trace in Jaeger';
  if (urls.absent.includes('pythonAgent')) return [skip(name, 'this stack runs no python-agent')];
  // A run takes the simulated model's latency, twice (a tool call, then the answer).
  const res = await fetch(`${urls.pythonAgent}/v1/agents/assistant/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: 'What is (12 + 30) * 2?', model: 'sim-small' }),
    signal: AbortSignal.timeout(30_000),
  });
  const run = (await res.json()) as { trace_id?: string };
  if (res.status !== 201 || !run.trace_id) {
    return [fail(name, `POST /v1/agents/assistant/runs: ${res.status} ${JSON.stringify(run)}`)];
  }
  try {
    const id = await traceInJaeger(urls.jaeger, [run.trace_id], waitMs);
    return [pass(name, `run 201, trace ${id} in Jaeger`)];
  } catch (err) {
    return [fail(name, `run 201, but ${(err as Error).message}`)];
  }
}

interface ExemplarSeries {
  exemplars: { labels: Record<string, string>; timestamp: number }[];
}

/**
 * Trace ids the app attached to its histograms as exemplars in the last 15 minutes, oldest
 * first: the newest may not have reached Jaeger yet, and older ones may have left its bounded
 * memory.
 */
export async function appTraceIds(prometheusUrl: string, sinceSeconds = 900): Promise<string[]> {
  const end = Date.now() / 1000;
  const query = new URLSearchParams({
    // The app's series: its job, from its services.yml entry.
    query: `{${demoSelector(loadServices(REPO_ROOT))}}`,
    start: String(end - sinceSeconds),
    end: String(end),
  });
  const { data } = await json<{ data: ExemplarSeries[] }>(
    `${prometheusUrl}/api/v1/query_exemplars?${query.toString()}`,
  );
  const ids = data
    .flatMap((s) => s.exemplars)
    .sort((a, b) => a.timestamp - b.timestamp)
    .flatMap((e) => Object.values(e.labels).filter((v) => /^[0-9a-f]{32}$/.test(v)));
  return [...new Set(ids)];
}

/**
 * Jaeger holds the app's traces: one of the traces the app linked from an exemplar can be read
 * back from Jaeger's query API. Spans reach Jaeger seconds after the request (batched in the
 * app and in the Collector), so this waits up to `waitMs` for one.
 */
export async function checkJaeger(urls: StackUrls, waitMs: number): Promise<CheckResult> {
  const name = "Jaeger holds the app's traces";
  const ids = await appTraceIds(urls.prometheus);
  if (!ids.length)
    return fail(
      name,
      'Prometheus holds no exemplar (trace id) from the app: send traffic first (make load)',
    );
  try {
    const found = await traceInJaeger(urls.jaeger, ids, waitMs);
    return pass(name, `trace ${found} (from an exemplar of the app's metrics)`);
  } catch (err) {
    return fail(
      name,
      `${(err as Error).message}; tried ${Math.min(ids.length, 20)} trace ids from the app's exemplars`,
    );
  }
}
