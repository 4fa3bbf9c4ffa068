// The host-metrics profile on the tests' Docker Engine (part of `make test-compose`): the node
// exporter and the two container exporters (docs/host-metrics.md) under `make up TIME_SCALE=60`,
// from a fresh user clone as stack.test.ts makes one. Every query of the "Containers and host"
// dashboard returns data; a container given a 16 MiB memory limit that allocates is OOM-killed
// and ContainerOOMKilled is delivered; a container that exits in a loop gets ContainerRestarting
// delivered; and what the exporters cost is measured with `docker stats` meanwhile.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PrometheusClient, ReceiverClient } from '../../scripts/lib/clients.ts';
import { waitUntil } from '../../scripts/lib/wait.ts';
import { loadCompose, oneShotServices } from '../lib/compose.ts';
import { panelQueries } from '../lib/panel-queries.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { DOCKER_CLIENT, docker, engineEnv, engineRuns } from './lib/engine.ts';
import { buildStandIns } from './lib/standins.ts';
import { containers, freePortEnv, notUp } from './lib/stack-state.ts';
import { finishClone, userClone, writeCloneEnv, type UserClone } from './lib/user-clone.ts';

const MINUTES = 60_000;
const EXPORTERS = ['node-exporter', 'container-exporter', 'container-events'];
const JOBS = ['node', 'containers', 'container-events'];
/** Containers this test starts beside the stack, from the busybox stand-in base. */
const OOM_VICTIM = 'hostview-oom';
const CRASH_LOOP = 'hostview-crash-loop';
const BUSYBOX = 'agent-observability/standin-base:busybox';
const ONE_SHOTS = [
  ...oneShotServices(
    loadCompose(
      readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'),
      new Map([['GRAFANA_ADMIN_PASSWORD', 'unused']]),
    ),
  ),
];

interface Fixture {
  clone: UserClone;
  ports: Record<string, number>;
  figures: string[];
  failed: boolean;
  stats: StatsSampler;
  /** Set once make up brought every service up: the other steps need it. */
  up: boolean;
}

const url = (f: Fixture, key: string) => `http://127.0.0.1:${f.ports[key]}`;
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(0);

const prometheus = (f: Fixture) => new PrometheusClient(url(f, 'PROMETHEUS_PORT'));

/** A firing alert of `container` the local receiver got, as `make alerts` lists them. */
async function deliveredFor(f: Fixture, alertname: string, container: string) {
  const alerts = await new ReceiverClient(url(f, 'ALERT_RECEIVER_PORT')).alerts(alertname);
  return alerts.find((a) => a.status === 'firing' && a.labels.container_name === container);
}

