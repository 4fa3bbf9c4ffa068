// Static checks of the alert catalog (prometheus/rules/) against its runbooks and its tests:
// every alert carries the labels and annotations Alertmanager and on-call rely on, links a
// runbook that exists and has every section, and has promtool tests in which it fires, stays
// silent and (if it has a `for:`) is pending. promtool.test.ts runs those tests; this file
// proves they exist, by reading the test files.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import YAML from 'yaml';
import type { Rule, RuleFile, RuleGroup } from '../../scripts/lib/helm/rules.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const RULES_DIR = join(REPO_ROOT, 'prometheus/rules');
const TEST_DIR = join(REPO_ROOT, 'test/rules');
const RUNBOOK_DIR = join(REPO_ROOT, 'docs/runbooks');
const DASHBOARD_DIR = join(REPO_ROOT, 'grafana/dashboards');

const ALERT_GROUPS = ['critical', 'warning', 'info', 'security', 'stack'];
const SEVERITIES = ['critical', 'warning', 'info'];
/** Groups named after a severity hold only that severity. */
const GROUP_SEVERITY: Record<string, string> = {
  critical: 'critical',
  warning: 'warning',
  info: 'info',
};
/** A runbook is named after its alert; README.md and silencing.md are the folder's own pages. */
const isRunbook = (file: string): boolean =>
  file.endsWith('.md') && !['README.md', 'silencing.md'].includes(file);
const RUNBOOK_SECTIONS = ['Meaning', 'Impact', 'Diagnosis', 'Mitigation', 'Silencing'];
/** The catalog's floor: at least this many alerting rules, each with passing unit tests. */
const MIN_ALERTING_RULES = 18;

function readYaml<T>(file: string): T {
  return YAML.parse(readFileSync(file, 'utf8')) as T;
}
function groupsOf(file: string): RuleGroup[] {
  return readYaml<RuleFile>(join(RULES_DIR, file)).groups;
}

const alertGroups = groupsOf('alerts.yml');
// The host and its containers have a file of their own (host.yml, its limits in
// host-thresholds.yml), and the services of services.yml theirs (services.yml, generated):
// the same checks hold for their alerts.
// (services.yml holds each service's recording rules beside its alerts.)
const alerts = [...alertGroups, ...groupsOf('host.yml'), ...groupsOf('services.yml')].flatMap((g) =>
  g.rules.filter((rule) => rule.alert).map((rule) => ({ group: g.name, rule })),
);
const recordingFiles = ['thresholds.yml', 'recording.yml', 'host-thresholds.yml', 'services.yml'];
const recorded = new Map<string, string>(); // name → file
for (const file of recordingFiles) {
  for (const g of groupsOf(file))
    for (const r of g.rules) if (r.record) recorded.set(r.record, file);
}
const alertNames = [...new Set(alerts.map((a) => a.rule.alert!))];

/** Label values fixed in the rule (templated ones depend on the series): they identify it. */
function staticLabels(rule: Rule): Record<string, string> {
  const out: Record<string, string> = { alertname: rule.alert! };
  for (const [k, v] of Object.entries(rule.labels ?? {})) if (!v.includes('{{')) out[k] = v;
  return out;
}
function ruleId(rule: Rule): string {
  const extra = Object.entries(rule.labels ?? {})
    .filter(([k]) => k === 'long_window')
    .map(([k, v]) => `${k}=${v}`);
  return [rule.alert, ...extra].join(' ');
}
function includes(labels: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([k, v]) => labels[k] === v);
}

/** Prometheus duration ("1h30m", "3d6h") in seconds. */
function seconds(duration: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  for (const m of duration.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(m[1]) * units[m[2]];
  return total;
}

/** Metric names an expression reads, and whether it parses. */
function metricNames(expr: string): { names: string[]; error?: string } {
  const names: string[] = [];
  let error: string | undefined;
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError)
        error ??= `syntax error at ${node.from}: "${expr.slice(node.from, node.from + 30)}"`;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        names.push(expr.slice(node.from, node.to));
      }
    },
  });
  return { names, error };
}

// ---------------------------------------------------------------------------- the test files

