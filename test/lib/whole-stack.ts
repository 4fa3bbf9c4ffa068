// Shared by the whole-stack tests: running the repo's real scripts as child processes (their
// output goes to the test log, indented), reading the alert rules the delivered alerts must
// match, and deciding which dashboard queries can have data in a native stack.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import YAML from 'yaml';
import type { ReceivedAlert } from '../../scripts/lib/alert-receiver.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `node <script> …args` from the repo root, echoing its output (indented) as it comes, so
 * the scenario timelines appear in the test output. Killed after `timeoutMs`.
 */
export function runScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', script, ...args],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    const echo = (chunk: Buffer, sink: 'out' | 'err') => {
      const text = chunk.toString();
      if (sink === 'out') stdout += text;
      else stderr += text;
      process.stdout.write(text.replace(/^(?=.)/gm, '      '));
    };
    child.stdout.on('data', (c: Buffer) => echo(c, 'out'));
    child.stderr.on('data', (c: Buffer) => echo(c, 'err'));
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface AlertRule {
  alert: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  for?: string;
}

/** Every alerting rule in prometheus/rules/*.yml, as written (unscaled). */
export function alertRules(repoDir = REPO_ROOT): AlertRule[] {
  const dir = path.join(repoDir, 'prometheus/rules');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
    .flatMap((f) => {
      const doc = YAML.parse(readFileSync(path.join(dir, f), 'utf8')) as {
        groups?: { rules?: Partial<AlertRule>[] }[];
      };
      return (doc.groups ?? []).flatMap((g) => g.rules ?? []);
    })
    .filter((r): r is AlertRule => typeof r.alert === 'string')
    .map((r) => ({ ...r, labels: r.labels ?? {}, annotations: r.annotations ?? {} }));
}

/**
 * Problems with a delivered alert, checked against its rule in the repo: a rule of that name
 * whose fixed labels (not templated ones) all appear with the same values; the annotations
 * every rule has (severity, summary, description, runbook_url) present, expanded and, for the description, carrying a number; and a
 * runbook link that names a runbook file in the repo. Empty when all is well.
 */
export function deliveredAlertProblems(
  alert: ReceivedAlert,
  rules: AlertRule[],
  repoDir = REPO_ROOT,
): string[] {
  const problems: string[] = [];
  const candidates = rules.filter((r) => r.alert === alert.alertname);
  if (!candidates.length) return [`no rule named ${alert.alertname} in prometheus/rules/`];
  const fixed = (r: AlertRule) => Object.entries(r.labels).filter(([, v]) => !v.includes('{{'));
  const rule = candidates.find((r) => fixed(r).every(([k, v]) => alert.labels[k] === v));
  if (!rule) {
    problems.push(
      `labels ${JSON.stringify(alert.labels)} match no rule ${alert.alertname} (rules have ` +
        `${candidates.map((r) => JSON.stringify(r.labels)).join(' or ')})`,
    );
  }
  for (const key of ['summary', 'description', 'runbook_url']) {
    const value = alert.annotations[key];
    if (!value) problems.push(`annotation ${key} is missing or empty`);
    else if (value.includes('{{') || value.includes('<no value>'))
      problems.push(`annotation ${key} is not expanded: ${value}`);
  }
  if (alert.annotations.description && !/\d/.test(alert.annotations.description)) {
    problems.push(`description carries no value: ${alert.annotations.description}`);
  }
  const runbook = /\/blob\/[^/]+\/(.+\.md)$/.exec(alert.annotations.runbook_url ?? '')?.[1];
  if (!existsSync(path.join(repoDir, 'docs/runbooks'))) {
    console.log('      runbook file not checked: docs/runbooks/ is not in the repo yet');
  } else if (
    alert.annotations.runbook_url &&
    !(runbook && existsSync(path.join(repoDir, runbook)))
  ) {
    problems.push(`runbook_url ${alert.annotations.runbook_url} names no runbook file in the repo`);
  }
  return problems;
}

/**
 * The `job` constraints of each selector in a query: a query whose every selector asks for a
 * job that is not scraped here (its program was not started) cannot have data natively, and is
 * reported as skipped rather than failed. Selectors without a job constraint count as runnable.
 */
export function unscrapedJobs(expr: string, jobs: string[]): string[] | undefined {
  const tree = parser.parse(expr);
  const wanted: string[][] = [];
  let unconstrained = false;
  tree.iterate({
    enter(node) {
      if (node.name !== 'VectorSelector') return;
      let constraint: ((job: string) => boolean) | undefined;
      let text = '';
      const matchers = node.node.getChild('LabelMatchers');
      for (let m = matchers?.firstChild; m; m = m.nextSibling) {
        const label = m.getChild('LabelName');
        const value = m.getChild('StringLiteral');
        if (!label || !value || expr.slice(label.from, label.to) !== 'job') continue;
        const op = expr.slice(m.getChild('MatchOp')?.from ?? 0, m.getChild('MatchOp')?.to ?? 0);
        const v = JSON.parse(expr.slice(value.from, value.to).replace(/^'|'$/g, '"')) as string;
        text = `job${op}"${v}"`;
        if (op === '=') constraint = (j) => j === v;
        else if (op === '=~') constraint = (j) => new RegExp(`^(?:${v})$`).test(j);
      }
      if (!constraint) unconstrained = true;
      else if (!jobs.some(constraint)) wanted.push([text]);
      else unconstrained = true;
    },
  });
  return !unconstrained && wanted.length ? [...new Set(wanted.flat())] : undefined;
}
