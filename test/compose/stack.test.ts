// `make test-compose`: the README's Docker path, run for real on the tests' own Docker Engine
// (scripts/tools/engine.sh) with Compose v5 and stand-in images of every upstream image
// (test/compose/lib/standins.ts; Grafana is a PLACEHOLDER answering /api/health and /metrics
// only). From a fresh copy of the clone, as a non-root member of the docker group, under
// umask 077, with no node, npm or npx on PATH, one step after the other as a user would.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PrometheusClient } from '../../scripts/lib/clients.ts';
import { appTraceIds } from '../../scripts/lib/smoke/stack-checks.ts';
import { waitUntil } from '../../scripts/lib/wait.ts';
import { loadCompose, oneShotServices } from '../lib/compose.ts';
import { JaegerClient } from '../lib/jaeger-client.ts';
import { VictoriaLogsClient, logsqlString } from '../lib/victorialogs.ts';
import { docker, engineRuns } from './lib/engine.ts';
import { buildStandIns } from './lib/standins.ts';
import {
  apiKeyOf,
  bridgeGateway,
  getAgentsFrom,
  getAgentsFromContainer,
  holdIdle,
  peersInside,
} from './lib/published-port.ts';
import { binds, containers, freePortEnv, notUp, projectVolumes } from './lib/stack-state.ts';
import { scrape, total } from '../lib/prometheus-text.ts';
import {
  finishClone,
  userClone,
  writeCloneEnv,
  type MakeRun,
  type UserClone,
} from './lib/user-clone.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

/** Services others wait for with service_completed_successfully: exited 0 is their "up". */
let oneShots: string[] | undefined;
const ONE_SHOTS = (): string[] =>
  (oneShots ??= [
    ...oneShotServices(
      loadCompose(
        readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'),
        new Map([['GRAFANA_ADMIN_PASSWORD', 'unused']]),
      ),
    ),
  ]);
const MINUTES = 60_000;
const PYTHON_AGENT = 'python-agent';

interface Fixture {
  clone: UserClone;
  ports: Record<string, number>;
  /** Printed after the suite: the figures a report needs. */
  figures: string[];
  /** A step failed: the clone and make's logs are kept. */
  failed: boolean;
}

const url = (f: Fixture, key: string) => `http://127.0.0.1:${f.ports[key]}`;

function lastLines(run: MakeRun, n = 60): string {
  return run.output.split('\n').slice(-n).join('\n');
}

/** `make ARGS` as the user; fails the test with make's last lines unless it exits 0. */
async function make(f: Fixture, args: string[], timeoutMs = 10 * MINUTES): Promise<MakeRun> {
  const run = await f.clone.make(args, timeoutMs);
  assert.equal(run.status, 0, `make ${args.join(' ')} exited ${run.status}:\n${lastLines(run)}`);
  return run;
}

/** `make up` (with ARGS), then every service healthy and every one-shot done. */
async function up(f: Fixture, label: string, args: string[] = []): Promise<void> {
  const run = await make(f, ['up', ...args]);
  assert.deepEqual(notUp(containers(), ONE_SHOTS()), [], 'services not up after make up');
  f.figures.push(
    `${label}: make up ${args.join(' ')} → every service healthy in ${run.seconds.toFixed(0)} s`,
  );
}

