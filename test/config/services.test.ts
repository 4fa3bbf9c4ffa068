// services.yml (scripts/lib/services.ts): its schema says what is wrong, by entry and field; and
// a service a fork adds is covered by its entry plus its compose service alone. The second part
// works on a copy of the repo's files: it adds a throwaway OTLP-only service ("go-agent", team
// "payments") to services.yml and to docker-compose.yml, runs the real generator
// (scripts/services.ts --root), and finds the service in what it wrote: its rule group (checked
// by promtool), its team's route (amtool picks the team receiver for its pages), the dashboards'
// service variable, its OTLP path to Prometheus, its native command started by the code `make
// native` starts services with (ready, then stopped), and, in `helm template` of the copy's
// chart, the ServiceMonitor of the scraped one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { findBinary } from '../../scripts/lib/binaries.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { loadServices, parseServices } from '../../scripts/lib/services.ts';
import { serviceVariable } from '../../grafana/src/slo-alerts.ts';
import { CHART_DIR } from '../../scripts/lib/helm/sync.ts';
import { freePorts } from '../../scripts/lib/ports.ts';
import { findComponents, portKeys } from '../../scripts/lib/stack/components.ts';
import { startNativeServices } from '../../scripts/lib/stack/native-services.ts';
import { Supervisor } from '../../scripts/lib/supervisor.ts';
import { byKind, pinnedTool, renderChart } from '../lib/helm.ts';
import { copyOfRepo } from '../lib/repo-copy.ts';

const run = promisify(execFile);
const NODE = process.execPath;

const THROWAWAY_ENTRY = `
  - name: go-agent
    signals: otlp
    rules: generated
    slo:
      availability: 0.999
      latency: { threshold_seconds: 1, target: 0.99 }
    team: { name: payments, receiver: payments-page }
    runbook_base: https://example.com/runbooks/
    probe: { url: 'http://go-agent:8080/' }
    native:
      cwd: .
      command: [python3, -m, http.server, '\${PORT}', --bind, 127.0.0.1]
      port: 8080
      ready_path: /
`;
// A scraped one too: its entry names where Prometheus scrapes it.
const SCRAPED_ENTRY = `
  - name: java-agent
    signals: scrape
    scrape_job: java-agent
    scrape_target: java-agent:9464
    rules: generated
    slo:
      availability: 0.99
      latency: { threshold_seconds: 0.5, target: 0.9 }
    team: { name: payments, receiver: payments-page }
    runbook_base: https://example.com/runbooks/
`;
const SCRAPED_COMPOSE_SERVICE = { image: 'example/java-agent:1.0.0', expose: ['9464'] };
const THROWAWAY_COMPOSE_SERVICE = {
  image: 'example/go-agent:1.0.0',
  environment: {
    OTEL_SERVICE_NAME: 'go-agent',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
  },
};

function expectInvalid(text: string, message: RegExp): void {
  assert.throws(() => parseServices(text, 'services.yml'), message);
}

describe('services.yml: the schema says what is wrong, by entry and field', function () {
  const valid = readFileSync(join(REPO_ROOT, 'services.yml'), 'utf8');

  it('loads the repo file: the demo and the Python example', function () {
    assert.deepEqual(
      loadServices(REPO_ROOT).map((s) => [s.name, s.signals, s.rules]),
      [
        ['agent-service', 'scrape', 'templates'],
        ['python-agent', 'otlp', 'generated'],
      ],
    );
  });
  it("matches Prometheus: a scraped entry's job labels its series with its name; pushed ones get service_name", function () {
    const prom = YAML.parse(readFileSync(join(REPO_ROOT, 'prometheus/prometheus.yml'), 'utf8'));
    for (const s of loadServices(REPO_ROOT)) {
      if (s.signals === 'otlp') continue;
      const job = prom.scrape_configs.find(
        (j: { job_name: string }) => j.job_name === s.scrape_job,
      );
      assert.ok(job, `${s.name}: no scrape job ${s.scrape_job} in prometheus/prometheus.yml`);
      const names = job.static_configs.map(
        (c: { labels?: { service_name?: string } }) => c.labels?.service_name,
      );
      assert.deepEqual([...new Set(names)], [s.name], `${s.scrape_job}'s service_name labels`);
    }
    assert.ok(prom.otlp.promote_resource_attributes.includes('service.name'));
  });
  it('names the entry and field of a bad value', function () {
    expectInvalid(
      valid.replace('availability: 0.995', 'availability: 99.5'),
      /services\[0\] \(agent-service\)\.slo\.availability: .*below 1/,
    );
    expectInvalid(
      valid.replace('signals: otlp', 'signals: pigeon'),
      /services\[1\] \(python-agent\)\.signals/,
    );
  });
  it('refuses unknown fields, a scraped service without its job, and duplicates', function () {
    expectInvalid(valid.replace('rules: generated', 'rules: generated\n    colour: red'), /colour/);
    expectInvalid(valid.replace('    scrape_job: app\n', ''), /scrape_job: a scraped service/);
    expectInvalid(`${valid}${THROWAWAY_ENTRY}${THROWAWAY_ENTRY}`, /"go-agent" is declared twice/);
  });
});

