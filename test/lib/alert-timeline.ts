// The alerts the repo's rules fire over an incident, as promtool evaluates them: the firing
// alerts at every evaluation of a promtool test file (test/rules/incidents/*.yml), for
// one-incident.test.ts to replay on a real Alertmanager.
//
// promtool has no output of its own for this (`test rules --debug` dumps every series, and
// refuses past 10,000 samples), so the scenario file is copied with one extra expression
// test per evaluation, `ALERTS{alertstate="firing"}`, each expecting a sample that cannot
// exist: each fails, and promtool prints what it got, which is the timeline. The scenario's
// own checks stay in the copy and must pass.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { formatDuration, parseDuration } from '../../scripts/lib/stack/duration.ts';
import { parseRuleTests, type RuleTestFile } from './rule-tests.ts';

const run = promisify(execFile);

/** What a probe expects: a label no alert has, so every probe fails and prints its result. */
const IMPOSSIBLE = '{timeline_probe="never"}';
const PROBE_EXPR = 'ALERTS{alertstate="firing", alertname!="Watchdog"}';

export interface FiringAlert {
  /** The alert's labels (ALERTS' own __name__ and alertstate removed). */
  labels: Record<string, string>;
}

export interface AlertTimeline {
  /** promtool's evaluation interval: the step of `steps`. */
  stepMs: number;
  /** Time of each evaluation from `fromMs` on (ms since the scenario's start) → firing alerts. */
  steps: { atMs: number; firing: FiringAlert[] }[];
}

export interface TimelineOptions {
  promtool: string;
  /** The scenario: a promtool test file with one test group. */
  scenario: string;
  /** Evaluations from this time on (ms since the scenario's start) are read. */
  fromMs: number;
  /** … up to this one. */
  toMs: number;
  /** Where the copy is written. */
  workDir: string;
}

/** The scenario's copy with one probe per evaluation from `fromMs` to `toMs`. */
function withProbes(file: RuleTestFile, scenarioDir: string, o: TimelineOptions): RuleTestFile {
  if (file.tests.length !== 1) throw new Error(`${o.scenario}: one test group expected`);
  const stepMs = parseDuration(String(file.evaluation_interval ?? '1m'));
  const probes = [];
  for (let t = o.fromMs; t <= o.toMs; t += stepMs) {
    probes.push({
      expr: PROBE_EXPR,
      eval_time: formatDuration(t),
      exp_samples: [{ labels: IMPOSSIBLE, value: 1 }],
    });
  }
  const [test] = file.tests;
  const own = test.promql_expr_test ?? [];
  return {
    ...file,
    rule_files: file.rule_files.map((f) => resolve(scenarioDir, f)),
    tests: [{ ...test, promql_expr_test: [...own, ...probes] }],
  };
}

/** One sample of promtool's `got:` line: `{a="b", c="d"} 1E+00`. */
function parseSamples(got: string): FiringAlert[] {
  if (got.trim() === 'nil') return [];
  const alerts: FiringAlert[] = [];
  for (const m of got.matchAll(/\{([^}]*)\} \S+/g)) {
    const labels: Record<string, string> = {};
    for (const pair of m[1].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]] = JSON.parse(`"${pair[2]}"`) as string;
    }
    delete labels.__name__;
    delete labels.alertstate;
    alerts.push({ labels });
  }
  return alerts;
}

/**
 * promtool's failures, probe by probe. Anything else that failed (the scenario's own checks,
 * a rule that did not evaluate) is an error: the timeline would not be the one the file says.
 */
function parseProbeFailures(output: string, scenario: string): Map<number, FiringAlert[]> {
  const byTime = new Map<number, FiringAlert[]>();
  const blocks = output.split(/\n(?=\s{4}(?:expr|name|alertname|rule):)/);
  const foreign: string[] = [];
  for (const block of blocks) {
    const probe = /^\s*expr: "(.*)", time: (\S+),\n\s*exp: (.*)\n\s*got: (.*)$/m.exec(block);
    if (probe && JSON.parse(`"${probe[1]}"`) === PROBE_EXPR) {
      byTime.set(parseDuration(probe[2]), parseSamples(probe[4]));
    } else if (/^\s{4}(expr|name|alertname|rule):/.test(block)) {
      foreign.push(block.trim());
    }
  }
  if (foreign.length) throw new Error(`${scenario}: promtool failed:\n${foreign.join('\n')}`);
  return byTime;
}

export async function alertTimeline(o: TimelineOptions): Promise<AlertTimeline> {
  const file = parseRuleTests(readFileSync(o.scenario, 'utf8'));
  const copy = withProbes(file, dirname(o.scenario), o);
  const copyFile = join(
    o.workDir,
    `timeline-${Date.now()}-${Math.random().toString(36).slice(2)}.yml`,
  );
  writeFileSync(copyFile, YAML.stringify(copy, { lineWidth: 0 }));
  let output: string;
  try {
    await run(o.promtool, ['test', 'rules', copyFile], { maxBuffer: 64 * 1024 * 1024 });
    throw new Error(`${o.scenario}: promtool passed every probe, which cannot be`);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    if (e.stdout === undefined) throw err;
    output = `${e.stdout}${e.stderr ?? ''}`;
  }
  const byTime = parseProbeFailures(output, o.scenario);
  const stepMs = parseDuration(String(file.evaluation_interval ?? '1m'));
  const steps = [];
  for (let t = o.fromMs; t <= o.toMs; t += stepMs) {
    const firing = byTime.get(t);
    if (!firing) throw new Error(`${o.scenario}: no promtool result at ${formatDuration(t)}`);
    steps.push({ atMs: t, firing });
  }
  return { stepMs, steps };
}