interface ExpAlert {
  exp_labels?: Record<string, string>;
}
interface TestFile {
  rule_files: string[];
  tests: {
    name?: string;
    alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: ExpAlert[] }[];
    promql_expr_test?: { expr: string; eval_time: string; exp_samples?: { labels: string }[] }[];
  }[];
}
const testFiles = readdirSync(TEST_DIR)
  .filter((f) => f.endsWith('.test.yml'))
  .sort();
const tests = new Map(testFiles.map((f) => [f, readYaml<TestFile>(join(TEST_DIR, f))]));
const BASELINE = 'baseline.test.yml';
/** The quiet baselines: the service's, and the host's and containers' (host.yml's alerts). */
const BASELINES = [BASELINE, 'host-baseline.test.yml'];

/** `ALERTS{a="b", c="d"}` (a promql_expr_test sample) as a label map. */
function parseSeries(text: string): Record<string, string> {
  const m = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{(.*)\}\s*$/.exec(text);
  const out: Record<string, string> = {};
  if (!m) return out;
  if (m[1]) out.__name__ = m[1];
  for (const pair of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g)) {
    out[pair[1]] = pair[2];
  }
  return out;
}

interface Coverage {
  fires: string[];
  silent: string[];
  pending: string[];
}
function coverage(rule: Rule): Coverage {
  const wanted = staticLabels(rule);
  const result: Coverage = { fires: [], silent: [], pending: [] };
  for (const [file, doc] of tests) {
    for (const t of doc.tests) {
      const where = `${file}: ${t.name ?? '(unnamed)'}`;
      for (const check of t.alert_rule_test ?? []) {
        if (check.alertname !== rule.alert) continue;
        const matching = (check.exp_alerts ?? []).filter((a) =>
          includes({ alertname: check.alertname, ...(a.exp_labels ?? {}) }, wanted),
        );
        if (matching.length > 0) result.fires.push(`${where} @ ${check.eval_time}`);
        else if (!BASELINES.includes(file)) result.silent.push(`${where} @ ${check.eval_time}`);
      }
      for (const check of t.promql_expr_test ?? []) {
        for (const sample of check.exp_samples ?? []) {
          const labels = parseSeries(sample.labels);
          if (
            labels.__name__ === 'ALERTS' &&
            labels.alertstate === 'pending' &&
            includes(labels, wanted)
          ) {
            result.pending.push(`${where} @ ${check.eval_time}`);
          }
        }
      }
    }
  }
  return result;
}

// ---------------------------------------------------------------------------- runbooks

function runbookBase(): string {
  const bases = new Set(
    alerts.map(({ rule }) => {
      const url = rule.annotations?.runbook_url ?? '';
      const suffix = `${rule.alert}.md`;
      return url.endsWith(suffix)
        ? url.slice(0, -suffix.length)
        : `(${url} does not end in ${suffix})`;
    }),
  );
  assert.equal(bases.size, 1, `runbook_url bases differ: ${[...bases].join(', ')}`);
  return [...bases][0];
}

interface Panel {
  title?: string;
  panels?: Panel[];
}
/** Dashboard uid → the titles of its panels (rows included). */
function dashboards(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  if (!existsSync(DASHBOARD_DIR)) return out;
  for (const f of readdirSync(DASHBOARD_DIR).filter((name) => name.endsWith('.json'))) {
    const d = JSON.parse(readFileSync(join(DASHBOARD_DIR, f), 'utf8')) as Panel & { uid: string };
    const titles = new Set<string>();
    const walk = (panels: Panel[] = []) => {
      for (const p of panels) {
        if (p.title) titles.add(p.title);
        walk(p.panels);
      }
    };
    walk(d.panels);
    out.set(d.uid, titles);
  }
  return out;
}

