// promtool on the rules extracted back out of the chart's rendered PrometheusRules: `check
// rules`, the repo's own unit tests (test/rules/*.test.yml) moved into the release namespace,
// and two installs side by side, each keeping its thresholds.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { describeBinary, findBinary } from '../../scripts/lib/binaries.ts';
import {
  LEFT_TO_KUBE_PROMETHEUS_STACK,
  NOT_RENDERED_ON_KUBERNETES,
  RULE_FILES_LEFT_TO_KUBE_PROMETHEUS_STACK,
} from '../../scripts/lib/helm/kube-prometheus-stack.ts';
import type { RuleFile } from '../../scripts/lib/helm/rules.ts';
import { byKind, renderChart } from '../lib/helm.ts';
import { moveRuleTests, parseRuleTests } from '../lib/rule-tests.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const exec = promisify(execFile);
const promtool = findBinary('promtool');
const RELEASE = 'obs';
const FULLNAME = `${RELEASE}-agent-observability`;

async function runPromtool(args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await exec(promtool!.path, args, {
      maxBuffer: 16 << 20,
      timeout: 300_000,
    });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
}

/** Renders the chart into `namespace` and writes each PrometheusRule's groups to dir/<file>.yml. */
function extractRules(namespace: string, dir: string): { files: string[]; groups: Set<string> } {
  const r = renderChart({ release: RELEASE, namespace });
  assert.ok(r.ok, r.output);
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const groups = new Set<string>();
  for (const rule of byKind(r.objects, 'PrometheusRule')) {
    const file = join(dir, `${rule.metadata.name.slice(FULLNAME.length + 1)}.yml`);
    writeFileSync(file, YAML.stringify(rule.spec));
    for (const g of (rule.spec as RuleFile).groups) groups.add(g.name);
    files.push(file);
  }
  return { files, groups };
}

describe(`chart rules under promtool: ${promtool ? describeBinary(promtool) : 'no promtool'}`, function () {
  this.timeout(300_000);
  const work = mkdtempSync(join(tmpdir(), 'chart-rules-'));
  const outcomes = new Map<string, Promise<{ ok: boolean; output: string }>>();
  const testFiles = readdirSync(join(REPO_ROOT, 'test/rules'))
    .filter((f) => f.endsWith('.test.yml'))
    .sort();
  // Tests of rule files the chart does not render (the host and its containers).
  const notInChart = (f: string): boolean =>
    parseRuleTests(readFileSync(join(REPO_ROOT, 'test/rules', f), 'utf8')).rule_files.some((rf) =>
      RULE_FILES_LEFT_TO_KUBE_PROMETHEUS_STACK.includes(basename(rf)),
    );

  // Launched while mocha loads the test files, so promtool works alongside the other suites.
  function launch(): void {
    if (!promtool) return;
    const { files, groups } = extractRules('agents', join(work, 'rules'));
    outcomes.set('check', runPromtool(['check', 'rules', ...files]));
    const move = {
      namespace: 'agents',
      dropAlerts: new Set([
        ...Object.keys(LEFT_TO_KUBE_PROMETHEUS_STACK),
        ...Object.keys(NOT_RENDERED_ON_KUBERNETES),
      ]),
      ruleFile: (path: string) => join(work, 'rules', basename(path)),
      groups,
    };
    for (const f of testFiles.filter((file) => !notInChart(file))) {
      const parsed = parseRuleTests(readFileSync(join(REPO_ROOT, 'test/rules', f), 'utf8'));
      writeFileSync(join(work, f), YAML.stringify(moveRuleTests(parsed, move)));
      outcomes.set(f, runPromtool(['test', 'rules', join(work, f)]));
    }
  }
  let launchError: unknown;
  try {
    launch();
  } catch (err) {
    launchError = err;
  }

  before(function () {
    assert.ok(promtool, 'no promtool: `make tools` builds the pinned one');
    if (launchError) throw launchError;
  });

  it('promtool check rules accepts the extracted rules', async function () {
    const { ok, output } = await outcomes.get('check')!;
    assert.ok(ok, output);
  });

  for (const f of testFiles) {
    it(`test/rules/${f} passes on the extracted rules, moved into the namespace`, async function () {
      if (notInChart(f)) {
        console.log(
          '      skipped: its rules are kube-prometheus-stack’s there (docs/kubernetes.md)',
        );
        this.skip();
      }
      const { ok, output } = await outcomes.get(f)!;
      assert.ok(ok, output);
    });
  }
});

// LLM calls fail at 60 % in namespace `a` and never in `b`, for 10 minutes.
const TWO_INSTALLS_TEST = (files: string[]) => ({
  rule_files: files,
  evaluation_interval: '1m',
  tests: [
    {
      interval: '1m',
      input_series: ['a', 'b'].flatMap((ns) => [
        {
          series: `llm_requests_total{namespace="${ns}", job="app", provider="simulated", status="success"}`,
          values: ns === 'a' ? '0+40x10' : '0+100x10',
        },
        {
          series: `llm_requests_total{namespace="${ns}", job="app", provider="simulated", status="error"}`,
          values: ns === 'a' ? '0+60x10' : '0+0x10',
        },
      ]),
      promql_expr_test: [
        {
          expr: 'threshold:llm_error_ratio',
          eval_time: '5m',
          exp_samples: ['a', 'b'].map((ns) => ({
            labels: `threshold:llm_error_ratio{namespace="${ns}"}`,
            value: 0.5,
          })),
        },
        {
          expr: 'count(ALERTS{alertname="LLMProviderDown", alertstate="firing", namespace="a"})',
          eval_time: '10m',
          exp_samples: [{ labels: '{}', value: 1 }],
        },
        {
          expr: 'ALERTS{alertname="LLMProviderDown", namespace="b"}',
          eval_time: '10m',
          exp_samples: [],
        },
      ],
    },
  ],
});

describe('two installs in one cluster keep their own thresholds', function () {
  this.timeout(300_000);
  const work = mkdtempSync(join(tmpdir(), 'two-installs-'));

  it('the chart: both namespaces record their thresholds, and the alert fires only in `a`', async function () {
    assert.ok(promtool, 'no promtool: `make tools` builds the pinned one');
    const files = [
      ...extractRules('a', join(work, 'a')).files,
      ...extractRules('b', join(work, 'b')).files,
    ];
    writeFileSync(join(work, 'chart.test.yml'), YAML.stringify(TWO_INSTALLS_TEST(files)));
    const r = await runPromtool(['test', 'rules', join(work, 'chart.test.yml')]);
    assert.ok(r.ok, r.output);
  });

  it('control: the repo’s unscoped rules loaded twice fail the same test (they mix both installs)', async function () {
    const files = ['a', 'b'].flatMap((copy) =>
      ['thresholds.yml', 'recording.yml', 'alerts.yml'].map((f) => {
        const dst = join(work, `${copy}-${f}`);
        copyFileSync(join(REPO_ROOT, 'prometheus/rules', f), dst);
        return dst;
      }),
    );
    writeFileSync(join(work, 'repo.test.yml'), YAML.stringify(TWO_INSTALLS_TEST(files)));
    const r = await runPromtool(['test', 'rules', join(work, 'repo.test.yml')]);
    assert.equal(
      r.ok,
      false,
      'the unscoped rules passed: the two-install test cannot tell them apart',
    );
  });
});
