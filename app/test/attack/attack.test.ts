// One hostile client at a time against the service as a process (`node --require
// instrument.js server.js`, OTLP to a local sink): while each attack runs, a legitimate client
// on another address with another key keeps getting ≥ 95 % of its requests answered with a p95
// within 3 × its no-attack baseline; afterwards no attacker connection, run in progress, extra
// socket or memory is left. `make test` runs it with a tenth of the slow-client timeouts,
// `make test-attack` at the defaults (settings.ts). The limits: docs/operations.md.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startService, type RunningService } from '../support/child';
import { flood, hangUpRuns, holdConnections, slowBodies, type Attack } from './attacks';
import {
  assertRecovered,
  assertServed,
  BURST_P95_MS,
  attackerConnectionsAfter,
  baseline,
  probed,
  report,
  runsInProgress,
  storedRunOverlap,
} from './measure';
import { startOtlpSink } from './sink';
import { AT_DEFAULTS, ATTACK_KEY, DEFAULTS, serviceEnv, TIMEOUTS } from './settings';
import { total } from './sockets';

const BASELINE_MS = AT_DEFAULTS ? 5_000 : 1_500;
const ATTACK_MS = AT_DEFAULTS ? 10_000 : 2_500;
// How long the probe goes on once the attacker's connections are gone.
const AFTER_MS = AT_DEFAULTS ? 3_000 : 2_000;

/** The service under attack: its process and the directory of its database. */
interface Target {
  service: RunningService;
  dataDir: string;
}

/** MAX_CONNECTIONS sockets that never finish their headers (`dripMs`: a header line every so often). */
async function connectionExhaustion(t: Target, name: string, dripMs?: number): Promise<void> {
  const { service } = t;
  const base = await baseline(service, BASELINE_MS);
  let attack: Awaited<ReturnType<typeof holdConnections>> | undefined;
  let left = new Map<string, number>();
  const during = await probed(service, async () => {
    attack = await holdConnections(service.url, DEFAULTS.maxConnections, dripMs);
    await sleep(TIMEOUTS.headersMs + 2_000);
    left = await attackerConnectionsAfter(service, 0);
  });
  const after = await probed(service, () => sleep(AFTER_MS));
  await attack?.stop();
  report(name, { ...attack?.summary(), left: Object.fromEntries(left), during, after });
  assert.equal(total(left), 0, `attacker connections left: ${JSON.stringify([...left])}`);
  assertServed('during, list', during.list, base.list, BURST_P95_MS);
  assertServed('during, run', during.run, base.run);
  assertServed('after, list', after.list, base.list);
  assertServed('after, run', after.run, base.run);
  await assertRecovered(service, base);
}

/** Runs whose client hangs up 150 ms after asking, 40 a second. */
async function hangUps(t: Target): Promise<void> {
  const { service } = t;
  const base = await baseline(service, BASELINE_MS);
  const since = Date.now();
  const seen: number[] = [];
  const attack = hangUpRuns(service.url, ATTACK_KEY, {
    perSecond: 40,
    hangUpMs: 150,
    agent: 'research',
  });
  const during = await probed(service, async () => {
    for (const end = performance.now() + ATTACK_MS; performance.now() < end;) {
      seen.push(await runsInProgress(service));
      await sleep(250);
    }
    await attack.stop();
  });
  await sleep(1_000);
  const stored = storedRunOverlap(t.dataDir, since);
  report('hang-up runs', {
    ...attack.summary(),
    mostInProgress: Math.max(...seen),
    stored,
    during,
  });
  await assertRecovered(service, base);
  assert.ok(Math.max(...seen) <= DEFAULTS.maxConcurrentRuns, `in progress: ${seen.join(' ')}`);
  assert.ok(stored.most <= DEFAULTS.maxConcurrentRuns, `stored runs overlap: ${stored.most}`);
  assertServed('list', during.list, base.list);
  assertServed('run', during.run, base.run);
}

/** An attack that runs for ATTACK_MS while the probe asks; its figures are reported. */
async function sustained(t: Target, name: string, start: () => Promise<Attack>): Promise<void> {
  const { service } = t;
  const base = await baseline(service, BASELINE_MS);
  const attack = await start();
  const during = await probed(service, async () => {
    await sleep(ATTACK_MS);
    await attack.stop();
  });
  report(name, { ...attack.summary(), during });
  assertServed('list', during.list, base.list);
  assertServed('run', during.run, base.run);
  assert.equal(total(await attackerConnectionsAfter(service, 2_000)), 0);
  await assertRecovered(service, base);
}

describe('one hostile client at a time', function () {
  this.timeout(AT_DEFAULTS ? 120_000 : 60_000);
  let otlp: Awaited<ReturnType<typeof startOtlpSink>>;
  const t = {} as Target;
  before(async () => {
    otlp = await startOtlpSink();
    t.dataDir = mkdtempSync(join(tmpdir(), 'agent-service-attack-'));
    t.service = await startService({ ...serviceEnv(otlp.url), DATA_DIR: t.dataDir });
    await baseline(t.service, 1_000);
  });
  after(async () => {
    await t.service?.stop();
    await otlp?.close();
    rmSync(t.dataDir, { recursive: true, force: true });
  });

  const gone = 'never finish their headers are all gone at headersTimeout + 2 s';
  it(`slowloris: MAX_CONNECTIONS sockets that ${gone}`, () => connectionExhaustion(t, 'slowloris'));
  it(`drip-fed slowloris: MAX_CONNECTIONS sockets that ${gone}`, () =>
    connectionExhaustion(t, 'drip-fed slowloris', 500));
  it('hang-up runs: the runs of clients that hung up stop, and never exceed the cap', () =>
    hangUps(t));
  it('a /metrics flood (133 a second on 32 connections) leaves the API its latency', () =>
    sustained(t, '/metrics flood', () =>
      flood(t.service.managementUrl, '/metrics', { connections: 32, perSecond: 133 }),
    ));
  it('slow bodies from one key hold no run slot: other keys keep running', () =>
    sustained(t, 'slow bodies', async () =>
      slowBodies(t.service.url, ATTACK_KEY, { perSecond: 40, dripMs: 500 }),
    ));
});