function sections(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = markdown.split(/^## /m).slice(1);
  for (const part of parts) {
    const newline = part.indexOf('\n');
    out.set(part.slice(0, newline).trim(), part.slice(newline + 1));
  }
  return out;
}

/** A severity that routes (the group's own where it has one), a service, every annotation. */
function checkLabelsAndAnnotations(group: string, rule: Rule): void {
  const labels = rule.labels ?? {};
  const severities = rule.alert === 'Watchdog' ? ['none'] : SEVERITIES;
  assert.ok(severities.includes(labels.severity), `severity "${labels.severity}"`);
  if (GROUP_SEVERITY[group]) assert.equal(labels.severity, GROUP_SEVERITY[group]);
  if (rule.alert !== 'Watchdog') assert.ok(labels.service, 'service label');
  for (const key of ['summary', 'description', 'runbook_url']) {
    assert.ok(rule.annotations?.[key]?.trim(), `annotation ${key}`);
  }
  assert.ok(!rule.annotations!.summary.includes('\n'), 'summary is one line');
  if (rule.alert !== 'Watchdog') {
    assert.match(rule.annotations!.description, /\$value/, 'description shows the value');
  }
}

/** The alert's runbook: every section, links to dashboard panels that exist, valid PromQL. */
function checkRunbook(rule: Rule): void {
  const file = join(RUNBOOK_DIR, `${rule.alert}.md`);
  assert.ok(existsSync(file), `${file} is missing`);
  const md = readFileSync(file, 'utf8');
  const found = sections(md);
  for (const s of RUNBOOK_SECTIONS) assert.ok(found.has(s), `section "## ${s}"`);

  // Links are written `[Title](http://localhost:3001/d/<uid>) → “<panel title>”`.
  const known = dashboards();
  const linked = [...md.matchAll(/\/d\/([a-z0-9-]+)\) → “([^”]+)”/g)];
  assert.ok(linked.length > 0, 'links a Grafana dashboard panel');
  if (known.size > 0) {
    for (const [, uid, panel] of linked) {
      assert.ok(known.has(uid), `dashboard uid "${uid}" exists`);
      assert.ok(known.get(uid)!.has(panel), `dashboard ${uid} has a panel "${panel}"`);
    }
  }

  const blocks = [...found.get('Diagnosis')!.matchAll(/```promql\n([\s\S]*?)```/g)];
  assert.ok(blocks.length > 0, 'Diagnosis has a promql block');
  for (const block of blocks) {
    for (const line of block[1]
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)) {
      const { error } = metricNames(line);
      assert.equal(error, undefined, `runbook query "${line}"`);
    }
  }

  // The matchers are the alert's own; the commands are written once, in silencing.md.
  const silencing = found.get('Silencing')!;
  assert.match(silencing, new RegExp(`\`alertname=${rule.alert}\\b[^\`]*\``), 'its matchers');
  assert.match(silencing, /\]\(silencing\.md\)/, 'links silencing.md');
}

/** The one page with the commands every runbook's "Silencing" section links. */
function checkSilencingPage(): void {
  const md = readFileSync(join(RUNBOOK_DIR, 'silencing.md'), 'utf8');
  assert.match(md, /amtool --alertmanager\.url=\S+ silence add alertname=\w+/);
  assert.match(md, /amtool --alertmanager\.url=\S+ silence query/);
  assert.match(md, /curl -sS -X POST \S+\/api\/v2\/silences/);
}

// ---------------------------------------------------------------------------- the checks

describe('alert catalog (prometheus/rules/alerts.yml, host.yml)', function () {
  it(`has the groups ${ALERT_GROUPS.join(', ')}`, function () {
    assert.deepEqual(
      alertGroups.map((g) => g.name),
      ALERT_GROUPS,
    );
    for (const g of alertGroups)
      assert.ok(
        g.rules.every((r) => r.alert),
        `${g.name}: only alerts`,
      );
  });

  it(`has at least ${MIN_ALERTING_RULES} alerting rules`, function () {
    assert.ok(alerts.length >= MIN_ALERTING_RULES, `${alerts.length} alerting rules`);
  });

  it('links every runbook under one base URL, set once for the whole file', function () {
    const base = runbookBase();
    assert.match(base, /^https?:\/\/\S+\/$/, `base "${base}"`);
  });

  for (const { group, rule } of alerts) {
    describe(`${ruleId(rule)} (${group})`, function () {
      it('has a severity that routes, a service, and every annotation', function () {
        checkLabelsAndAnnotations(group, rule);
      });

      it('has a runbook with every section, a dashboard link and valid PromQL', function () {
        checkRunbook(rule);
      });

      it('reads only series that exist: recorded names are recorded', function () {
        const { names, error } = metricNames(rule.expr);
        assert.equal(error, undefined);
        for (const name of names.filter((n) => n.includes(':'))) {
          assert.ok(
            recorded.has(name),
            `${name} is not recorded in ${recordingFiles.join(' or ')}`,
          );
        }
      });
    });

    describe(`${ruleId(rule)} (${group})`, function () {
      it('has promtool tests in which it fires, stays silent and is pending', function () {
        const c = coverage(rule);
        assert.ok(c.fires.length > 0, 'no test in which it fires with these labels');
        if (rule.alert !== 'Watchdog') {
          assert.ok(c.silent.length > 0, 'no test in which it stays silent');
        }
        if (rule.for)
          assert.ok(c.pending.length > 0, `no test showing it pending (for: ${rule.for})`);
      });
    });
  }

  it('has a runbook for every alert and no runbook without one', function () {
    const files = readdirSync(RUNBOOK_DIR).filter(isRunbook);
    assert.deepEqual(files.map((f) => f.slice(0, -3)).sort(), [...alertNames].sort());
  });

  it('lists every alert in docs/runbooks/README.md', function () {
    const index = readFileSync(join(RUNBOOK_DIR, 'README.md'), 'utf8');
    for (const name of alertNames)
      assert.ok(index.includes(`(${name}.md)`), `${name} in the index`);
  });
});

