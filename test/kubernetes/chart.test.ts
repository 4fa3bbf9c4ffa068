// The Helm chart with the real helm (pinned build): lint and template for the defaults and
// the combinations that matter, what the rendered output must hold, values the schema must
// refuse, and the rendered service environment checked by the service's own config loader.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import YAML from 'yaml';
import {
  DASHBOARDS_LEFT_TO_KUBE_PROMETHEUS_STACK,
  LEFT_TO_KUBE_PROMETHEUS_STACK,
  NOT_RENDERED_ON_KUBERNETES,
} from '../../scripts/lib/helm/kube-prometheus-stack.ts';
import { matcherValues } from '../../scripts/lib/helm/promql.ts';
import { alertNames, type RuleFile } from '../../scripts/lib/helm/rules.ts';
import { program, run } from '../lib/programs.ts';
import { CHART_PROBES_FILE, chartProbesFile } from '../../scripts/lib/helm/probes.ts';
import { GENERATED_DIR } from '../../scripts/lib/helm/sync.ts';
import {
  CHART,
  COMBINATIONS,
  byKind,
  lintChart,
  renderChart,
  type KubeObject,
} from '../lib/helm.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

interface Container {
  name: string;
  args?: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { key: string; name?: string } };
  }[];
  securityContext?: Record<string, unknown>;
  startupProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  resources?: { limits?: { memory?: string } };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
  containers: Container[];
}
const podSpec = (o: KubeObject): PodSpec =>
  (o.spec as { template: { spec: PodSpec } }).template.spec;
const ruleGroups = (o: KubeObject): RuleFile => o.spec as RuleFile;

function appDeployment(objects: KubeObject[]): KubeObject {
  const app = byKind(objects, 'Deployment').find((d) => d.metadata.name.endsWith('-app'));
  assert.ok(app, 'no Deployment of the service');
  return app;
}

/**
 * The service container's environment, with Secret references filled from `secret` and
 * `$(NAME)` references to earlier variables expanded, as the kubelet does.
 */
function appEnv(objects: KubeObject[], secret: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const e of podSpec(appDeployment(objects)).containers[0].env ?? []) {
    const key = e.valueFrom?.secretKeyRef?.key;
    env[e.name] = key
      ? secret[key]
      : e.value?.replace(
          /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
          (ref, name: string) => env[name] ?? ref,
        );
  }
  return env;
}

/**
 * The service's own loadConfig (app/src/config.ts) on `env`, in a child Node: the service's
 * sources use TypeScript the tooling's type stripping does not (parameter properties).
 */
function serviceConfig(env: NodeJS.ProcessEnv): {
  port: number;
  managementPort?: number;
  graceMs: number;
} {
  const module = pathToFileURL(join(REPO_ROOT, 'app/src/config.ts')).href;
  const script = `import { loadConfig } from ${JSON.stringify(module)};
    const c = loadConfig(JSON.parse(process.env.RENDERED_ENV));
    console.log(JSON.stringify({ port: c.port, managementPort: c.managementPort, graceMs: c.shutdown.graceMs }));`;
  const r = spawnSync(
    process.execPath,
    [
      '--experimental-transform-types',
      '--disable-warning=ExperimentalWarning',
      '--input-type=module',
      '-e',
      script,
    ],
    {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, RENDERED_ENV: JSON.stringify(env) },
      timeout: 30_000,
    },
  );
  assert.equal(r.status, 0, `the service refuses the rendered environment:\n${r.stderr}`);
  return JSON.parse(r.stdout) as { port: number; managementPort?: number; graceMs: number };
}

describe('helm chart: lint and template', function () {
  this.timeout(120_000);

  for (const [name, values] of Object.entries(COMBINATIONS)) {
    it(`lints and renders: ${name}`, function () {
      const lint = lintChart(values);
      assert.ok(lint.ok, lint.output);
      const r = renderChart({ values });
      assert.ok(r.ok, r.output);
      assert.ok(r.objects.length > 5, r.output);
    });
  }
});

/** The chart rendered once with its default values. */
function renderedChartFixture() {
  let objects: KubeObject[] = [];
  before(function () {
    const r = renderChart({ namespace: 'agents' });
    assert.ok(r.ok, r.output);
    objects = r.objects;
  });
  return {
    get objects() {
      return objects;
    },
  };
}

