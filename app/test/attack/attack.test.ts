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
import { flood, hangUpRuns, holdConnections, slowBodies } from './attacks';
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

const BASELINE_MS = AT_DEFAULTS ? 5_000 : 2_000;
const ATTACK_MS = AT_DEFAULTS ? 10_000 : 3_000;

describe('one hostile client at a time', function () {
  this.timeout(AT_DEFAULTS ? 120_000 : 60_000);
  let otlp: Awaited<ReturnType<typeof startOtlpSink>>;
  let service: RunningService;
  let dataDir: string;
  before(async () => {
    otlp = await startOtlpSink();
    dataDir = mkdtempSync(join(tmpdir(), 'agent-service-attack-'));
    service = await startService({ ...serviceEnv(otlp.url), DATA_DIR: dataDir });
    await baseline(service, 1_000);
  });
  after(async () => {
    await service?.stop();
    await otlp?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const drip of [undefined, 500]) {
    const name = drip ? 'drip-fed slowloris' : 'slowloris';
    it(`${name}: MAX_CONNECTIONS sockets that never finish their headers are all gone at headersTimeout + 2 s`, async () => {
      const base = await baseline(service, BASELINE_MS);
      let attack: Awaited<ReturnType<typeof holdConnections>> | undefined;
      let left = new Map<string, number>();
      const during = await probed(service, async () => {
        attack = await holdConnections(service.url, DEFAULTS.maxConnections, drip);
        await sleep(TIMEOUTS.headersMs + 2_000);
        left = await attackerConnectionsAfter(service, 0);
      });
      const after = await probed(service, () => sleep(3_000));
      await attack?.stop();
      report(name, { ...attack?.summary(), left: Object.fromEntries(left), during, after });
      assert.equal(total(left), 0, `attacker connections left: ${JSON.stringify([...left])}`);
      assertServed('during, list', during.list, base.list, BURST_P95_MS);
      assertServed('during, run', during.run, base.run);
      assertServed('after, list', after.list, base.list);
      assertServed('after, run', after.run, base.run);
      await assertRecovered(service, base);
    });
  }

  it('hang-up runs: the runs of clients that hung up stop, and never exceed the cap', async () => {
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
    const stored = storedRunOverlap(dataDir, since);
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
  });

  it('a /metrics flood (133 a second on 32 connections) leaves the API its latency', async () => {
    const base = await baseline(service, BASELINE_MS);
    const attack = await flood(service.managementUrl, '/metrics', {
      connections: 32,
      perSecond: 133,
    });
    const during = await probed(service, async () => {
      await sleep(ATTACK_MS);
      await attack.stop();
    });
    report('/metrics flood', { ...attack.summary(), during });
    assertServed('list', during.list, base.list);
    assertServed('run', during.run, base.run);
    await assertRecovered(service, base);
  });

  it('slow bodies from one key hold no run slot: other keys keep running', async () => {
    const base = await baseline(service, BASELINE_MS);
    const attack = slowBodies(service.url, ATTACK_KEY, { perSecond: 40, dripMs: 500 });
    const during = await probed(service, async () => {
      await sleep(ATTACK_MS);
      await attack.stop();
    });
    report('slow bodies', { ...attack.summary(), during });
    assertServed('list', during.list, base.list);
    assertServed('run', during.run, base.run);
    assert.equal(total(await attackerConnectionsAfter(service, 2_000)), 0);
    await assertRecovered(service, base);
  });
});
