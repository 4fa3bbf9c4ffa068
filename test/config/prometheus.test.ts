// prometheus/: promtool accepts prometheus.yml (every promtool 3 here: the file needs 3.x for
// its OTLP block) and the rule files (any promtool here, Debian's 2.42 included); every scrape
// and Alertmanager target is a compose service on a port it declares. Broken copies must fail.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describeBinary, findBinary, type FoundBinary } from '../../scripts/lib/binaries.ts';
import { repoComposeFixture, type ComposeFile, type Json, type Obj } from '../lib/compose.ts';
import { checkReferences, prometheusTargets, servicePorts } from '../lib/ports.ts';
import { run } from '../lib/programs.ts';
import { assertReports } from '../lib/reports.ts';
import { withTempFile } from '../lib/temp-dir.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const PROM_DIR = join(REPO_ROOT, 'prometheus');
const CONFIG_TEXT = readFileSync(join(PROM_DIR, 'prometheus.yml'), 'utf8');
const CONFIG = YAML.parse(CONFIG_TEXT) as Obj;
const RULE_FILES = readdirSync(join(PROM_DIR, 'rules'))
  .filter((f) => f.endsWith('.yml'))
  .map((f) => join('rules', f));

/** Every promtool on this machine: the pinned build and Debian's, each announced. */
function promtools(): FoundBinary[] {
  const out: FoundBinary[] = [];
  const pinned = findBinary('promtool');
  if (pinned?.source === 'pinned') out.push(pinned);
  const debian = findBinary('promtool', { binDir: '/nonexistent' });
  if (debian) out.push(debian);
  return out;
}
const PROMTOOLS = promtools();
/** The promtools of the Prometheus this file is for (3.x): the others cannot load its `otlp:`. */
const CONFIG_PROMTOOLS = PROMTOOLS.filter((p) => Number(p.version.split('.')[0]) >= 3);

/** The target files under `dir` (prometheus/targets/), `under` a folder of it (probes/). */
function fileSdTargets(dir: string, under = ''): Record<string, Json> {
  const out: Record<string, Json> = {};
  if (!existsSync(join(dir, under))) return out;
  for (const f of readdirSync(join(dir, under)).filter((f) => f.endsWith('.yml'))) {
    out[`targets/${under}${f}`] = YAML.parse(readFileSync(join(dir, under, f), 'utf8')) as Json;
  }
  return out;
}

function checkTargets(cfg: Obj, fileSd: Record<string, Json>, compose: ComposeFile): string[] {
  const targets = prometheusTargets(cfg, fileSd);
  const malformed = targets
    .filter((t) => Number.isNaN(t.port))
    .map((t) => `${t.path}: "${t.host}" has no port`);
  return [
    ...malformed,
    ...checkReferences(
      targets.filter((t) => !Number.isNaN(t.port)),
      servicePorts(compose),
      'prometheus',
      'prometheus.yml',
    ),
  ];
}

describe('prometheus config', () => {
  before(() => {
    for (const p of PROMTOOLS) console.log(`      using ${describeBinary(p)}`);
    if (PROMTOOLS.length === 0)
      console.log('      no promtool found: install prometheus or run make tools');
  });

  describe('promtool check config', () => {
    it('every promtool 3 here accepts prometheus.yml (and the rule files it loads)', function () {
      if (CONFIG_PROMTOOLS.length === 0) this.skip();
      for (const p of CONFIG_PROMTOOLS) {
        const r = run(p.path, ['check', 'config', 'prometheus.yml'], PROM_DIR);
        assert.equal(r.code, 0, `${describeBinary(p)}:\n${r.output}`);
      }
    });

    it('rejects a broken copy', function () {
      if (CONFIG_PROMTOOLS.length === 0) this.skip();
      const broken = CONFIG_TEXT.replace('scrape_interval: 15s', 'scrape_interval: 15x');
      withTempFile('prometheus.yml', broken, (dir) => {
        for (const p of CONFIG_PROMTOOLS) {
          const r = run(p.path, ['check', 'config', 'prometheus.yml'], dir);
          assert.notEqual(r.code, 0, `${describeBinary(p)} accepted a broken config`);
          assert.match(r.output, /15x/);
        }
      });
    });
  });
});