function renderedRules(f: ReturnType<typeof renderedChartFixture>): void {
  it('PrometheusRules with every alert of alerts.yml except those left to kube-prometheus-stack', function () {
    const source = YAML.parse(
      readFileSync(join(REPO_ROOT, 'prometheus/rules/alerts.yml'), 'utf8'),
    ) as RuleFile;
    const rendered = new Set(
      byKind(f.objects, 'PrometheusRule').flatMap((o) => alertNames(ruleGroups(o))),
    );
    for (const alert of alertNames(source)) {
      const left = alert in LEFT_TO_KUBE_PROMETHEUS_STACK || alert in NOT_RENDERED_ON_KUBERNETES;
      assert.equal(
        rendered.has(alert),
        !left,
        `${alert}: ${left ? 'left to kube-prometheus-stack' : 'missing'}`,
      );
    }
  });

  it('every rendered rule carries namespace="agents", alerts built from sum(...) included', function () {
    for (const o of byKind(f.objects, 'PrometheusRule')) {
      for (const group of ruleGroups(o).groups) {
        for (const rule of group.rules) {
          assert.equal(
            rule.labels?.namespace,
            'agents',
            `${o.metadata.name}: ${rule.alert ?? rule.record}`,
          );
          assert.doesNotMatch(rule.expr, /__RELEASE_NAMESPACE__/);
        }
      }
    }
  });

  it('every job a rendered rule reads is the job a rendered ServiceMonitor or Probe sets', function () {
    const set = new Set<string>();
    for (const sm of byKind(f.objects, 'ServiceMonitor')) {
      for (const ep of (
        sm.spec as { endpoints: { relabelings?: { targetLabel: string; replacement: string }[] }[] }
      ).endpoints) {
        for (const r of ep.relabelings ?? []) if (r.targetLabel === 'job') set.add(r.replacement);
      }
    }
    for (const probe of byKind(f.objects, 'Probe'))
      set.add((probe.spec as { jobName: string }).jobName);
    assert.deepEqual([...set].sort(), [
      'app',
      'blackbox',
      'jaeger',
      'otel-collector',
      'spanmetrics',
    ]);
    for (const o of byKind(f.objects, 'PrometheusRule')) {
      for (const rule of ruleGroups(o).groups.flatMap((g) => g.rules)) {
        for (const job of matcherValues(rule.expr, 'job'))
          assert.ok(set.has(job), `${rule.alert ?? rule.record} reads job ${job}`);
      }
    }
  });
}

