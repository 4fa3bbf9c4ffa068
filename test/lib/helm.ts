// The Helm chart (deploy/helm/agent-observability) as tests see it: the pinned helm, etcd,
// kube-apiserver and kubectl builds (scripts/tools/build-binaries.sh, `make tools`), and
// `helm template` output parsed into objects.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { findBinary, isBuiltFromCurrentInputs, pinnedPath } from '../../scripts/lib/binaries.ts';
import { pinOf } from '../../scripts/lib/pins.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART = join(REPO, 'deploy/helm/agent-observability');

export type KubeTool = 'helm' | 'etcd' | 'kube-apiserver' | 'kubectl';

/** The pinned build of `name` (<cache>/bin/NAME-VERSION), or undefined when not built. */
export function pinnedTool(name: KubeTool): string | undefined {
  const found = findBinary(name);
  return found?.source === 'pinned' ? found.path : undefined;
}

/** Like pinnedTool, but a missing build is an error that says how to get it. */
export function requireTool(name: KubeTool): string {
  const path = pinnedTool(name);
  if (!path)
    throw new Error(
      `${name} is not built: run \`make tools\` (scripts/tools/build-binaries.sh ${name})`,
    );
  return path;
}

/**
 * The fallback validator (deploy/validate) built by `make tools` from its current sources, or
 * undefined (build-binaries.sh's stamp says which sources it was built from).
 */
export function kubeValidateTool(): string | undefined {
  if (kubeValidate === null) {
    const found = findBinary('kube-validate');
    const current = found?.source === 'pinned' && isBuiltFromCurrentInputs('kube-validate');
    kubeValidate = current ? found.path : undefined;
  }
  return kubeValidate;
}
let kubeValidate: string | undefined | null = null; // asked once per test run

/** The Prometheus Operator's CRD files fetched by `make tools`. */
export const crdDir = (): string => pinnedPath('prometheus-operator-crds');

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
  [key: string]: unknown;
}

export interface Rendered {
  ok: boolean;
  output: string;
  objects: KubeObject[];
  /** The manifests as helm printed them. */
  yaml: string;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** Values, written to a file and passed with -f. */
  values?: Record<string, unknown>;
}

/** `helm <args>` with its config and cache in a temporary HOME, so nothing global is touched. */
export function helm(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const home = mkdtempSync(join(tmpdir(), 'helm-home-'));
  const r = spawnSync(requireTool('helm'), args, {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    },
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function valuesArgs(values: Record<string, unknown> | undefined): string[] {
  if (!values) return [];
  const file = join(mkdtempSync(join(tmpdir(), 'helm-values-')), 'values.yaml');
  writeFileSync(file, YAML.stringify(values));
  return ['-f', file];
}

/** Render and lint for the Kubernetes version the validation's API server runs. */
const kubeVersion = (): string[] => ['--kube-version', pinOf('kube-apiserver')?.version ?? ''];

function render(opts: RenderOptions, chart: string): Rendered {
  const args = [
    'template',
    opts.release ?? 'obs',
    chart,
    '--namespace',
    opts.namespace ?? 'agents',
    ...kubeVersion(),
  ];
  const r = helm([...args, ...valuesArgs(opts.values)]);
  const objects =
    r.code === 0
      ? YAML.parseAllDocuments(r.stdout)
          .map((d) => d.toJS() as KubeObject | null)
          .filter((o): o is KubeObject => o !== null)
      : [];
  return { ok: r.code === 0, output: `${r.stdout}${r.stderr}`, objects, yaml: r.stdout };
}

const rendered = new Map<string, Rendered>();

/** `helm template` of the chart, parsed; each set of options is rendered once per test run. */
export function renderChart(opts: RenderOptions = {}, chart = CHART): Rendered {
  const key = JSON.stringify([
    chart,
    opts.release ?? 'obs',
    opts.namespace ?? 'agents',
    opts.values ?? {},
  ]);
  if (!rendered.has(key)) rendered.set(key, render(opts, chart));
  return rendered.get(key)!;
}

/** `helm lint` of the chart with these values. */
export function lintChart(values?: Record<string, unknown>): { ok: boolean; output: string } {
  const r = helm(['lint', CHART, '--strict', ...kubeVersion(), ...valuesArgs(values)]);
  return { ok: r.code === 0, output: `${r.stdout}${r.stderr}` };
}

export const byKind = (objects: KubeObject[], kind: string): KubeObject[] =>
  objects.filter((o) => o.kind === kind);

/**
 * The value combinations every check renders: the defaults and the switches that change
 * which objects exist or how they are wired.
 */
export const COMBINATIONS: Record<string, Record<string, unknown>> = {
  defaults: {},
  'external OTLP backend, tail sampling': {
    traces: { backend: 'otlp', otlp: { endpoint: 'tempo.tracing:4317', insecure: true } },
    collector: { tailSampling: true },
    logs: { otlpEndpoint: 'http://victorialogs.logging:9428/insert/opentelemetry/v1/logs' },
  },
  'no Collector, no NetworkPolicy': {
    collector: { enabled: false },
    app: { otlpEndpoint: 'http://otel-gateway.observability:4318' },
    networkPolicy: { enabled: false },
  },
  'every receiver integration': {
    alertmanagerConfig: {
      slack: { apiURL: { name: 'alerting', key: 'slack-url' }, channel: '#agents' },
      pagerduty: { routingKey: { name: 'alerting', key: 'pagerduty-key' } },
      email: {
        smarthost: 'smtp.example.org:587',
        from: 'alerts@example.org',
        to: 'oncall@example.org',
        authUsername: 'alerts',
        authPassword: { name: 'alerting', key: 'smtp-password' },
      },
    },
    monitoring: { labels: { release: 'monitoring' } },
  },
};
