// Rule templates (`rules: templates` in services.yml, scripts/lib/services-templates.ts): an
// entry's own rule files take its job, name and runbook base from the entry. The demo is such an
// entry: on a copy of the repo whose demo entry names another scrape job and runbook base, the
// drift check fails until `make services` runs; then no rule or dashboard selects job="app" any
// more, every selector and runbook link that keyed on the demo follows the entry (all others stay
// as they were), and promtool accepts the rules.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { findBinary } from '../../scripts/lib/binaries.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { loadServices, parseServices } from '../../scripts/lib/services.ts';
import { renderRuleTemplate, templateRuleFiles } from '../../scripts/lib/services-templates.ts';
import { copyOfRepo } from '../lib/repo-copy.ts';

const run = promisify(execFile);
const NODE = process.execPath;
const RENDERED = ['prometheus/rules/alerts.yml', 'prometheus/rules/recording.yml'];
const REPO_BASE =
  'https://github.com/agent-observability/agent-observability-stack/blob/main/docs/runbooks/';
const FORK_BASE = 'https://wiki.example.com/runbooks/agent/';
const servicesText = readFileSync(join(REPO_ROOT, 'services.yml'), 'utf8');

/** A folder with services.yml (as given) and the demo's templates, for loadServices. */
function withServicesFile(text: string, check: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'rule-templates-'));
  try {
    writeFileSync(join(dir, 'services.yml'), text);
    cpSync(join(REPO_ROOT, 'prometheus/rules/templates'), join(dir, 'prometheus/rules/templates'), {
      recursive: true,
    });
    check(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A template named like a hand-written rule file (thresholds.yml) is refused, not rendered over it. */
function expectHandWrittenKept(): void {
  const text = servicesText.replace(
    '      - prometheus/rules/templates/recording.yml\n',
    '      - prometheus/rules/templates/recording.yml\n      - prometheus/rules/templates/thresholds.yml\n',
  );
  assert.notEqual(text, servicesText);
  withServicesFile(text, (dir) => {
    cpSync(
      join(REPO_ROOT, 'prometheus/rules/thresholds.yml'),
      join(dir, 'prometheus/rules/thresholds.yml'),
    );
    cpSync(
      join(dir, 'prometheus/rules/thresholds.yml'),
      join(dir, 'prometheus/rules/templates/thresholds.yml'),
    );
    assert.throws(
      () => templateRuleFiles(dir, loadServices(dir)),
      /agent-service's template would overwrite prometheus\/rules\/thresholds\.yml, which is written by hand/,
    );
  });
}

describe('services.yml: rule_templates', function () {
  it('loads the demo as an entry with rule templates', function () {
    const demo = loadServices(REPO_ROOT)[0];
    assert.equal(demo.rules, 'templates');
    assert.deepEqual(demo.rule_templates, [
      'prometheus/rules/templates/alerts.yml',
      'prometheus/rules/templates/recording.yml',
    ]);
  });
  it('names the entry and field of a template file that does not exist', function () {
    const text = servicesText.replace('templates/recording.yml', 'templates/recordings.yml');
    withServicesFile(text, (dir) =>
      assert.throws(
        () => loadServices(dir),
        /services\[0\] \(agent-service\)\.rule_templates\[1\]: no file prometheus\/rules\/templates\/recordings\.yml/,
      ),
    );
  });
  it('never renders over a rule file written by hand (thresholds.yml)', expectHandWrittenKept);
  it('takes templates only from prometheus/rules/templates/, and only with `rules: templates`', function () {
    const outside = servicesText.replace('rules/templates/alerts.yml', 'rules/alerts.yml');
    assert.throws(
      () => parseServices(outside),
      /services\[0\] \(agent-service\)\.rule_templates\.0: a file prometheus\/rules\/templates\/<name>\.yml/,
    );
    const without = servicesText.replace(/ {4}rule_templates:\n( {6}- .*\n)+/, '');
    assert.throws(
      () => parseServices(without),
      /\(agent-service\)\.rule_templates: rule_templates goes/,
    );
    const generated = servicesText.replace('    rules: templates\n', '    rules: generated\n');
    assert.throws(() => parseServices(generated), /\(agent-service\)\.rule_templates/);
  });
  it('refuses a placeholder it does not know, and a value the entry does not have', function () {
    const [demo, python] = loadServices(REPO_ROOT);
    const text =
      'groups:\n  - name: x\n    rules:\n      - record: a\n        expr: up{job="${service.job}"}\n';
    assert.throws(
      () => renderRuleTemplate(text, demo, 't.yml'),
      /t\.yml:5: \$\{service\.job\} is no placeholder/,
    );
    const job = text.replace('service.job', 'service.scrape_job');
    assert.throws(
      () => renderRuleTemplate(job, python, 't.yml'),
      /t\.yml:5: .*python-agent has no scrape_job/,
    );
    const quoted = { ...demo, scrape_job: 'a"b' };
    assert.throws(() => renderRuleTemplate(job, quoted, 't.yml'), /"a"b" cannot go into a rule/);
    // Prometheus' own templating and label_replace's groups pass through as they are.
    const own = '{{ $labels.instance }} label_replace(up, "a", "${1}", "b", "(.+)")';
    assert.equal(renderRuleTemplate(own, demo, 't.yml'), own);
  });
});

/** A copy of what the services and dashboards generators read and write, which they run in. */
function repoCopy(): string {
  // The generators themselves too (scripts, grafana/src), so the dashboards' REPO_ROOT is the copy.
  const dir = copyOfRepo('demo-entry-copy', [
    'services.yml',
    'package.json',
    'prometheus',
    'alertmanager',
    'blackbox',
    'jaeger',
    'deploy',
    'scripts',
    'grafana/src',
  ]);
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

async function node(dir: string, script: string, ...args: string[]) {
  return run(NODE, [join(dir, script), ...args]).then(
    (r) => ({ ok: true, output: r.stdout + r.stderr }),
    (e: { stdout: string; stderr: string }) => ({ ok: false, output: e.stdout + e.stderr }),
  );
}

/** Every job matcher (job="x", job!="x", job: x) in a text, app renamed to `job`. */
function jobMatchers(text: string, renamed?: string): string[] {
  const found = [...text.matchAll(/\bjob(=|!=|=~|: )"?([\w-]*)"?/g)].map(([, op, job]) =>
    renamed && job === 'app' ? `job${op}${renamed}` : `job${op}${job}`,
  );
  return found.sort();
}

/** The runbook_url of every alert of a rule file. */
function runbookUrls(text: string): { alert: string; url: string }[] {
  const groups = (YAML.parse(text) as { groups: { rules: Record<string, unknown>[] }[] }).groups;
  return groups
    .flatMap((g) => g.rules)
    .filter((r) => r.alert)
    .map((r) => ({
      alert: r.alert as string,
      url: (r.annotations as { runbook_url: string }).runbook_url,
    }));
}

const readIn = (dir: string, path: string) => readFileSync(join(dir, path), 'utf8');

/** The committed dashboards, or the copy's, as one text. */
function dashboardsText(dir: string): string {
  const folder = join(dir, 'grafana/dashboards');
  return readdirSync(folder)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => readFileSync(join(folder, f), 'utf8'))
    .join('\n');
}

/** The dashboards, made in the copy: the demo's new job, and runbook links at its new base. */
async function expectDashboardsFollow(dir: string): Promise<void> {
  const made = await node(dir, 'grafana/src/index.ts');
  assert.ok(made.ok, made.output);
  const text = dashboardsText(dir);
  const before = dashboardsText(REPO_ROOT);
  assert.doesNotMatch(text, /job[!=~]+\\"app\\"/);
  assert.equal(text.split('job=\\"agent\\"').length, before.split('job=\\"app\\"').length);
  assert.ok(before.split('job=\\"app\\"').length > 10, 'the dashboards select the demo by its job');
  assert.equal(text.split(FORK_BASE).length, before.split(REPO_BASE).length);
  assert.ok(text.split(FORK_BASE).length > 1, 'no runbook link at the new base');
}

/** A rendered file whose template the entry no longer names: reported, then removed. */
async function expectStaleRemoved(dir: string): Promise<void> {
  const entries = readIn(dir, 'services.yml');
  const template = / {6}- prometheus\/rules\/templates\/recording\.yml\n/;
  writeFileSync(join(dir, 'services.yml'), entries.replace(template, ''));
  const check = await node(dir, 'scripts/services.ts', '--check');
  assert.match(check.output, /prometheus\/rules\/recording\.yml is of no entry/);
  assert.ok((await node(dir, 'scripts/services.ts')).ok);
  assert.equal(existsSync(join(dir, 'prometheus/rules/recording.yml')), false);
  assert.ok(existsSync(join(dir, 'prometheus/rules/alerts.yml')));
}

describe("the demo's selectors and runbook links follow its entry", function () {
  this.timeout(120_000);
  let dir = '';
  before(async function () {
    dir = repoCopy();
    assert.ok((await node(dir, 'scripts/services.ts', '--check')).ok, 'the copy starts in step');
    const entries = readIn(dir, 'services.yml');
    const renamed = entries
      .replace('scrape_job: app', 'scrape_job: agent')
      .replace(`runbook_base: ${REPO_BASE}\n`, `runbook_base: ${FORK_BASE}\n`);
    assert.notEqual(renamed, entries);
    writeFileSync(join(dir, 'services.yml'), renamed);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the drift check names the rendered rule files until make services runs', async function () {
    const check = await node(dir, 'scripts/services.ts', '--check');
    assert.equal(check.ok, false, check.output);
    for (const path of RENDERED) assert.match(check.output, new RegExp(`${path} drifted`));
    const write = await node(dir, 'scripts/services.ts');
    assert.ok(write.ok, write.output);
    assert.ok((await node(dir, 'scripts/services.ts', '--check')).ok);
  });

  it("every job selector of the rules that was the demo's is its new job, the others unchanged", function () {
    for (const path of RENDERED) {
      const text = readIn(dir, path);
      assert.doesNotMatch(text, /job!?="app"/, path);
      assert.match(
        text,
        /^# GENERATED by scripts\/services\.ts .* from prometheus\/rules\/templates\//,
        path,
      );
      assert.deepEqual(jobMatchers(text), jobMatchers(readIn(REPO_ROOT, path), 'agent'), path);
    }
  });

  it('every runbook_url is <its runbook_base><AlertName>.md', function () {
    const urls = runbookUrls(readIn(dir, 'prometheus/rules/alerts.yml'));
    assert.equal(urls.length, runbookUrls(readIn(REPO_ROOT, 'prometheus/rules/alerts.yml')).length);
    for (const { alert, url } of urls) assert.equal(url, `${FORK_BASE}${alert}.md`);
  });

  it('promtool accepts every rule file', async function () {
    const promtool = findBinary('promtool');
    if (!promtool) return this.skip();
    const rules = join(dir, 'prometheus/rules');
    const files = readdirSync(rules).filter((f) => f.endsWith('.yml'));
    await run(promtool.path, ['check', 'rules', ...files.map((f) => join(rules, f))]);
  });

  it("the dashboards select the demo's new job and link its runbooks at the new base", () =>
    expectDashboardsFollow(dir));

  it('a rendered file whose template the entry no longer names is reported, then removed', () =>
    expectStaleRemoved(dir));
});