function renderedObjects(f: ReturnType<typeof renderedChartFixture>): void {
  it('ServiceMonitors, PrometheusRules and the AlertmanagerConfig carry the release label', function () {
    for (const kind of ['ServiceMonitor', 'PrometheusRule', 'AlertmanagerConfig']) {
      assert.ok(byKind(f.objects, kind).length > 0, `no ${kind}`);
      for (const o of byKind(f.objects, kind))
        assert.equal(o.metadata.labels?.release, 'kube-prometheus-stack', o.metadata.name);
    }
  });

  it('one ConfigMap per dashboard, labelled for the Grafana sidecar, datasource uid prometheus', function () {
    const dashboards = readFileSync(join(REPO_ROOT, 'grafana/dashboards/agent-llm.json'), 'utf8');
    const maps = byKind(f.objects, 'ConfigMap').filter(
      (c) => c.metadata.labels?.grafana_dashboard === '1',
    );
    // As many as grafana/dashboards/ holds, not a number copied from there, but those that
    // read compose's own exporters (kube-prometheus-stack has its own).
    const files = readdirSync(join(REPO_ROOT, 'grafana/dashboards')).filter(
      (f) => f.endsWith('.json') && !DASHBOARDS_LEFT_TO_KUBE_PROMETHEUS_STACK.includes(f),
    );
    assert.equal(maps.length, files.length);
    const llm = maps.find((m) => m.data?.['agent-llm.json']);
    assert.equal(llm?.data?.['agent-llm.json'], dashboards);
    for (const m of maps) {
      const uids =
        JSON.stringify(Object.values(m.data ?? {}).map((d) => JSON.parse(d) as unknown)).match(
          /"datasource":\{"type":"prometheus","uid":"[^"]*"/g,
        ) ?? [];
      for (const u of uids) assert.match(u, /"uid":"prometheus"/);
    }
  });

  it('the service: one replica, Recreate, probes, non-root read-only, drain window inside the grace period', function () {
    const app = appDeployment(f.objects);
    const spec = app.spec as { replicas: number; strategy: { type: string } };
    assert.equal(spec.replicas, 1);
    assert.equal(spec.strategy.type, 'Recreate');
    const pod = podSpec(app);
    const c = pod.containers[0];
    assert.equal(c.startupProbe?.httpGet?.path, '/health/live');
    assert.equal(c.livenessProbe?.httpGet?.path, '/health/live');
    assert.equal(c.readinessProbe?.httpGet?.path, '/health/ready');
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.deepEqual(c.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const graceMs = Number(c.env?.find((e) => e.name === 'SHUTDOWN_GRACE_MS')?.value);
    assert.ok(
      pod.terminationGracePeriodSeconds! * 1000 > graceMs,
      `${pod.terminationGracePeriodSeconds} s vs ${graceMs} ms`,
    );
    assert.equal(byKind(f.objects, 'PodDisruptionBudget').length, 0);
  });
}

function serviceEnvAndPolicy(f: ReturnType<typeof renderedChartFixture>): void {
  it("the service's heap limit sits under its memory limit, as in compose", function () {
    const c = podSpec(appDeployment(f.objects)).containers[0];
    const options = String(c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value);
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(options)?.[1]);
    const limit = String(c.resources?.limits?.memory);
    assert.match(limit, /^\d+Mi$/);
    assert.ok(heapMiB > 0 && heapMiB < parseInt(limit, 10) * 0.75, `${options} vs ${limit}`);
  });

  it("the rendered environment passes the service's own config check", function () {
    const env = appEnv(f.objects, {
      API_KEYS: 'k8s-test-key-0123456789abcdef:pro',
      ADMIN_TOKEN: 'k8s-Zq7vK2pX9mR4tW8nB3yH6jL1fD5sG0cA',
      PROBE_API_KEY: 'k8s-probe-key-0123456789abcdef',
    });
    // The synthetic probe's key joins the service's own, at the free tier.
    assert.equal(
      env.API_KEYS,
      'k8s-test-key-0123456789abcdef:pro,k8s-probe-key-0123456789abcdef:free',
    );
    const config = serviceConfig(env);
    assert.ok(config.managementPort !== undefined && config.managementPort !== config.port);
    assert.equal(config.graceMs, 10_000);
  });

  it('the NetworkPolicy opens the management port to Prometheus only', function () {
    const np = byKind(f.objects, 'NetworkPolicy').find((n) => n.metadata.name.endsWith('-app'));
    const ingress = (np?.spec as { ingress: { ports: { port: string }[]; from?: unknown[] }[] })
      .ingress;
    const mgmt = ingress.find((i) => i.ports.some((p) => p.port === 'management'));
    assert.deepEqual(mgmt?.from, [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      },
    ]);
  });
}

describe('helm chart: what the default install holds', function () {
  this.timeout(120_000);
  const f = renderedChartFixture();
  renderedRules(f);
  renderedObjects(f);
  serviceEnvAndPolicy(f);
});

interface ProbeSpec {
  jobName: string;
  module: string;
  prober: { url: string };
  targets: { staticConfig: { static: string[]; labels: Record<string, string> } };
}

/** The blackbox exporter runs the repo's config and reads the key the service adds to its keys. */
function expectExporterReadsTheKey(objects: KubeObject[]): void {
  const config = byKind(objects, 'ConfigMap').find((c) => c.metadata.name.endsWith('-blackbox'));
  assert.equal(
    config?.data?.['blackbox.yml'],
    readFileSync(join(REPO_ROOT, 'blackbox/blackbox.yml'), 'utf8'),
  );
  const deployment = byKind(objects, 'Deployment').find((d) =>
    d.metadata.name.endsWith('-blackbox'),
  )!;
  const pod = podSpec(deployment) as PodSpec & {
    volumes: {
      name: string;
      secret?: { secretName: string; items: { key: string; path: string }[] };
    }[];
  };
  const mounts = (
    pod.containers[0] as unknown as { volumeMounts: { name: string; mountPath: string }[] }
  ).volumeMounts;
  const keyVolume = pod.volumes.find((v) => v.secret)!;
  assert.equal(mounts.find((m) => m.name === keyVolume.name)?.mountPath, '/run/secrets');
  assert.deepEqual(keyVolume.secret!.items, [{ key: 'PROBE_API_KEY', path: 'probe_api_key' }]);
  const secret = byKind(objects, 'Secret').find(
    (o) => o.metadata.name === keyVolume.secret!.secretName,
  );
  assert.match(
    Buffer.from(String(secret?.data?.PROBE_API_KEY), 'base64').toString(),
    /^[A-Za-z0-9]{32}$/,
  );
  const appKeyRef = podSpec(appDeployment(objects)).containers[0].env?.find(
    (e) => e.name === 'PROBE_API_KEY',
  );
  assert.equal(
    (appKeyRef?.valueFrom?.secretKeyRef as { name?: string } | undefined)?.name,
    keyVolume.secret!.secretName,
  );
  assert.equal(pod.securityContext?.runAsNonRoot, true);
}

