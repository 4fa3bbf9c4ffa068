// jaeger/config.yaml: persistent Badger storage, SPM reading exactly the span-metric names the
// Collector produces, health and own metrics where compose and Prometheus look for them; and
// the pinned Jaeger build starts on it (addresses rewritten to free loopback ports).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import {
  checkOwnMetricsReader,
  checkPipelinesWellFormed,
  parseYamlMapping,
} from '../lib/collector.ts';
import { type Obj } from '../lib/compose.ts';
import { freePort, program, start, waitForOk } from '../lib/programs.ts';
import { parseDuration } from '../../scripts/lib/stack/duration.ts';
import { assertReports, copy } from '../lib/reports.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const JAEGER = parseYamlMapping(
  readFileSync(join(REPO_ROOT, 'jaeger/config.yaml'), 'utf8'),
  'jaeger/config.yaml',
);
const COLLECTOR = parseYamlMapping(
  readFileSync(join(REPO_ROOT, 'otel-collector/config.yaml'), 'utf8'),
  'otel-collector/config.yaml',
);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- configs are walked by path
type Any = any;

/** The SPM metric backend must query the names the Collector's span metrics get in Prometheus. */
function checkSpm(jaeger: Obj, collector: Obj): string[] {
  const problems: string[] = [];
  const j = jaeger as Any;
  const storage = j.extensions?.jaeger_storage ?? {};
  const query = j.extensions?.jaeger_query ?? {};
  const metricsName = query.storage?.metrics;
  const backend = storage.metric_backends?.[metricsName]?.prometheus;
  if (!backend)
    return [`jaeger_query.storage.metrics "${metricsName}" is no Prometheus metric backend`];
  if (backend.endpoint !== 'http://prometheus:9090')
    problems.push(`SPM reads ${backend.endpoint}, not http://prometheus:9090`);

  const c = collector as Any;
  const connector = Object.entries(c.connectors ?? {}).find(([id]) =>
    /^span_?metrics(\/|$)/.test(id),
  )?.[1] as Any;
  const namespace = String(connector?.namespace ?? 'traces.span.metrics').replace(/\./g, '_');
  if ((backend.metric_namespace ?? 'traces_span_metrics') !== namespace) {
    problems.push(
      `SPM metric_namespace "${backend.metric_namespace}" differs from the Collector's "${namespace}"`,
    );
  }
  const unit = connector?.histogram?.unit ?? 'ms';
  if ((backend.latency_unit ?? 'ms') !== unit) {
    problems.push(
      `SPM latency_unit "${backend.latency_unit}" differs from the span-metrics unit "${unit}"`,
    );
  }
  // The Collector's Prometheus exporter appends _total and the unit (add_metric_suffixes).
  const exporter = Object.entries(c.exporters ?? {}).find(
    ([id]) => id.split('/')[0] === 'prometheus',
  )?.[1] as Any;
  const suffixes =
    exporter?.add_metric_suffixes !== false &&
    !/WithoutSuffixes|NoTranslation/.test(String(exporter?.translation_strategy ?? ''));
  if (backend.normalize_calls !== suffixes || backend.normalize_duration !== suffixes) {
    problems.push(
      `SPM normalize_calls/normalize_duration must be ${suffixes} to match the exporter's suffixes`,
    );
  }
  return problems;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * Traces outlive a restart and reach back at least a day (the dashboards' exemplar and
 * trace-to-log links say so): a Badger store on disk, with a ttl of a day or more.
 */
function checkStoragePersistent(jaeger: Obj): string[] {
  const backends = (jaeger as Any).extensions?.jaeger_storage?.backends ?? {};
  const traces = (jaeger as Any).extensions?.jaeger_query?.storage?.traces;
  const badger = backends[traces]?.badger;
  if (!badger) return [`the trace store "${traces}" is no Badger store`];
  const problems: string[] = [];
  if (badger.ephemeral !== false) problems.push(`${traces}: ephemeral (lost at every restart)`);
  const ttl = badger.ttl?.spans;
  if (typeof ttl !== 'string' || parseDuration(ttl) < DAY_MS)
    problems.push(`${traces}: ttl.spans ${ttl} keeps less than a day`);
  for (const kind of ['keys', 'values']) {
    if (!String(badger.directories?.[kind] ?? '').startsWith('/tmp/'))
      problems.push(`${traces}: ${kind} outside /tmp, the only folder the image's user writes`);
  }
  return problems;
}

/** The repo's config with every address moved to a free loopback port, written into `dir`. */
async function localCopy(dir: string, edit?: (c: Any) => void) {
  const ports = {
    otlp: await freePort(),
    ui: await freePort(),
    grpc: await freePort(),
    health: await freePort(),
    metrics: await freePort(),
  };
  const c = copy(JAEGER, (x) => {
    x.receivers.otlp.protocols.grpc.endpoint = `127.0.0.1:${ports.otlp}`;
    x.extensions.jaeger_query.http.endpoint = `127.0.0.1:${ports.ui}`;
    x.extensions.jaeger_query.grpc.endpoint = `127.0.0.1:${ports.grpc}`;
    x.extensions.healthcheckv2.http.endpoint = `127.0.0.1:${ports.health}`;
    x.service.telemetry.metrics.readers[0].pull.exporter.prometheus.host = '127.0.0.1';
    x.service.telemetry.metrics.readers[0].pull.exporter.prometheus.port = ports.metrics;
    const store = x.extensions.jaeger_storage.backends.traces.badger;
    store.directories = { keys: join(dir, 'keys'), values: join(dir, 'values') };
    // Nothing listens there: the Monitor tab's queries fail, start-up must not.
    x.extensions.jaeger_storage.metric_backends.span_metrics.prometheus.endpoint = `http://127.0.0.1:${ports.otlp}`;
    edit?.(x);
  });
  const file = join(dir, `config-${ports.ui}.yaml`);
  writeFileSync(file, YAML.stringify(c));
  return { file, ports };
}

describe('jaeger config', () => {
  it('pipeline well formed (memory_limiter first), own metrics on 0.0.0.0:8888 with the Collector names', () => {
    assert.deepEqual(
      [...checkPipelinesWellFormed(JAEGER), ...checkOwnMetricsReader(JAEGER, 'Jaeger')],
      [],
    );
  });

  it('the trace store is Badger on disk, keeping spans a day', () => {
    assert.deepEqual(checkStoragePersistent(JAEGER), []);
  });
  it('reports an ephemeral store and a ttl under a day', () => {
    const store = (c: Any) => c.extensions.jaeger_storage.backends.traces.badger;
    assertReports(
      checkStoragePersistent(copy(JAEGER, (c) => (store(c).ephemeral = true))),
      /ephemeral/,
    );
    assertReports(
      checkStoragePersistent(copy(JAEGER, (c) => (store(c).ttl.spans = '12h'))),
      /keeps less than a day/,
    );
  });

  it("SPM reads the Collector's span metrics from Prometheus under their exact names", () => {
    assert.deepEqual(checkSpm(JAEGER, COLLECTOR), []);
  });
  it('reports a unit or suffix mismatch with the Collector', () => {
    assertReports(
      checkSpm(
        JAEGER,
        copy(COLLECTOR, (c) => (c.connectors.span_metrics.histogram.unit = 's')),
      ),
      /latency_unit "ms" differs from the span-metrics unit "s"/,
    );
    assertReports(
      checkSpm(
        JAEGER,
        copy(COLLECTOR, (c) => (c.exporters.prometheus.add_metric_suffixes = false)),
      ),
      /normalize_calls\/normalize_duration must be false/,
    );
    assertReports(
      checkSpm(
        copy(
          JAEGER,
          (c) =>
            (c.extensions.jaeger_storage.metric_backends.span_metrics.prometheus.endpoint =
              'http://localhost:9090'),
        ),
        COLLECTOR,
      ),
      /not http:\/\/prometheus:9090/,
    );
  });
});

describe('jaeger config', () => {
  it('health is where the compose healthcheck probes (:13133/status)', () => {
    const hc = (JAEGER as Any).extensions.healthcheckv2;
    assert.equal(hc.use_v2, true);
    assert.equal(hc.http.endpoint, '0.0.0.0:13133');
    const compose = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    assert.match(compose, /wget, -q, -O, \/dev\/null, http:\/\/127\.0\.0\.1:13133\/status\]/);
  });
});