function stackFixture(): Fixture {
  const f = { figures: [] } as unknown as Fixture;
  before(async function () {
    this.timeout(30 * MINUTES);
    if (!engineRuns()) {
      assert.fail(
        'the test engine is not running: make test-compose starts it (scripts/tools/engine.sh start, as root)',
      );
    }
    const t0 = Date.now();
    const built = buildStandIns((line) => console.log(`      stand-in ${line}`));
    const n = built.filter((b) => !b.cached).length;
    f.figures.push(
      `stand-in images: ${n} built, ${built.length - n} cached, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    f.clone = userClone();
    f.ports = await freePortEnv();
    writeCloneEnv(f.clone, f.ports);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') f.failed = true;
  });
  after(async function () {
    this.timeout(5 * MINUTES);
    await finishClone(f, 3);
  });
  return f;
}

describe('the compose stack on a Docker Engine (make test-compose)', function () {
  this.timeout(15 * MINUTES);
  const f = stackFixture();

  it('make up: every service healthy, the one-shot alertmanager-config done', () =>
    up(f, 'first start (images built)'));

  it('the /in/rendered bind keeps its SELinux label: mode z in HostConfig.Binds', () => {
    const rendered = binds('alertmanager-config').find((b) => b.split(':')[1] === '/in/rendered');
    assert.ok(
      rendered,
      `no /in/rendered among the binds: ${binds('alertmanager-config').join(', ')}`,
    );
    assert.ok(rendered.split(':')[2]?.split(',').includes('z'), `no z in ${rendered}`);
  });

  it('make smoke: every check but Grafana passes; Grafana (placeholder) answers /api/health', () =>
    smokeAgainstPlaceholder(f));

  it('make load: one trace id in Prometheus (exemplar), Jaeger (trace) and VictoriaLogs (logs)', () =>
    loadFindsOneTraceEverywhere(f));

  it('the Python service, through its published port: its run in Jaeger, VictoriaLogs and Prometheus (OTLP)', () =>
    pythonRunFoundEverywhere(f));

  it("the Python service's probe, from its services.yml entry (file discovery): probe_success 1", () =>
    pythonProbeSucceeds(f));

  it('through the published port every host client is the bridge gateway: one per-address cap for the host, none taken from containers', () =>
    perAddressCapThroughPublishedPort(f));

  it('the app image runs node alone: no npm, npx, corepack or yarn in it', () =>
    appImageHasNoPackageManager(f));

  it('make restart SERVICE=alertmanager: the config copied again, Alertmanager healthy', async () => {
    await make(f, ['restart', 'SERVICE=alertmanager']);
    await waitHealthy('alertmanager');
  });

  it('a silence created before make down + make up is still there after', () => silenceSurvives(f));

  it('make up TIME_SCALE=60, then make alert-errors: fires, is delivered, resolves', async () => {
    await up(f, 'time-scaled start', ['TIME_SCALE=60']);
    const run = await make(f, ['alert-errors']);
    f.figures.push(`make alert-errors (TIME_SCALE=60): ${run.seconds.toFixed(0)} s`);
    for (const line of run.output.split('\n').filter((l) => /fir|deliver|resolv/i.test(l)))
      f.figures.push(`  ${line.trim()}`);
  });

  it('make alert-service-down stops and starts the app container', async () => {
    const started = () => containers().find((c) => c.service === 'app')?.startedAt;
    const before = started();
    const run = await make(f, ['alert-service-down']);
    await waitHealthy('app');
    assert.notEqual(started(), before, "the app's container was not started again");
    f.figures.push(`make alert-service-down (TIME_SCALE=60): ${run.seconds.toFixed(0)} s`);
  });

  it('make clean removes the volumes; make up after it is healthy again', async () => {
    await make(f, ['clean']);
    assert.deepEqual(projectVolumes(), [], 'volumes left after make clean');
    await up(f, 'after make clean');
  });
});

async function waitHealthy(service: string): Promise<void> {
  await waitUntil(
    `${service} healthy`,
    2 * MINUTES,
    async () => containers().some((c) => c.service === service && c.health === 'healthy'),
    1000,
  );
}

/**
 * The placeholder answers /api/health only: smoke's other Grafana checks must fail against it
 * (nothing pretends to be Grafana), and every other check must pass.
 */
async function smokeAgainstPlaceholder(f: Fixture): Promise<void> {
  const run = await f.clone.make(['smoke'], 5 * MINUTES);
  const lines = run.output.split('\n').filter((l) => /^\s*(PASS|FAIL|SKIP)\b/.test(l));
  assert.ok(lines.length > 5, `make smoke printed no checks:\n${lastLines(run)}`);
  const failed = lines.filter((l) => /^\s*FAIL\b/.test(l));
  const notGrafana = failed.filter((l) => !/Grafana/i.test(l));
  assert.deepEqual(notGrafana, [], `make smoke failed outside Grafana:\n${lastLines(run)}`);
  assert.ok(
    lines.some((l) => /PASS.*service grafana healthy/.test(l)),
    'Grafana (placeholder) not healthy',
  );
  const passed = lines.length - failed.length;
  f.figures.push(
    `make smoke: ${passed} checks pass; Grafana: placeholder, only its /api/health checked (${failed.length} Grafana API checks fail against it, as they must)`,
  );
}

async function loadFindsOneTraceEverywhere(f: Fixture): Promise<void> {
  const t0 = Date.now();
  await make(f, ['load', 'DURATION=20']);
  const ids = await appTraceIds(url(f, 'PROMETHEUS_PORT'), 300);
  assert.ok(ids.length, 'Prometheus holds no exemplar of the app after make load');
  const jaeger = new JaegerClient(url(f, 'JAEGER_PORT'));
  const logs = new VictoriaLogsClient(url(f, 'VICTORIALOGS_PORT'));
  const id = await waitUntil(
    'a trace id of an exemplar in Jaeger and in VictoriaLogs',
    60_000,
    async () => {
      for (const candidate of ids) {
        const spans = await jaeger.trace(candidate);
        if (!spans?.length) continue;
        const rows = await logs.query(`trace_id:${logsqlString(candidate)}`, 10);
        if (rows.length) return candidate;
      }
      return undefined;
    },
    2000,
  );
  f.figures.push(
    `make load: trace ${id} found in Prometheus, Jaeger and VictoriaLogs (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
  );
}

/**
 * One run of the Python example service (OTLP only): its trace in Jaeger, its log records in
 * VictoriaLogs by that trace id, and its GenAI token histogram in Prometheus, pushed through the
 * Collector's OTLP metrics pipeline into Prometheus' OTLP receiver (job = its service name).
 */
async function pythonRunFoundEverywhere(f: Fixture): Promise<void> {
  const t0 = Date.now();
  const res = await fetch(`${url(f, 'PYTHON_AGENT_PORT')}/v1/agents/assistant/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: 'What is (12 + 30) * 2?', model: 'sim-small' }),
    signal: AbortSignal.timeout(30_000),
  });
  const run = (await res.json()) as { trace_id?: string };
  assert.equal(res.status, 201, JSON.stringify(run));
  const traceId = String(run.trace_id);
  assert.match(traceId, /^[0-9a-f]{32}$/, 'the run names its trace id');
  const jaeger = new JaegerClient(url(f, 'JAEGER_PORT'));
  const spans = await waitUntil(
    `trace ${traceId} with its chat spans in Jaeger`,
    60_000,
    async () => {
      const found = await jaeger.trace(traceId);
      return found?.some((s) => s.name.startsWith('chat ')) ? found : undefined;
    },
    2000,
  );
  assert.deepEqual([...new Set(spans.map((s) => s.service))], [PYTHON_AGENT]);
  const logs = new VictoriaLogsClient(url(f, 'VICTORIALOGS_PORT'));
  await waitUntil(
    `log records of trace ${traceId} in VictoriaLogs`,
    60_000,
    async () => {
      const rows = await logs.query(`trace_id:${logsqlString(traceId)}`, 10);
      return rows.some((r) => r['service.name'] === PYTHON_AGENT) || undefined;
    },
    2000,
  );
  const prom = new PrometheusClient(url(f, 'PROMETHEUS_PORT'));
  const tokens = `gen_ai_client_token_usage_count{service_name="${PYTHON_AGENT}"}`;
  // Metrics leave the service every 15 s (OTEL_METRIC_EXPORT_INTERVAL in compose).
  const jobs = await waitUntil(
    `${tokens} in Prometheus`,
    90_000,
    async () => {
      const series = await prom.query(`sum by (job) (${tokens})`);
      return series.some((s) => Number(s.value[1]) > 0)
        ? series.map((s) => s.metric.job)
        : undefined;
    },
    2000,
  );
  assert.deepEqual(jobs, [PYTHON_AGENT], 'pushed over OTLP (job = service.name), not scraped');
  f.figures.push(
    `python-agent: run ${traceId} found in Jaeger, VictoriaLogs and Prometheus (${tokens}) in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
}

/** The blackbox job probes it from prometheus/targets/probes/, as `make services` wrote it. */
async function pythonProbeSucceeds(f: Fixture): Promise<void> {
  const prom = new PrometheusClient(url(f, 'PROMETHEUS_PORT'));
  const probe = `probe_success{job="blackbox", service_name="${PYTHON_AGENT}"}`;
  const instances = await waitUntil(
    `${probe} == 1 in Prometheus`,
    60_000,
    async () => {
      const series = await prom.query(`${probe} == 1`);
      return series.length ? series.map((s) => s.metric.instance) : undefined;
    },
    2000,
  );
  assert.deepEqual(instances, [`http://${PYTHON_AGENT}:8010/health/ready`]);
}

async function silenceSurvives(f: Fixture): Promise<void> {
  const am = () => url(f, 'ALERTMANAGER_PORT');
  const now = Date.now();
  const res = await fetch(`${am()}/api/v2/silences`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      matchers: [{ name: 'alertname', value: 'ComposeTestSilence', isRegex: false, isEqual: true }],
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      createdBy: 'make test-compose',
      comment: 'must survive make down + make up',
    }),
  });
  const created = await res.text();
  assert.equal(res.status, 200, created);
  const { silenceID } = JSON.parse(created) as { silenceID: string };
  await make(f, ['down']);
  await up(f, 'restart after make down');
  const after = await fetch(`${am()}/api/v2/silence/${silenceID}`);
  assert.equal(after.status, 200, `silence ${silenceID} gone after make down + make up`);
  const body = (await after.json()) as { status: { state: string } };
  assert.equal(body.status.state, 'active');
}

// The app's default MAX_CONNECTIONS_PER_ADDRESS (docker-compose.yml does not set it).
const PER_ADDRESS_CAP = 256;
const EXTRA = 64;

async function refusedPerAddress(f: Fixture): Promise<number> {
  const samples = await scrape(`${url(f, 'APP_MANAGEMENT_PORT')}/metrics`);
  return total(samples, 'http_connections_refused_total', { reason: 'per_address' }) ?? 0;
}

/**
 * Host clients reach the app through Docker's port publishing, which connects from the bridge
 * gateway: the app sees every one of them at that address, so one host client holding the cap
 * leaves none for another host address (127.0.0.2 here), while a container on the network has
 * an address, and a cap, of its own (docs/docker.md, "Client addresses").
 */
async function perAddressCapThroughPublishedPort(f: Fixture): Promise<void> {
  const key = apiKeyOf(f.clone.repo);
  const api = url(f, 'APP_PORT');
  const before = await refusedPerAddress(f);
  const held = await holdIdle(f.ports.APP_PORT!, PER_ADDRESS_CAP + EXTRA, PER_ADDRESS_CAP);
  try {
    const gateway = bridgeGateway();
    const peers = peersInside('app', 8000);
    // Containers (the synthetic probe) come from addresses of their own; no host address shows.
    const seen = JSON.stringify([...peers]);
    assert.ok(![...peers.keys()].some((a) => a.startsWith('127.')), `a loopback peer: ${seen}`);
    assert.equal(peers.get(gateway), PER_ADDRESS_CAP, `the app's peers: ${seen}`);
    assert.equal(held.open(), PER_ADDRESS_CAP, 'host connections left open by the proxy');
    const otherHost = await getAgentsFrom(api, key, '127.0.0.2');
    assert.notEqual(otherHost, '200', 'another host address was served: not one address?');
    assert.equal(getAgentsFromContainer(PYTHON_AGENT, key), '200', 'a container was refused');
    // /metrics is rendered at most once a second (METRICS_CACHE_MS).
    await waitUntil('the refusals counted', 10_000, async () =>
      (await refusedPerAddress(f)) - before >= EXTRA + 1 ? true : undefined,
    );
    f.figures.push(
      `published port: the app sees host clients as ${gateway} (the bridge gateway); ${PER_ADDRESS_CAP} held, ${EXTRA} more refused; 127.0.0.2 then got "${otherHost}"; python-agent's container 200`,
    );
  } finally {
    held.destroy();
  }
  await waitUntil('a host client served again', 10_000, async () =>
    (await getAgentsFrom(api, key, '127.0.0.2')) === '200' ? true : undefined,
  );
}

const PACKAGE_MANAGERS = ['npm', 'npx', 'corepack', 'yarn', 'yarnpkg'];

/** The image compose built for the app: node on PATH, none of the package managers. */
async function appImageHasNoPackageManager(f: Fixture): Promise<void> {
  const image = containers().find((c) => c.service === 'app')?.image;
  assert.ok(image, 'no app container');
  const found = docker([
    'run',
    '--rm',
    '--entrypoint',
    'sh',
    image,
    '-c',
    `for p in node ${PACKAGE_MANAGERS.join(' ')}; do command -v "$p" || true; done; ls /usr/local/lib/node_modules 2>/dev/null || true`,
  ])
    .split('\n')
    .filter(Boolean);
  assert.deepEqual(found, ['/usr/local/bin/node'], `in the app image: ${found.join(', ')}`);
  const size = Number(docker(['image', 'inspect', image, '--format', '{{.Size}}']));
  f.figures.push(`app image ${image}: node alone, ${(size / 1e6).toFixed(0)} MB`);
}
