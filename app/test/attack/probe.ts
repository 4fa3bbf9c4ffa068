// The legitimate client of the attack suite: from 127.0.0.1, a new connection per request (as
// a new client would come, so a full listener shows), a GET /v1/agents every 25 ms and a run
// every 500 ms, each with PROBE_KEY. It records what was answered and how fast. It runs on a
// worker thread of its own: the attacks run on the test's main thread, and a probe sharing
// their event loop would time the attacker's work as the service's latency.
import { request, type RequestOptions } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { PROBE_ADDRESS, PROBE_KEY } from './settings';

export interface ProbeStats {
  sent: number;
  answered: number;
  /** answered / sent. */
  share: number;
  /** 95th percentile of the answered requests' latency, ms. */
  p95Ms: number;
  failures: string[];
}

interface Outcome {
  ok: boolean;
  ms: number;
  detail: string;
}

const GET_EVERY_MS = 25;
const RUN_EVERY_MS = 500;
const PROBE_TIMEOUT_MS = 5_000;

/** One request on its own connection: ok when answered with `expected` within the timeout. */
export function probeOnce(
  url: string,
  options: RequestOptions & { body?: string; expected: number },
): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (ok: boolean, detail: string) =>
      resolve({ ok, ms: performance.now() - started, detail });
    const req = request(url, { agent: false, localAddress: PROBE_ADDRESS, ...options }, (res) => {
      res.resume();
      res.once('end', () =>
        done(res.statusCode === options.expected, `${options.method} ${res.statusCode}`),
      );
      res.once('error', (error) => done(false, error.message));
    });
    req.setTimeout(PROBE_TIMEOUT_MS, () => req.destroy(new Error('no answer in time')));
    req.once('error', (error) => done(false, `${options.method} ${error.message}`));
    req.end(options.body);
  });
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function summarise(outcomes: Outcome[]): ProbeStats {
  const answered = outcomes.filter((o) => o.ok);
  return {
    sent: outcomes.length,
    answered: answered.length,
    share: outcomes.length === 0 ? NaN : answered.length / outcomes.length,
    p95Ms: percentile(
      answered.map((o) => o.ms),
      95,
    ),
    failures: [...new Set(outcomes.filter((o) => !o.ok).map((o) => o.detail))],
  };
}

export interface ProbeResult {
  list: ProbeStats;
  run: ProbeStats;
}

/** Probes `baseUrl` until stop() is called; the stats are split by kind (list, run). */
class Probe {
  private readonly lists: Outcome[] = [];
  private readonly runs: Outcome[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[];

  constructor(private readonly baseUrl: string) {
    this.loops = [
      this.loop(GET_EVERY_MS, () => this.list()),
      this.loop(RUN_EVERY_MS, () => this.run()),
    ];
  }

  async stop(): Promise<ProbeResult> {
    this.stopped = true;
    await Promise.all(this.loops);
    return { list: summarise(this.lists), run: summarise(this.runs) };
  }

  private async loop(everyMs: number, once: () => Promise<void>): Promise<void> {
    const pending: Promise<void>[] = [];
    while (!this.stopped) {
      pending.push(once());
      await sleep(everyMs);
    }
    await Promise.all(pending);
  }

  private async list(): Promise<void> {
    const outcome = await probeOnce(`${this.baseUrl}/v1/agents`, {
      method: 'GET',
      headers: { 'x-api-key': PROBE_KEY },
      expected: 200,
    });
    this.lists.push(outcome);
  }

  private async run(): Promise<void> {
    const outcome = await probeOnce(`${this.baseUrl}/v1/agents/support/runs`, {
      method: 'POST',
      headers: { 'x-api-key': PROBE_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ input: `probe run ${Math.random()}`, model: 'sim-small' }),
      expected: 201,
    });
    this.runs.push(outcome);
  }
}

/** Starts probing `baseUrl` on a worker thread, once it runs; stop() ends it with its figures. */
export async function startProbe(baseUrl: string): Promise<{ stop(): Promise<ProbeResult> }> {
  const worker = new Worker(__filename, { workerData: { baseUrl } });
  const messages: unknown[] = [];
  const waiters: ((message: unknown) => void)[] = [];
  worker.on('message', (message: unknown) => {
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else messages.push(message);
  });
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      if (messages.length > 0) resolve(messages.shift());
      else waiters.push(resolve);
      worker.once('error', reject);
    });
  await next(); // 'probing'
  return {
    stop: async () => {
      worker.postMessage('stop');
      const figures = (await next()) as ProbeResult;
      await worker.terminate();
      return figures;
    },
  };
}

/** Probes for `ms` with nothing else going on: the latency an attack is compared with. */
export async function probeFor(baseUrl: string, ms: number): Promise<ProbeResult> {
  const probe = await startProbe(baseUrl);
  await sleep(ms);
  return probe.stop();
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const probe = new Probe((workerData as { baseUrl: string }).baseUrl);
  port.postMessage('probing');
  port.once('message', () => void probe.stop().then((figures) => port.postMessage(figures)));
}