describe('jaeger config', () => {
  describe('with the pinned Jaeger build', function () {
    this.timeout(60_000);
    let dir: string;
    before(function () {
      if (!program('jaeger', { pinnedOnly: true })) this.skip();
      dir = mkdtempSync(join(tmpdir(), 'jaeger-config-'));
    });
    after(() => dir && rmSync(dir, { recursive: true, force: true }));

    it('starts on the config: healthy, query API up, own metrics served', async () => {
      const jaeger = program('jaeger', { pinnedOnly: true })!;
      const { file, ports } = await localCopy(dir);
      const proc = start(jaeger.path, [`--config=${file}`]);
      try {
        const status = (await (
          await waitForOk(`http://127.0.0.1:${ports.health}/status`, proc, 30_000)
        ).json()) as { healthy?: boolean };
        assert.equal(status.healthy, true);
        const services = (await (
          await waitForOk(`http://127.0.0.1:${ports.ui}/api/services`, proc, 10_000)
        ).json()) as { data: unknown };
        assert.ok('data' in services);
        const metrics = await (
          await waitForOk(`http://127.0.0.1:${ports.metrics}/metrics`, proc, 10_000)
        ).text();
        assert.match(
          metrics,
          /^otelcol_process_uptime /m,
          'own metrics lack otelcol_process_uptime (without suffixes)',
        );
      } finally {
        await proc.stop();
      }
    });

    it('refuses a broken copy (query storage naming a store that does not exist)', async () => {
      const jaeger = program('jaeger', { pinnedOnly: true })!;
      const { file } = await localCopy(
        dir,
        (x) => (x.extensions.jaeger_query.storage.traces = 'no_such_store'),
      );
      const proc = start(jaeger.path, [`--config=${file}`]);
      const code = await Promise.race([
        proc.exited,
        new Promise<'running'>((r) => setTimeout(() => r('running'), 20_000)),
      ]);
      await proc.stop();
      assert.notEqual(code, 'running', 'jaeger kept running on a broken config');
      assert.notEqual(code, 0);
      assert.match(proc.log(), /no_such_store/);
    });
  });
});