/** A copy of the files services.yml generates into, and of those a fork edits. */
function repoCopy(): string {
  return copyOfRepo('services-copy', [
    'services.yml',
    'docker-compose.yml',
    'alertmanager',
    'prometheus',
    'otel-collector',
    'blackbox',
    CHART_DIR,
  ]);
}

/** The fork's two changes: the entry, and its compose service. */
function addThrowawayService(dir: string): void {
  const entries = readFileSync(join(dir, 'services.yml'), 'utf8');
  writeFileSync(join(dir, 'services.yml'), entries + THROWAWAY_ENTRY + SCRAPED_ENTRY);
  const compose = YAML.parseDocument(readFileSync(join(dir, 'docker-compose.yml'), 'utf8'));
  compose.setIn(['services', 'go-agent'], THROWAWAY_COMPOSE_SERVICE);
  compose.setIn(['services', 'java-agent'], SCRAPED_COMPOSE_SERVICE);
  writeFileSync(join(dir, 'docker-compose.yml'), compose.toString());
}

async function generate(dir: string, ...args: string[]) {
  const script = join(REPO_ROOT, 'scripts/services.ts');
  return run(NODE, [script, '--root', dir, ...args]).then(
    (r) => ({ ok: true, output: r.stdout + r.stderr }),
    (e: { stdout: string; stderr: string }) => ({ ok: false, output: e.stdout + e.stderr }),
  );
}

/** The `targets` job's file of the scraped service, at its compose service's port. */
async function expectScrapeTarget(dir: string): Promise<void> {
  const file = join(dir, 'prometheus/targets/java-agent.yml');
  assert.deepEqual(YAML.parse(readFileSync(file, 'utf8')), [
    {
      targets: ['java-agent:9464'],
      labels: { job: 'java-agent', service_name: 'java-agent', __metrics_path__: '/metrics' },
    },
  ]);
  const compose = YAML.parse(readFileSync(join(dir, 'docker-compose.yml'), 'utf8'));
  assert.deepEqual(compose.services['java-agent'].expose, ['9464']);
  const prom = YAML.parse(readFileSync(join(dir, 'prometheus/prometheus.yml'), 'utf8'));
  const targetsJob = prom.scrape_configs.find(
    (j: { job_name: string }) => j.job_name === 'targets',
  );
  assert.deepEqual(targetsJob.file_sd_configs[0].files, ['targets/*.yml']);
  // Its entry gone, the check names the file and make services removes it.
  const entries = readFileSync(join(dir, 'services.yml'), 'utf8');
  writeFileSync(join(dir, 'services.yml'), entries.replace(SCRAPED_ENTRY, ''));
  const check = await generate(dir, '--check');
  assert.match(check.output, /prometheus\/targets\/java-agent\.yml is of no entry/);
  assert.ok((await generate(dir)).ok);
  assert.equal(existsSync(file), false);
  writeFileSync(join(dir, 'services.yml'), entries);
  assert.ok((await generate(dir)).ok);
}

/** Its team's receiver (a webhook to the local alert receiver) takes its pages. */
async function expectTeamRoute(dir: string): Promise<void> {
  const am = YAML.parse(readFileSync(join(dir, 'alertmanager/alertmanager.yml'), 'utf8'));
  const receiver = am.receivers.find((r: { name: string }) => r.name === 'payments-page');
  assert.equal(receiver?.webhook_configs?.[0]?.url, 'http://alert-receiver:9095/alerts');
  const labels = ['severity=critical', 'service=go-agent', 'team=payments'];
  assert.equal(
    await amtoolRoute(dir, ['alertname=ServiceErrorBudgetBurn', ...labels]),
    'payments-page',
  );
}

/** The receiver amtool routes a label set to in the copy's config. */
async function amtoolRoute(dir: string, labels: string[]): Promise<string> {
  const amtool = findBinary('amtool');
  assert.ok(amtool, 'no amtool: `make tools`, or apt-get install prometheus-alertmanager');
  const config = `--config.file=${join(dir, 'alertmanager/alertmanager.yml')}`;
  const { stdout } = await run(amtool.path, ['config', 'routes', 'test', config, ...labels]);
  return stdout.trim();
}