describe('runbooks (docs/runbooks/)', function () {
  it('write the silencing commands once, in docs/runbooks/silencing.md', checkSilencingPage);
});

// One incident, one page (ADR 0003): a page that resolves while the next alert of the same
// incident is still pending would open a second incident; every page of the critical group
// keeps firing the same time after its condition clears.
describe('pages (group critical)', function () {
  it('every page keeps firing 10 minutes after its condition clears', function () {
    const critical = alertGroups.find((g) => g.name === 'critical')!.rules;
    for (const rule of critical) assert.equal(rule.keep_firing_for, '10m', ruleId(rule));
  });
});

describe('recorded series (prometheus/rules/thresholds.yml, recording.yml)', function () {
  for (const file of recordingFiles) {
    it(`${file}: the header comment names every recorded series`, function () {
      const text = readFileSync(join(RULES_DIR, file), 'utf8');
      const header = text.slice(0, text.indexOf('\ngroups:'));
      for (const [name, where] of recorded) {
        if (where === file) assert.ok(header.includes(name), `${name} in the header of ${file}`);
      }
    });
  }

  // Most thresholds are compared against by an alert; a few shape a recorded series instead
  // (the traffic assumed while the app is down), which alerts then read.
  it('every threshold is read by some alert or recorded series', function () {
    const rules = [
      ...alerts.map(({ rule }) => rule),
      ...recordingFiles.flatMap((f) => groupsOf(f).flatMap((g) => g.rules)),
    ];
    const read = new Set(rules.flatMap((rule) => metricNames(rule.expr).names));
    for (const name of recorded.keys()) {
      if (name.startsWith('threshold:')) assert.ok(read.has(name), `${name} is read by no rule`);
    }
  });
});

describe('promtool test files (test/rules/*.test.yml)', function () {
  it('load the repo rule files, by paths relative to the test file', function () {
    for (const [file, doc] of tests) {
      assert.ok(doc.rule_files.length > 0, file);
      for (const rf of doc.rule_files) assert.ok(existsSync(join(TEST_DIR, rf)), `${file}: ${rf}`);
    }
  });

  it(`${BASELINES.join(', ')}: steady load keeps every alert but Watchdog silent after the longest for:`, function () {
    const longestFor = Math.max(...alerts.map(({ rule }) => seconds(rule.for ?? '0s')));
    const docs = BASELINES.map((file) => tests.get(file));
    assert.ok(docs.every(Boolean), `${BASELINES.join(' or ')} is missing`);
    const checks = docs.flatMap((doc) => doc!.tests.flatMap((t) => t.alert_rule_test ?? []));
    for (const name of alertNames.filter((n) => n !== 'Watchdog')) {
      const late = checks.filter(
        (c) =>
          c.alertname === name &&
          seconds(c.eval_time) > longestFor &&
          (c.exp_alerts ?? []).length === 0,
      );
      assert.ok(late.length > 0, `${name}: no silent check after ${longestFor / 3600} h`);
    }
  });
});