describe('prometheus config', () => {
  describe('promtool check rules', () => {
    it('accepts every file in prometheus/rules/', function () {
      if (PROMTOOLS.length === 0) this.skip();
      if (RULE_FILES.length === 0) {
        console.log('      prometheus/rules/ has no *.yml yet: nothing to check');
        this.skip();
      }
      const p = PROMTOOLS[0];
      const r = run(p.path, ['check', 'rules', ...RULE_FILES], PROM_DIR);
      assert.equal(r.code, 0, `${describeBinary(p)}:\n${r.output}`);
    });

    it('rejects a broken rule file', function () {
      if (PROMTOOLS.length === 0) this.skip();
      const broken = YAML.stringify({
        groups: [{ name: 'g', rules: [{ alert: 'Bad', expr: 'rate(http_requests_total[5m]' }] }],
      });
      withTempFile('bad.yml', broken, (dir) => {
        const r = run(PROMTOOLS[0].path, ['check', 'rules', 'bad.yml'], dir);
        assert.notEqual(r.code, 0, 'promtool accepted a rule that does not parse');
      });
    });
  });
});

describe('prometheus config', () => {
  const repo = repoComposeFixture();
  describe('targets', () => {
    it('scrapes the app, the Collector (own and span metrics), Jaeger, VictoriaLogs, Alertmanager, Grafana and itself, one job each, and probes the API (through blackbox-exporter:9115)', () => {
      const jobs = (CONFIG.scrape_configs as Obj[])
        .filter((j) => Array.isArray(j.static_configs))
        .map((j) => [
          j.job_name,
          (j.static_configs as Obj[]).flatMap((s) => s.targets as string[]),
        ]);
      assert.deepEqual(Object.fromEntries(jobs), {
        app: ['app:9464'],
        blackbox: ['http://app:8000/v1/agents'],
        'otel-collector': ['otel-collector:8888'],
        spanmetrics: ['otel-collector:8889'],
        jaeger: ['jaeger:8888'],
        victorialogs: ['victorialogs:9428'],
        alertmanager: ['alertmanager:9093'],
        grafana: ['grafana:3000'],
        prometheus: ['localhost:9090'],
      });
    });

    it('loads the rule files and sends alerts to Alertmanager', () => {
      assert.deepEqual(CONFIG.rule_files, ['rules/*.yml']);
      const am = (CONFIG.alerting as Obj).alertmanagers as Obj[];
      assert.deepEqual((am[0].static_configs as Obj[])[0].targets, ['alertmanager:9093']);
    });

    it('every target (prometheus.yml, prometheus/targets/*.yml and probes/*.yml) is a compose service on a declared port', () => {
      const dir = join(PROM_DIR, 'targets');
      const fileSd = { ...fileSdTargets(dir), ...fileSdTargets(dir, 'probes/') };
      assert.ok(fileSd['targets/probes/python-agent.yml'], 'no probe target of python-agent');
      assert.deepEqual(checkTargets(CONFIG, fileSd, repo.compose), []);
    });

    it('reports a target on an unknown service, on an undeclared port, and in a targets/ file', () => {
      const bad = structuredClone(CONFIG);
      const jobs = bad.scrape_configs as Obj[];
      (jobs.find((j) => j.job_name === 'jaeger')!.static_configs as Obj[])[0].targets = [
        'jaeger:9999',
      ];
      (jobs.find((j) => j.job_name === 'grafana')!.static_configs as Obj[])[0].targets = [
        'grafna:3000',
      ];
      const problems = checkTargets(
        bad,
        { 'targets/mine.yml': [{ targets: ['my-service:8080'], labels: { job: 'mine' } }] },
        repo.compose,
      );
      const expected = [
        /jaeger has no port 9999/,
        /"grafna:3000" is not a compose service/,
        /targets\/mine.yml.*"my-service:8080" is not a compose service/,
      ];
      for (const e of expected) assertReports(problems, e);
    });
  });
});