/** The blackbox job's target file of the OTLP one (it has no `up`), from its entry alone. */
async function expectProbeTarget(dir: string): Promise<void> {
  const file = join(dir, 'prometheus/targets/probes/go-agent.yml');
  assert.ok(existsSync(file), 'no probe target file prometheus/targets/probes/go-agent.yml');
  assert.deepEqual(YAML.parse(readFileSync(file, 'utf8')), [
    {
      targets: ['http://go-agent:8080/'],
      labels: { service_name: 'go-agent', __param_module: 'http_2xx' },
    },
  ]);
  const prom = YAML.parse(readFileSync(join(dir, 'prometheus/prometheus.yml'), 'utf8'));
  const blackbox = prom.scrape_configs.find((j: { job_name: string }) => j.job_name === 'blackbox');
  assert.deepEqual(blackbox.file_sd_configs[0].files, ['targets/probes/*.yml']);
  // The probe rule's ServiceDown (service, no team) goes to its team's receiver.
  const labels = ['alertname=ServiceDown', 'severity=critical', 'service=go-agent', 'job=blackbox'];
  assert.equal(await amtoolRoute(dir, labels), 'payments-page');
  // A module blackbox/blackbox.yml lacks is named by entry and field.
  const entries = readFileSync(join(dir, 'services.yml'), 'utf8');
  const wrong = entries.replace(
    "url: 'http://go-agent:8080/' }",
    "url: 'http://go-agent:8080/', module: tcp }",
  );
  writeFileSync(join(dir, 'services.yml'), wrong);
  const check = await generate(dir, '--check');
  writeFileSync(join(dir, 'services.yml'), entries);
  assert.match(
    check.output,
    /services\[2\] \(go-agent\)\.probe\.module: no module tcp in blackbox/,
  );
}