describe('helm chart: the synthetic probe', function () {
  this.timeout(120_000);
  const f = renderedChartFixture();

  it("probes the API port through the service's Service, as job blackbox with its service label", function () {
    const [probe] = byKind(f.objects, 'Probe');
    assert.ok(probe, 'no Probe');
    const spec = probe.spec as ProbeSpec;
    assert.equal(spec.jobName, 'blackbox');
    assert.equal(spec.module, 'agent_api');
    const app = byKind(f.objects, 'Service').find((o) => o.metadata.name.endsWith('-app'))!;
    const api = (app.spec as { ports: { name: string; port: number }[] }).ports.find(
      (p) => p.name === 'http',
    )!;
    assert.deepEqual(spec.targets.staticConfig.static, [
      `http://${app.metadata.name}.agents.svc:${api.port}/v1/agents`,
    ]);
    assert.deepEqual(spec.targets.staticConfig.labels, { service_name: 'agent-service' });
    const exporter = byKind(f.objects, 'Service').find((o) =>
      o.metadata.name.endsWith('-blackbox'),
    )!;
    assert.equal(spec.prober.url, `${exporter.metadata.name}.agents.svc:9115`);
  });

  it('the exporter runs blackbox/blackbox.yml and reads the key the service adds to its keys', function () {
    expectExporterReadsTheKey(f.objects);
  });

  it("a services.yml entry's probe (python-agent) is a Probe of its path and module, by its entry", function () {
    const probe = byKind(f.objects, 'Probe').find((p) => p.metadata.name.endsWith('-python-agent'));
    assert.ok(
      probe,
      byKind(f.objects, 'Probe')
        .map((p) => p.metadata.name)
        .join(', '),
    );
    const spec = probe.spec as ProbeSpec;
    assert.equal(spec.jobName, 'blackbox');
    assert.equal(spec.module, 'http_2xx');
    assert.deepEqual(spec.targets.staticConfig, {
      static: ['http://python-agent.agents.svc:8010/health/ready'],
      labels: { service_name: 'python-agent' },
    });
  });

  it("a target group a fork adds to prometheus.yml's blackbox job gets a Probe of its own", function () {
    const probes = byKind(renderChart({}, chartWithProbedService()).objects, 'Probe');
    const go = probes.find((p) => p.metadata.name === 'obs-agent-observability-go-agent');
    assert.ok(go, probes.map((p) => p.metadata.name).join(', '));
    const spec = go.spec as ProbeSpec;
    assert.equal(spec.jobName, 'blackbox');
    assert.equal(spec.module, 'agent_api');
    assert.deepEqual(spec.targets.staticConfig, {
      static: ['http://go-agent.agents.svc:8080/v1/agents?limit=1'],
      labels: { service_name: 'go-agent' },
    });
  });
});

/** A copy of the chart as `make helm-sync` writes it after a fork probes go-agent in compose. */
function chartWithProbedService(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chart-'));
  cpSync(CHART, dir, { recursive: true });
  const prometheus = YAML.parseDocument(
    readFileSync(join(REPO_ROOT, 'prometheus/prometheus.yml'), 'utf8'),
  );
  const jobs = prometheus.get('scrape_configs') as YAML.YAMLSeq<YAML.YAMLMap>;
  const blackbox = jobs.items.find((j) => j.get('job_name') === 'blackbox')!;
  (blackbox.get('static_configs') as YAML.YAMLSeq).add(
    prometheus.createNode({
      targets: ['http://go-agent:8080/v1/agents?limit=1'],
      labels: { service_name: 'go-agent' },
    }),
  );
  const file = join(dir, GENERATED_DIR, CHART_PROBES_FILE);
  writeFileSync(file, chartProbesFile(prometheus.toString()));
  return dir;
}