/** `docker stats` of the exporters every 5 s while the scenarios run: memory and CPU. */
class StatsSampler {
  readonly cpu = new Map<string, number[]>();
  readonly memory = new Map<string, string>();
  private running = true;
  private readonly done: Promise<void>;
  constructor() {
    const run = promisify(execFile);
    const env = { ...process.env, ...engineEnv() };
    const format = '{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}';
    this.done = (async () => {
      while (this.running) {
        const { stdout } = await run(DOCKER_CLIENT, ['stats', '--no-stream', '--format', format], {
          env,
        });
        for (const [name, cpu, mem] of stdout
          .trim()
          .split('\n')
          .map((l) => l.split('\t'))) {
          const service = EXPORTERS.find((e) => name.includes(`-${e}-`));
          if (!service) continue;
          this.cpu.set(service, [...(this.cpu.get(service) ?? []), Number.parseFloat(cpu)]);
          this.memory.set(service, mem.split('/')[0].trim());
        }
        await new Promise((r) => setTimeout(r, 5000));
      }
    })();
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

function hostMetricsFixture(): Fixture {
  const f = { figures: [] } as unknown as Fixture;
  before(async function () {
    this.timeout(30 * MINUTES);
    assert.ok(engineRuns(), 'the test engine is not running: make test-compose starts it');
    buildStandIns((line) => console.log(`      stand-in ${line}`));
    f.clone = userClone();
    f.ports = await freePortEnv();
    // The profile on, and the socket of the tests' engine (not /var/run/docker.sock).
    const socket = engineEnv().DOCKER_HOST.replace(/^unix:\/\//, '');
    const env = { ...f.ports, COMPOSE_PROFILES: 'host-metrics', DOCKER_SOCKET: socket };
    writeCloneEnv(f.clone, env);
  });
  beforeEach(function () {
    if (this.currentTest?.title.startsWith('make up')) return;
    assert.ok(f.up, 'the stack is not up (the first step failed)');
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') f.failed = true;
  });
  after(async function () {
    this.timeout(5 * MINUTES);
    await f.stats?.stop();
    for (const name of [OOM_VICTIM, CRASH_LOOP]) {
      try {
        docker(['rm', '--force', name]);
      } catch {
        // never started
      }
    }
    await finishClone(f, 3);
  });
  return f;
}

async function upWithProfile(f: Fixture): Promise<void> {
  const run = await f.clone.make(['up', 'TIME_SCALE=60'], 10 * MINUTES);
  assert.equal(run.status, 0, run.output.split('\n').slice(-60).join('\n'));
  const states = containers();
  assert.deepEqual(notUp(states, ONE_SHOTS), [], 'services not up after make up');
  for (const e of EXPORTERS)
    assert.ok(
      states.some((c) => c.service === e),
      `${e} not started`,
    );
  f.figures.push(`make up TIME_SCALE=60 with host-metrics: every service up in ${run.seconds} s`);
  f.up = true;
  f.stats = new StatsSampler();
  // Prometheus finds them by DNS (at start, then every 30 s).
  const t0 = Date.now();
  await waitUntil(
    'the exporters scraped and up',
    90_000,
    async () => {
      const up = await prometheus(f).query(`up{job=~"${JOBS.join('|')}"} == 1`);
      return new Set(up.map((r) => r.metric.job)).size === JOBS.length ? true : undefined;
    },
    2000,
  );
  f.figures.push(`jobs ${JOBS.join(', ')} up ${seconds(t0)} s after make up`);
}

async function dashboardHasData(f: Fixture): Promise<void> {
  const queries = panelQueries({ scrapeIntervalSeconds: 1 }).filter(
    (q) => q.dashboard === 'agent-containers-host',
  );
  assert.ok(queries.length >= 12, `${queries.length} queries`);
  const empty = async () => {
    const out: string[] = [];
    for (const q of queries)
      if ((await prometheus(f).query(q.expanded)).length === 0) out.push(`${q.panel} [${q.refId}]`);
    return out;
  };
  await waitUntil('every panel query with data', 60_000, async () =>
    (await empty()).length === 0 ? true : undefined,
  ).catch(async (err: Error) => assert.fail(`${err.message}: ${(await empty()).join(', ')}`));
  f.figures.push(`Containers and host: all ${queries.length} panel queries returned data`);
}

async function oomKillDelivered(f: Fixture): Promise<void> {
  // `tail` keeps the whole of /dev/zero's one endless line: it allocates until the limit. It
  // starts 3 s in, so that Prometheus has seen the container's OOM counter at 0 first.
  const limit = ['--memory', '16m', '--memory-swap', '16m'];
  const command = ['--entrypoint', 'sh', BUSYBOX, '-c', 'sleep 3; tail /dev/zero'];
  docker(['run', '--detach', '--name', OOM_VICTIM, ...limit, ...command]);
  const t0 = Date.now();
  const state = await waitUntil('the container to exit', 60_000, async () => {
    const [c] = JSON.parse(docker(['inspect', OOM_VICTIM])) as {
      State: { OOMKilled: boolean; Status: string; ExitCode: number };
    }[];
    return c.State.Status === 'exited' ? c.State : undefined;
  });
  assert.ok(state.OOMKilled, `exited ${state.ExitCode}, not OOM-killed`);
  const alert = await waitUntil('ContainerOOMKilled at the receiver', 2 * MINUTES, () =>
    deliveredFor(f, 'ContainerOOMKilled', OOM_VICTIM),
  );
  assert.equal(alert.labels.severity, 'warning');
  f.figures.push(
    `OOM kill (exit ${state.ExitCode}) → ContainerOOMKilled delivered to ${alert.receiver} in ${seconds(t0)} s`,
  );
}

async function crashLoopDelivered(f: Fixture): Promise<void> {
  const command = ['--entrypoint', 'sh', BUSYBOX, '-c', 'sleep 1; exit 3'];
  docker(['run', '--detach', '--name', CRASH_LOOP, '--restart', 'always', ...command]);
  const t0 = Date.now();
  const alert = await waitUntil('ContainerRestarting at the receiver', 3 * MINUTES, () =>
    deliveredFor(f, 'ContainerRestarting', CRASH_LOOP),
  );
  const [c] = JSON.parse(docker(['inspect', CRASH_LOOP])) as { RestartCount: number }[];
  f.figures.push(
    `exit in a loop → ContainerRestarting delivered to ${alert.receiver} in ${seconds(t0)} s (${c.RestartCount} restarts by then)`,
  );
  docker(['rm', '--force', CRASH_LOOP]);
}

/** What the exporters cost: `docker stats` over the scenarios, and the series they add. */
async function exporterCost(f: Fixture): Promise<void> {
  // At least six samples (half a minute) of each, however fast the scenarios were.
  await waitUntil('six docker stats samples', 90_000, async () =>
    EXPORTERS.every((e) => (f.stats.cpu.get(e)?.length ?? 0) >= 6) ? true : undefined,
  );
  await f.stats.stop();
  for (const service of EXPORTERS) {
    const cpu = f.stats.cpu.get(service) ?? [];
    assert.ok(cpu.length > 0, `no docker stats of ${service}`);
    const perMinute = (cpu.reduce((a, b) => a + b, 0) / cpu.length / 100) * 60;
    f.figures.push(
      `${service}: memory ${f.stats.memory.get(service)}, CPU ${perMinute.toFixed(2)} s/min (docker stats, ${cpu.length} samples; time-scaled: scraped every second)`,
    );
  }
  const series = await prometheus(f).query(`count by (job) ({job=~"${JOBS.join('|')}"})`);
  const list = series.map((r) => `${r.metric.job} ${r.value[1]}`).join(', ');
  f.figures.push(`series of the exporters: ${list} (${containers().length} containers)`);
}

describe('the host-metrics profile on a Docker Engine (make test-compose)', function () {
  this.timeout(15 * MINUTES);
  const f = hostMetricsFixture();

  it('make up TIME_SCALE=60 with COMPOSE_PROFILES=host-metrics: the exporters up and scraped', () =>
    upWithProfile(f));
  it('every query of the Containers and host dashboard returns data', () => dashboardHasData(f));
  it('a container with a 16 MiB limit that allocates is OOM-killed: ContainerOOMKilled delivered', () =>
    oomKillDelivered(f));
  it('a container that exits in a loop: ContainerRestarting delivered', () =>
    crashLoopDelivered(f));
  it('what the exporters cost: docker stats while the scenarios ran, series added', () =>
    exporterCost(f));
});