/** Its rule group: burn-rate pages with its service and team, valid for promtool. */
async function expectRuleGroup(dir: string): Promise<void> {
  const rules = YAML.parse(readFileSync(join(dir, 'prometheus/rules/services.yml'), 'utf8'));
  const group = rules.groups.find((g: { name: string }) => g.name === 'service-go-agent');
  assert.ok(group, 'no rule group service-go-agent');
  const alerts = group.rules.filter((r: { alert?: string }) => r.alert);
  assert.deepEqual(
    [...new Set(alerts.map((a: { alert: string }) => a.alert))],
    ['ServiceErrorBudgetBurn', 'ServiceLatencyBudgetBurn', 'GenAIClientErrorRatioHigh'],
  );
  for (const a of alerts) {
    assert.equal(a.labels.service, 'go-agent');
    assert.equal(a.labels.team, 'payments');
    assert.match(a.annotations.runbook_url, /^https:\/\/example\.com\/runbooks\//);
  }
  // Its own objective (99.9 %) and threshold (1 s) in its expressions.
  assert.match(JSON.stringify(group), /ratio_rate1h > 0\.0144/);
  assert.match(JSON.stringify(group), /le=~\\"1\(\\\\\\\\\.0\)\?\\"/);
  const promtool = findBinary('promtool');
  assert.ok(promtool, 'no promtool: `make tools`, or apt-get install prometheus');
  await run(promtool.path, ['check', 'rules', join(dir, 'prometheus/rules/services.yml')]);
}

/** Its native command, started as `make native` starts services: a planned port, ready, stopped. */
async function expectNativeStart(dir: string): Promise<void> {
  const keys = portKeys(dir, false);
  assert.ok(keys.includes('go-agent:8080'), `make native plans no port for it: ${keys.join(' ')}`);
  const spare = await freePorts(keys.length);
  const ports = Object.fromEntries(keys.map((k, i) => [k, spare[i]]));
  const logs = mkdtempSync(join(tmpdir(), 'services-logs-'));
  const supervisor = new Supervisor(() => {});
  try {
    const started = await startNativeServices(
      { repoDir: dir, ports, logs, metricExportIntervalMs: 15_000, variables: {} },
      supervisor,
    );
    // python-agent's venv is not in the copy: its `requires` keeps it out, and says why.
    assert.deepEqual(
      started.map((s) => s.name),
      ['go-agent'],
    );
    const python = findComponents(false, dir).missing.find((m) => m.component === 'python-agent');
    assert.equal(
      python?.reason,
      'no examples/python-agent/.venv/bin/python (install: make install-python)',
    );
    const res = await fetch(`http://127.0.0.1:${ports['go-agent:8080']}/`);
    assert.equal(res.status, 200);
  } finally {
    await supervisor.stopAll();
    rmSync(logs, { recursive: true, force: true });
  }
  assert.ok(supervisor.processes.every((p) => p.exit?.expected));
}

/** `helm template` of the copy's chart: the scraped service's ServiceMonitor, from its entry. */
function expectServiceMonitor(dir: string): void {
  const rendered = renderChart({}, join(dir, CHART_DIR));
  assert.ok(rendered.ok, rendered.output);
  const monitors = byKind(rendered.objects, 'ServiceMonitor');
  const java = monitors.find((m) => m.metadata.name.endsWith('-java-agent'));
  assert.ok(
    java,
    `no ServiceMonitor for java-agent: ${monitors.map((m) => m.metadata.name).join(', ')}`,
  );
  assert.deepEqual(java.spec, {
    selector: { matchLabels: { 'app.kubernetes.io/name': 'java-agent' } },
    endpoints: [
      {
        targetPort: 9464,
        path: '/metrics',
        interval: '15s',
        relabelings: [
          { action: 'replace', targetLabel: 'job', replacement: 'java-agent' },
          { action: 'replace', targetLabel: 'service_name', replacement: 'java-agent' },
        ],
      },
    ],
  });
  // The probed one gets a Probe of the same path and module on the Service of its name.
  const probe = byKind(rendered.objects, 'Probe').find((p) =>
    p.metadata.name.endsWith('-go-agent'),
  );
  const spec = probe?.spec as
    { module: string; targets: { staticConfig: { static: string[]; labels: object } } } | undefined;
  assert.equal(spec?.module, 'http_2xx');
  assert.match(
    String(spec?.targets.staticConfig.static[0]),
    /^http:\/\/go-agent\.[a-z-]+\.svc:8080\/$/,
  );
  assert.deepEqual(spec?.targets.staticConfig.labels, { service_name: 'go-agent' });
  // An OTLP-only one is not scraped: it pushes to the chart's Collector.
  assert.equal(
    monitors.some((m) => m.metadata.name.endsWith('-go-agent')),
    false,
  );
}

describe('a service added to a copy of the repo is covered by its entry and compose service alone', function () {
  this.timeout(60_000);
  let dir = '';
  before(async function () {
    dir = repoCopy();
    assert.ok((await generate(dir, '--check')).ok, 'the copy starts in step');
    addThrowawayService(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the drift check names what the new entry changes until make services runs', async function () {
    const check = await generate(dir, '--check');
    assert.equal(check.ok, false);
    assert.match(check.output, /prometheus\/rules\/services\.yml drifted/);
    assert.match(check.output, /alertmanager\/alertmanager\.yml drifted/);
    assert.ok((await generate(dir)).ok);
    assert.ok((await generate(dir, '--check')).ok);
  });

  it('gets its own rule group: burn-rate pages with its service and team, valid for promtool', () =>
    expectRuleGroup(dir));

  it("routes its pages to its team's receiver, which delivers to the local alert receiver", () =>
    expectTeamRoute(dir));

  it('gets its probe target (job blackbox) from its entry, and its ServiceDown goes to its team', () =>
    expectProbeTarget(dir));

  it("is in the dashboards' service variable", function () {
    const variable = serviceVariable(loadServices(dir)).build();
    assert.equal(variable.query, 'agent-service,python-agent,go-agent,java-agent');
  });

  it('a scraped one gets its scrape target, labelled with its job and name, removed with its entry', () =>
    expectScrapeTarget(dir));

  it('make native starts its native command on a port of its own, ready, then stopped', () =>
    expectNativeStart(dir));

  it("the chart's helm template has the scraped one's ServiceMonitor, job, port and path from its entry", function () {
    if (!pinnedTool('helm')) return this.skip();
    expectServiceMonitor(dir);
  });

  it('has an OTLP path to Prometheus: its compose service exports to the Collector, whose metrics pipeline ends in Prometheus', function () {
    const compose = YAML.parse(readFileSync(join(dir, 'docker-compose.yml'), 'utf8'));
    const endpoint = compose.services['go-agent'].environment.OTEL_EXPORTER_OTLP_ENDPOINT;
    assert.match(endpoint, /^http:\/\/otel-collector:4318$/);
    const collector = YAML.parse(readFileSync(join(dir, 'otel-collector/config.yaml'), 'utf8'));
    const metrics = collector.service.pipelines.metrics;
    assert.ok(metrics.receivers.includes('otlp'), JSON.stringify(metrics));
    assert.ok(
      metrics.exporters.some((e: string) => /prometheus/.test(e)),
      `no exporter to Prometheus in ${JSON.stringify(metrics)}`,
    );
  });
});
