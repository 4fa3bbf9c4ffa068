// The rendered chart applied to a real kube-apiserver (with etcd, on loopback) as a server-side
// dry run, after the Prometheus Operator's CRDs: what schema checks miss (defaulting, CRD
// validation, immutable fields, admission) is checked by the API server itself, and the
// namespace enforces the `restricted` Pod Security Standard. Broken manifests must be refused,
// so the check is known to bite. Missing builds fail the test: run `make tools`.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import {
  CHART,
  COMBINATIONS,
  crdDir,
  kubeValidateTool,
  pinnedTool,
  renderChart,
} from '../lib/helm.ts';
import {
  CHART_PROBES_FILE,
  type ChartProbe,
  type chartProbes,
} from '../../scripts/lib/helm/probes.ts';
import { CHART_SERVICES_FILE, chartServicesFile } from '../../scripts/lib/helm/services.ts';
import { GENERATED_DIR } from '../../scripts/lib/helm/sync.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { loadServices, parseServices } from '../../scripts/lib/services.ts';
import { startApiServer, type ApiServer } from '../lib/kube-apiserver.ts';

const NAMESPACE = 'agents';
const CRDS = ['servicemonitors', 'probes', 'prometheusrules', 'alertmanagerconfigs'];

function manifestFile(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'manifests-')), 'manifests.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** Server-side dry-run apply; Pod Security warnings count as failures. */
function dryRunApply(api: ApiServer, yaml: string): { ok: boolean; output: string } {
  const r = api.kubectl([
    'apply',
    '--server-side',
    '--dry-run=server',
    '--field-manager=validate',
    '-n',
    NAMESPACE,
    '-f',
    manifestFile(yaml),
  ]);
  const warnings = r.stderr.split('\n').filter((l) => /^Warning:/.test(l));
  return { ok: r.code === 0 && warnings.length === 0, output: r.output };
}

/**
 * A copy of the chart as `make services` and `make helm-sync` write it for a fork with one
 * scraped entry more and one more service probed.
 */
function chartWithForkServices(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chart-'));
  cpSync(CHART, dir, { recursive: true });
  const scraped = parseServices(`services:
  - name: java-agent
    signals: scrape
    scrape_job: java-agent
    scrape_target: java-agent:9464
    rules: generated
    slo: { availability: 0.99, latency: { threshold_seconds: 0.5, target: 0.9 } }
    team: { name: payments, receiver: payments-page }
    runbook_base: https://example.com/runbooks/
`);
  const file = join(dir, GENERATED_DIR, CHART_SERVICES_FILE);
  writeFileSync(file, chartServicesFile([...loadServices(REPO_ROOT), ...scraped]));
  const probes: ReturnType<typeof chartProbes> = { probes: [GO_AGENT_PROBE] };
  writeFileSync(join(dir, GENERATED_DIR, CHART_PROBES_FILE), YAML.stringify(probes));
  return dir;
}

const GO_AGENT_PROBE: ChartProbe = {
  service_name: 'go-agent',
  service: 'go-agent',
  port: 8080,
  path: '/v1',
  module: 'agent_api',
};

async function prepare(api: ApiServer): Promise<void> {
  const files = CRDS.map((c) => join(crdDir(), `monitoring.coreos.com_${c}.yaml`));
  const crds = api.kubectl(['apply', '--server-side', ...files.flatMap((f) => ['-f', f])]);
  assert.equal(
    crds.code,
    0,
    `applying the Operator's CRDs from ${crdDir()} (make tools fetches them):\n${crds.output}`,
  );
  const names = CRDS.map((c) => `crd/${c}.monitoring.coreos.com`);
  // `kubectl wait` fails, rather than waits, on a CRD whose status is not written yet.
  const wait = () =>
    api.kubectl(['wait', '--for=condition=Established', '--timeout=10s', ...names], 20_000);
  const deadline = Date.now() + 60_000;
  let ready = wait();
  while (ready.code !== 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    ready = wait();
  }
  assert.equal(ready.code, 0, ready.output);
  const ns = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: NAMESPACE,
      labels: {
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
      },
    },
  };
  const created = api.kubectl(['apply', '--server-side', '-f', manifestFile(YAML.stringify(ns))]);
  assert.equal(created.code, 0, created.output);
}

/** The objects a fork's own services add to the chart, applied. */
function expectForkServicesAccepted(api: ApiServer): void {
  const r = renderChart({ namespace: NAMESPACE }, chartWithForkServices());
  assert.ok(r.ok, r.output);
  const names = r.objects.map((o) => `${o.kind}/${o.metadata.name}`);
  for (const name of [
    'ServiceMonitor/obs-agent-observability-java-agent',
    'Probe/obs-agent-observability-go-agent',
  ])
    assert.ok(names.includes(name), names.join(', '));
  const applied = dryRunApply(api, r.yaml);
  assert.ok(applied.ok, applied.output);
}

describe('helm chart on a real kube-apiserver (server-side dry run)', function () {
  this.timeout(180_000);
  let api: ApiServer | undefined;

  before(async function () {
    const missing = (['etcd', 'kube-apiserver', 'kubectl'] as const).filter((t) => !pinnedTool(t));
    if (missing.length > 0) {
      // Loud either way: skipped (shown as pending) only while the fallback can run instead.
      const why = `${missing.join(', ')} not built (make tools)`;
      if (!kubeValidateTool()) throw new Error(`${why}, and no fallback validator either`);
      console.log(
        `      NOT VALIDATED AGAINST AN API SERVER: ${why}; fallback.test.ts validates instead`,
      );
      this.skip();
    }
    api = await startApiServer();
    await prepare(api);
  });
  after(async function () {
    await api?.stop();
  });

  for (const [name, values] of Object.entries(COMBINATIONS)) {
    it(`accepts every rendered object: ${name}`, function () {
      const r = renderChart({ namespace: NAMESPACE, values });
      assert.ok(r.ok, r.output);
      const applied = dryRunApply(api!, r.yaml);
      assert.ok(applied.ok, applied.output);
      assert.equal(
        (applied.output.match(/serverside-applied \(server dry run\)/g) ?? []).length,
        r.objects.length,
        applied.output,
      );
    });
  }

  it("accepts a fork's services: a scraped entry's ServiceMonitor, another probed service's Probe", function () {
    expectForkServicesAccepted(api!);
  });

  it('refuses what the CRD schema forbids (an AlertmanagerConfig route with a malformed duration)', function () {
    const r = renderChart({ namespace: NAMESPACE });
    const broken = r.yaml.replace('groupWait: 30s', 'groupWait: 30 seconds');
    assert.notEqual(broken, r.yaml);
    const applied = dryRunApply(api!, broken);
    assert.equal(applied.ok, false, applied.output);
    assert.match(applied.output, /groupWait/);
  });

  it('flags a pod the restricted Pod Security Standard forbids', function () {
    const r = renderChart({ namespace: NAMESPACE });
    const broken = r.yaml.replace(
      'readOnlyRootFilesystem: true\n            runAsNonRoot: true',
      'readOnlyRootFilesystem: true\n            runAsNonRoot: false',
    );
    assert.notEqual(broken, r.yaml);
    const applied = dryRunApply(api!, broken);
    assert.equal(applied.ok, false, applied.output);
    assert.match(applied.output, /PodSecurity "restricted/);
  });
});
