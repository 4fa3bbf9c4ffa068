// The chart's generated files (make helm-sync): the PromQL scoping, the alerts left to
// kube-prometheus-stack, and the drift check that fails on a hand-edited copy.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import {
  LEFT_TO_KUBE_PROMETHEUS_STACK,
  NOT_RENDERED_ON_KUBERNETES,
} from '../../scripts/lib/helm/kube-prometheus-stack.ts';
import {
  addMatcher,
  addMatcherToQueries,
  keepLabel,
  labelVectorLiterals,
} from '../../scripts/lib/helm/promql.ts';
import { alertNames, chartRules, type RuleFile } from '../../scripts/lib/helm/rules.ts';
import { CHART_DIR, GENERATED_DIR, drift, generatedFiles } from '../../scripts/lib/helm/sync.ts';
import { CHART } from '../lib/helm.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const readRules = (name: string): RuleFile =>
  YAML.parse(readFileSync(join(REPO_ROOT, 'prometheus/rules', name), 'utf8')) as RuleFile;

function runSync(args: string[]): { code: number | null; output: string } {
  const r = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', join(REPO_ROOT, 'scripts/helm-sync.ts'), ...args],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('helm-sync: PromQL scoping', function () {
  it('adds the matcher to every selector, inside functions, ranges and subqueries', function () {
    const expr =
      'sum by (job) (rate({__name__=~"a(_total)?"}[5m])) / absent(up{job="app"}) + foo + bar{} offset 5m + max_over_time(x[5m:1m])';
    assert.equal(
      addMatcher(expr, 'namespace', 'ns'),
      'sum by (job) (rate({namespace="ns", __name__=~"a(_total)?"}[5m])) / absent(up{namespace="ns", job="app"}) + foo{namespace="ns"} + bar{namespace="ns"} offset 5m + max_over_time(x{namespace="ns"}[5m:1m])',
    );
  });

  it('leaves strings, label values and numbers alone', function () {
    assert.equal(
      addMatcher('label_replace(vector(1), "dst", "up{x}", "", "") > 2', 'namespace', 'ns'),
      'label_replace(vector(1), "dst", "up{x}", "", "") > 2',
    );
  });

  it('refuses PromQL that does not parse, and a selector that already matches the label', function () {
    assert.throws(() => addMatcher('sum(rate(x[5m])', 'namespace', 'ns'), /does not parse/);
    assert.throws(() => addMatcher('up{namespace="other"}', 'namespace', 'ns'), /already matches/);
  });

  it('keeps the label through every aggregation, and refuses one that drops it on purpose', function () {
    assert.equal(
      keepLabel(
        'sum(rate(a[5m])) or sum by (route) (b) / max without (x) (c) + count by () (d)',
        'namespace',
      ),
      'sum by (namespace) (rate(a[5m])) or sum by (namespace, route) (b) / max without (x) (c) + count by (namespace) (d)',
    );
    assert.throws(
      () => keepLabel('sum without (namespace) (a)', 'namespace'),
      /aggregates "namespace" away/,
    );
  });

  it('gives vector() literals the label, so `x or vector(0)` stays one series', function () {
    assert.equal(
      labelVectorLiterals('(a{namespace="n"} or vector(0)) + b', 'namespace', 'n'),
      '(a{namespace="n"} or label_replace(vector(0), "namespace", "n", "", "")) + b',
    );
    assert.equal(labelVectorLiterals('vector_like(a)', 'namespace', 'n'), 'vector_like(a)');
  });

  it('scopes the queries of annotation templates', function () {
    assert.equal(
      addMatcherToQueries(
        'limit {{ with query "threshold:x" }}{{ . | first | value }}{{ end }}',
        'namespace',
        'ns',
      ),
      'limit {{ with query "threshold:x{namespace=\\"ns\\"}" }}{{ . | first | value }}{{ end }}',
    );
  });
});

describe('helm-sync: rules for the chart', function () {
  const alerts = readRules('alerts.yml');

  it('renders every alert except those left to kube-prometheus-stack', function () {
    const rendered = alertNames(chartRules(alerts, 'alerts.yml'));
    const expected = alertNames(alerts).filter(
      (a) => !(a in LEFT_TO_KUBE_PROMETHEUS_STACK) && !(a in NOT_RENDERED_ON_KUBERNETES),
    );
    assert.deepEqual(rendered, expected);
  });

  it('gives every rule the namespace label', function () {
    for (const file of ['thresholds.yml', 'recording.yml', 'alerts.yml']) {
      for (const group of chartRules(readRules(file), file).groups) {
        for (const rule of group.rules) {
          assert.equal(
            rule.labels?.namespace,
            '__RELEASE_NAMESPACE__',
            `${rule.alert ?? rule.record}`,
          );
        }
      }
    }
  });

  it('refuses an alert about a job the chart does not scrape, naming where to map it', function () {
    const file: RuleFile = {
      groups: [{ name: 'g', rules: [{ alert: 'GrafanaDown', expr: 'up{job="grafana"} == 0' }] }],
    };
    assert.throws(
      () => chartRules(file, 'x.yml'),
      /GrafanaDown: reads job grafana.*kube-prometheus-stack\.ts/s,
    );
  });

  it('maps each alert it leaves out to a kube-prometheus-stack alert in docs/kubernetes.md', function () {
    const doc = readFileSync(join(REPO_ROOT, 'docs/kubernetes.md'), 'utf8');
    for (const [ours, theirs] of Object.entries(LEFT_TO_KUBE_PROMETHEUS_STACK)) {
      const name = theirs.split(' ')[0];
      assert.match(
        doc,
        new RegExp(`\\|\\s*\`${ours}\`\\s*\\|\\s*\`${name}\``),
        `${ours} → ${theirs}`,
      );
    }
    for (const alert of Object.keys(NOT_RENDERED_ON_KUBERNETES)) {
      assert.match(doc, new RegExp(`\`${alert}\` is not rendered`), alert);
    }
  });
});

describe('helm-sync: drift check', function () {
  this.timeout(60_000);

  it('the committed chart is in step with prometheus/rules, grafana/dashboards and the configs', function () {
    assert.deepEqual(drift(generatedFiles(REPO_ROOT), join(REPO_ROOT, CHART_DIR)), []);
  });

  it('fails on a hand-edited copy, an extra file and a missing one, naming each', function () {
    const copy = join(mkdtempSync(join(tmpdir(), 'chart-')), 'chart');
    cpSync(CHART, copy, { recursive: true });
    const gen = join(copy, GENERATED_DIR);
    const rules = join(gen, 'rules/thresholds.yaml');
    writeFileSync(rules, readFileSync(rules, 'utf8').replace('vector(0.995)', 'vector(0.9)'));
    writeFileSync(join(gen, 'dashboards/hand-made.json'), '{}');
    rmSync(join(gen, 'dashboards/agent-llm.json'));
    const r = runSync(['--check', copy]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /differs: rules\/thresholds\.yaml/);
    assert.match(r.output, /not generated: dashboards\/hand-made\.json/);
    assert.match(r.output, /missing: dashboards\/agent-llm\.json/);
  });
});
