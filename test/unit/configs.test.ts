// The rewrite applied to the repo's real configs, checked by the real programs: promtool and
// amtool (pinned builds where present, else Debian's) must accept what the native stack runs,
// scaled and unscaled, so a config change that the rewrite cannot follow fails here.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { describeBinary, findBinary } from '../../scripts/lib/binaries.ts';
import {
  bindMounts,
  localPath,
  nativeMemoryEnv,
  PROBE_KEY_PATH,
  renderConfigs,
  type Rendered,
} from '../../scripts/lib/stack/configs.ts';
import { scalingFor } from '../../scripts/lib/stack/scaling.ts';
import { TEST_TIME_SCALE } from '../../scripts/lib/stack/stack.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const ADDRESSES = {
  'app:8000': ['127.0.0.1:41000'],
  'app:9464': ['127.0.0.1:41464'],
  'prometheus:9090': ['127.0.0.1:41090'],
  'alertmanager:9093': ['127.0.0.1:41093'],
  'alert-receiver:9095': ['127.0.0.1:41095'],
  'otel-collector:4317': ['127.0.0.1:42317'],
  'otel-collector:4318': ['127.0.0.1:42318'],
  'otel-collector:8888': ['127.0.0.1:42888'],
  'otel-collector:8889': ['127.0.0.1:42889'],
  'otel-collector:13133': ['127.0.0.1:42133'],
  'jaeger:4317': ['127.0.0.1:43317'],
  'jaeger:8888': ['127.0.0.1:43888'],
  'jaeger:13133': ['127.0.0.1:43133'],
  'jaeger:16685': ['127.0.0.1:43685'],
  'jaeger:16686': ['127.0.0.1:43686'],
  'victorialogs:9428': ['127.0.0.1:44428'],
  'blackbox-exporter:9115': ['127.0.0.1:45115'],
};
const RUNNING = new Set([
  'app',
  'prometheus',
  'alertmanager',
  'alert-receiver',
  'otel-collector',
  'jaeger',
  'victorialogs',
  'blackbox-exporter',
]);

const promtool = findBinary('promtool');
const amtool = findBinary('amtool');

/** A folder for the native configs, rendered from the repo's own. */
function nativeConfigsFixture() {
  let dir: string;
  const render = (scaled: boolean, compat: 'v2' | 'v3', running = RUNNING): Rendered =>
    renderConfigs({
      repoDir: REPO_ROOT,
      outDir: path.join(dir, `${scaled ? 'scaled' : 'real'}-${compat}-${running.size}`),
      addresses: ADDRESSES,
      running,
      scaling: scaled ? scalingFor(TEST_TIME_SCALE) : undefined,
      prometheusCompat: compat,
      collector: true,
      jaeger: true,
      probeKey: running.has('blackbox-exporter') ? 'probe-key-of-this-test' : undefined,
    });

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'agent-obs-configs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    get dir() {
      return dir;
    },
    render,
  };
}