describe('helm chart: the Collector it runs', function () {
  this.timeout(120_000);

  for (const name of ['defaults', 'external OTLP backend, tail sampling']) {
    it(`otelcol validate accepts the rendered, layered config: ${name}`, function () {
      const otelcol = program('otelcol', { pinnedOnly: true });
      assert.ok(otelcol, 'no pinned otelcol: make tools builds it');
      const r = renderChart({ values: COMBINATIONS[name] });
      const cm = byKind(r.objects, 'ConfigMap').find((c) => c.metadata.name.endsWith('-collector'));
      const args =
        podSpec(
          byKind(r.objects, 'Deployment').find((d) => d.metadata.name.endsWith('-collector'))!,
        ).containers[0].args ?? [];
      const dir = mkdtempSync(join(tmpdir(), 'collector-'));
      for (const [file, text] of Object.entries(cm?.data ?? {}))
        writeFileSync(join(dir, file), text);
      const local = args.map((a) => a.replace('/etc/otelcol/', `${dir}/`));
      const v = run(otelcol.path, ['validate', ...local]);
      assert.equal(v.code, 0, v.output);
    });
  }
});

describe('helm chart: the logs pipeline', function () {
  this.timeout(120_000);

  const collectorOverlay = (objects: KubeObject[]): string =>
    byKind(objects, 'ConfigMap').find((c) => c.metadata.name.endsWith('-collector'))?.data?.[
      'kubernetes.yaml'
    ] ?? '';
  const logsExporter = (objects: KubeObject[]) => appEnv(objects, {}).OTEL_LOGS_EXPORTER;

  it('runs no log store: by default the service exports no log records (stdout only)', function () {
    const r = renderChart({ values: COMBINATIONS.defaults });
    assert.equal(logsExporter(r.objects), 'none');
    assert.doesNotMatch(collectorOverlay(r.objects), /logs_endpoint/);
  });

  it('with logs.otlpEndpoint: the Collector sends log records there, the service exports them', function () {
    const r = renderChart({ values: COMBINATIONS['external OTLP backend, tail sampling'] });
    assert.equal(logsExporter(r.objects), 'otlp');
    assert.match(
      collectorOverlay(r.objects),
      /otlp_http\/victorialogs:\n\s+logs_endpoint: "http:\/\/victorialogs\.logging:9428\/insert\/opentelemetry\/v1\/logs"/,
    );
  });

  it('refuses a logs endpoint that is not an http(s) URL', function () {
    const r = renderChart({ values: { logs: { otlpEndpoint: 'victorialogs:9428' } } });
    assert.equal(r.ok, false);
    assert.match(r.output, /otlpEndpoint/);
  });
});

describe('helm chart: values it refuses, with a message naming them', function () {
  this.timeout(120_000);
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown trace backend', { traces: { backend: 'zipkin' } }, /traces\.backend|backend/],
    ['a zero drain window', { app: { shutdown: { graceSeconds: 0 } } }, /graceSeconds/],
    [
      'a drain window the service would refuse',
      { app: { shutdown: { graceSeconds: 4, delaySeconds: 3, telemetryFlushSeconds: 2 } } },
      /delaySeconds.*graceSeconds/,
    ],
    ['a misspelt key', { app: { replicaCount: 3 } }, /replicaCount/],
    ['the management port on the API port', { app: { managementPort: 8000 } }, /managementPort/],
    ['API keys in plain values', { app: { env: { API_KEYS: 'x' } } }, /API_KEYS/],
    ['otlp without an endpoint', { traces: { backend: 'otlp' } }, /traces\.otlp\.endpoint/],
  ];
  for (const [what, values, message] of bad) {
    it(`refuses ${what}`, function () {
      const r = renderChart({ values });
      assert.equal(r.ok, false, `rendered although it should not:\n${r.yaml.slice(0, 200)}`);
      assert.match(r.output, message);
    });
  }
});