describe('prometheus config', () => {
  describe('targets', () => {
    it('the extension point reads prometheus/targets/*.yml (a folder that exists, with its README)', () => {
      const job = (CONFIG.scrape_configs as Obj[]).find((j) => j.job_name === 'targets');
      assert.ok(job && Array.isArray(job.file_sd_configs));
      const files = (job.file_sd_configs as Obj[]).flatMap((f) => f.files as string[]);
      assert.deepEqual(files, ['targets/*.yml']);
      assert.ok(existsSync(join(PROM_DIR, 'targets/README.md')));
    });
  });
});

describe('prometheus config', () => {
  const repo = repoComposeFixture();
  // docs/decisions/0014-otlp-metrics-into-prometheus.md: pushed series are named like the
  // scraped ones, carry the one service label, and a retried batch is still stored.
  it('takes OTLP metrics: receiver on, names with suffixes, service_name, an out-of-order window', () => {
    const prometheus = (repo.compose.services as Obj).prometheus as Obj;
    assert.ok((prometheus.command as Json[]).includes('--web.enable-otlp-receiver'));
    const otlp = CONFIG.otlp as Obj;
    assert.equal(otlp.translation_strategy, 'UnderscoreEscapingWithSuffixes');
    assert.deepEqual(otlp.promote_resource_attributes, ['service.name']);
    const window = ((CONFIG.storage as Obj).tsdb as Obj).out_of_order_time_window as string;
    const collector = YAML.parse(
      readFileSync(join(REPO_ROOT, 'otel-collector/config.yaml'), 'utf8'),
    ) as Obj;
    const exporter = (collector.exporters as Obj)['otlp_http/prometheus'] as Obj;
    assert.equal(exporter.metrics_endpoint, 'http://prometheus:9090/api/v1/otlp/v1/metrics');
    const retrySeconds = parseInt(String((exporter.retry_on_failure as Obj).max_elapsed_time));
    assert.ok(parseInt(window) * 60 > retrySeconds, `${window} vs retries for ${retrySeconds} s`);
  });

  it('names the service on scraped series too: the app job sets service_name', () => {
    const app = (CONFIG.scrape_configs as Obj[]).find((j) => j.job_name === 'app') as Obj;
    const labels = ((app.static_configs as Obj[])[0].labels ?? {}) as Obj;
    const appService = ((repo.compose.services as Obj).app as Obj).environment as Obj;
    assert.equal(labels.service_name, appService.OTEL_SERVICE_NAME);
  });

  // docs/alerting.md: the TSDB may not fill the disk, and its cap may not cut into the 31 days
  // the 30-day SLO window needs at the stack's own series count (about 10,000, with headroom:
  // 10,000 × 4 samples a minute × 31 days × 2 bytes ≈ 3.6 GB).
  it('docker-compose.yml caps the TSDB at retention.size, at least twice 31 days of the stack', () => {
    const prometheus = (repo.compose.services as Obj).prometheus as Obj;
    const flags = (prometheus.command as Json[]).map(String);
    const size = flags.find((f) => f.startsWith('--storage.tsdb.retention.size='))?.split('=')[1];
    assert.ok(size, '--storage.tsdb.retention.size is not set');
    const m = /^(\d+)(MB|GB|TB)$/.exec(size);
    assert.ok(m, `retention.size "${size}"`);
    const bytes = Number(m[1]) * 1024 ** { MB: 2, GB: 3, TB: 4 }[m[2] as 'MB' | 'GB' | 'TB'];
    const needed = 10_000 * 4 * 60 * 24 * 31 * 2;
    assert.ok(bytes >= 2 * needed, `${size} < twice ${(needed / 1e9).toFixed(1)} GB`);
    assert.ok(flags.includes('--storage.tsdb.retention.time=31d'));
  });
});