function mountsAndRules(f: ReturnType<typeof nativeConfigsFixture>): void {
  it('maps compose bind mounts to repo folders', () => {
    const mounts = bindMounts(REPO_ROOT);
    assert.equal(
      localPath('/etc/prometheus/rules/alerts.yml', '/x', mounts),
      path.join(REPO_ROOT, 'prometheus/rules/alerts.yml'),
    );
    assert.equal(localPath('rules/a.yml', '/base', mounts), '/base/rules/a.yml');
    assert.equal(localPath('/elsewhere/a.yml', '/base', mounts), '/elsewhere/a.yml');
  });

  it('scales every rule the repo has into durations that still hold', () => {
    const r = f.render(true, 'v3');
    const prom = YAML.parse(readFileSync(r.prometheus.file, 'utf8'));
    assert.equal(prom.global.scrape_interval, '1s');
    assert.equal(prom.global.evaluation_interval, '1s');
    assert.ok(r.prometheus.ruleFiles.length >= 1);
    for (const file of r.prometheus.ruleFiles) {
      const doc = YAML.parse(readFileSync(file, 'utf8')) as {
        groups: { rules: { alert?: string; expr: string; for?: string }[] }[];
      };
      for (const rule of doc.groups.flatMap((g) => g.rules)) {
        // No window shorter than four 1 s scrapes survives the rewrite.
        for (const m of String(rule.expr).matchAll(/\[(\d+)(ms|s)\b/g)) {
          const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
          assert.ok(
            ms >= 4000,
            `${rule.alert ?? 'record'}: window [${m[1]}${m[2]}] below 4 scrapes`,
          );
        }
      }
    }
    // The fast burn-rate page keeps its shape: 1 h → 1 m, 5 m → 5 s, for: 2m → 2s.
    const alerts = YAML.parse(
      readFileSync(r.prometheus.ruleFiles.find((f) => f.endsWith('alerts.yml')) as string, 'utf8'),
    );
    const burn = alerts.groups
      .flatMap(
        (g: { rules: { alert?: string; labels?: Record<string, string>; for?: string }[] }) =>
          g.rules,
      )
      .find(
        (x: { alert?: string; labels?: Record<string, string> }) =>
          x.alert === 'ErrorBudgetBurn' && x.labels?.long_window === '1h',
      );
    assert.equal(burn.for, '2s');
    const recording = readFileSync(
      r.prometheus.ruleFiles.find((f) => f.endsWith('recording.yml')) as string,
      'utf8',
    );
    assert.match(recording, /slo:api_request_errors:rate5m\[1m\]/);
  });
}

function scrapeJobsAndLinks(f: ReturnType<typeof nativeConfigsFixture>): void {
  it('drops the scrape jobs of what does not run natively, and says so', () => {
    const r = f.render(false, 'v3');
    const jobs = r.prometheus.jobs.map((j) => j.job);
    assert.ok(!jobs.includes('grafana'));
    assert.ok(jobs.includes('app') && jobs.includes('alertmanager'));
    assert.ok(r.prometheus.notes.some((n) => /grafana/.test(n)));
    assert.doesNotMatch(r.prometheus.bootText, /^rule_files:/m, 'the start-up copy has no rules');
    assert.match(r.prometheus.fullText, /^rule_files:/m);
  });

  for (const scaled of [false, true]) {
    it(`promtool accepts the ${scaled ? 'time-scaled' : 'real-time'} Prometheus config and rules`, function () {
      if (!promtool) this.skip();
      const compat = Number(promtool.version.split('.')[0]) >= 3 ? 'v3' : 'v2';
      const r = f.render(scaled, compat);
      const out = execFileSync(promtool.path, ['check', 'config', r.prometheus.file], {
        encoding: 'utf8',
      });
      assert.match(out, /SUCCESS/, `${describeBinary(promtool)}:\n${out}`);
    });

    it(`amtool accepts the ${scaled ? 'time-scaled' : 'real-time'} Alertmanager config`, function () {
      if (!amtool) this.skip();
      const r = f.render(scaled, 'v3');
      const out = execFileSync(amtool.path, ['check-config', r.alertmanager.file], {
        encoding: 'utf8',
      });
      assert.match(out, /SUCCESS/, `${describeBinary(amtool)}:\n${out}`);
      const am = YAML.parse(readFileSync(r.alertmanager.file, 'utf8'));
      const urls = JSON.stringify(am.receivers);
      assert.ok(!/alert-receiver/.test(urls) && /127\.0\.0\.1:41095/.test(urls), urls);
    });
  }

  it('points the Collector at local Jaeger and VictoriaLogs, and Jaeger at local Prometheus', () => {
    const r = f.render(false, 'v3');
    const collector = (r.collector?.files ?? []).map((f) => readFileSync(f, 'utf8')).join('\n');
    assert.match(collector, /127\.0\.0\.1:43317/);
    assert.match(collector, /http:\/\/127\.0\.0\.1:44428\/insert\/opentelemetry\/v1\/logs/);
    assert.ok(!/\b(jaeger|victorialogs|0\.0\.0\.0):\d+/.test(collector), collector);
    const jaeger = readFileSync(r.jaeger?.file as string, 'utf8');
    assert.match(jaeger, /http:\/\/127\.0\.0\.1:41090/);
    assert.match(jaeger, /127\.0\.0\.1:43686/);
  });
}

/** The Collector's (or Jaeger's) rendered memory_limiter. */
function memoryLimiter(file: string): Record<string, unknown> {
  const doc = YAML.parse(readFileSync(file, 'utf8')) as {
    processors: { memory_limiter: Record<string, unknown> };
  };
  return doc.processors.memory_limiter;
}

function memoryAndProbe(f: ReturnType<typeof nativeConfigsFixture>): void {
  // In a container memory_limiter's percentages are of the cgroup limit (docker-compose.yml);
  // a native process has none, and 80 % would be of the host's RAM.
  it("bounds the Collector's and Jaeger's memory by their compose limits, not the host's RAM", () => {
    const r = f.render(false, 'v3');
    const collector = r.collector!.files.find((x) => x.endsWith('otel-collector/config.yaml'))!;
    assert.deepEqual(memoryLimiter(collector), {
      check_interval: '1s',
      limit_mib: 204, // 80 % of 256 MiB
      spike_limit_mib: 64, // 25 %
    });
    assert.deepEqual(nativeMemoryEnv(REPO_ROOT, 'otel-collector'), { GOMEMLIMIT: '204MiB' });
    const jaeger = memoryLimiter(r.jaeger!.file);
    assert.equal(jaeger.limit_mib, 409); // 80 % of 512 MiB
    assert.equal(jaeger.limit_percentage, undefined);
    assert.deepEqual(nativeMemoryEnv(REPO_ROOT, 'jaeger'), { GOMEMLIMIT: '410MiB' });
  });

  it("points the probe at the app's API port, through the local blackbox exporter, with its key in a private file", () => {
    const r = f.render(false, 'v3');
    const prom = YAML.parse(r.prometheus.fullText) as {
      scrape_configs: {
        job_name: string;
        static_configs: { targets: string[] }[];
        relabel_configs: { replacement?: string }[];
      }[];
    };
    const job = prom.scrape_configs.find((j) => j.job_name === 'blackbox')!;
    assert.deepEqual(job.static_configs[0].targets, ['http://127.0.0.1:41000/v1/agents']);
    assert.ok(job.relabel_configs.some((rc) => rc.replacement === '127.0.0.1:45115'));
    const config = readFileSync(r.blackbox!.file, 'utf8');
    assert.ok(!config.includes(PROBE_KEY_PATH), config);
    const keyFile = /files:\s*\n?\s*- (\S+)/.exec(config)?.[1] ?? '';
    assert.equal(readFileSync(keyFile, 'utf8'), 'probe-key-of-this-test');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  });

  it('drops the probe job when the blackbox exporter does not run, and says so', () => {
    const running = new Set([...RUNNING].filter((c) => c !== 'blackbox-exporter'));
    const r = f.render(false, 'v3', running);
    assert.ok(!r.prometheus.jobs.some((j) => j.job === 'blackbox'));
    assert.ok(r.prometheus.notes.some((n) => /"blackbox".*blackbox-exporter:9115/.test(n)));
    assert.equal(r.blackbox, undefined);
  });
}

/** A services.yml entry's probe (its file under prometheus/targets/probes/), natively. */
function probedEntries(f: ReturnType<typeof nativeConfigsFixture>): void {
  it("probes a services.yml entry that runs (its probe's file) at its local port, with its module", () => {
    const running = new Set([...RUNNING, 'python-agent']);
    const addresses = { ...ADDRESSES, 'python-agent:8010': ['127.0.0.1:46010'] };
    const r = renderConfigs({
      repoDir: REPO_ROOT,
      outDir: path.join(f.dir, 'probed-entry'),
      addresses,
      running,
      prometheusCompat: 'v3',
      collector: true,
      jaeger: true,
      probeKey: 'probe-key-of-this-test',
    });
    const prom = YAML.parse(r.prometheus.fullText) as {
      scrape_configs: {
        job_name: string;
        static_configs: { targets: string[]; labels: object }[];
      }[];
    };
    const job = prom.scrape_configs.find((j) => j.job_name === 'blackbox')!;
    const group = job.static_configs.find((g) => g.targets[0].includes(':46010'));
    assert.deepEqual(group?.targets, ['http://127.0.0.1:46010/health/ready']);
    assert.deepEqual(group?.labels, {
      service_name: 'python-agent',
      __param_module: 'http_2xx',
      instance: 'http://python-agent:8010/health/ready',
    });
    // Not running: its target goes, the demo's probe stays.
    const without = YAML.parse(f.render(false, 'v3').prometheus.fullText) as typeof prom;
    const demoOnly = without.scrape_configs.find((j) => j.job_name === 'blackbox')!;
    assert.deepEqual(
      demoOnly.static_configs.map((g) => g.targets[0]),
      ['http://127.0.0.1:41000/v1/agents'],
    );
  });
}

describe('native configs rendered from the repo', function () {
  this.timeout(60_000);
  const f = nativeConfigsFixture();
  mountsAndRules(f);
  scrapeJobsAndLinks(f);
  memoryAndProbe(f);
  probedEntries(f);
});
