// The render step that turns alertmanager/alertmanager.yml, receivers.optional.yml and .env into
// Alertmanager's config (scripts/lib/alertmanager-config.ts): a receiver whose secret is missing
// is never active, no secret value ever reaches the YAML, and every combination that matters
// passes `amtool check-config` (the pinned amtool when built, else Debian's).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import {
  BASE_CONFIG,
  DEFAULT_SECRETS_DIR,
  OPTIONAL_RECEIVERS,
  loadOptionalReceivers,
  renderAlertmanagerConfig,
} from '../../scripts/lib/alertmanager-config.ts';
import { describeBinary, findBinary } from '../../scripts/lib/binaries.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const run = promisify(execFile);

/** Values that look like the real thing, each unique so a leak is easy to spot. */
const FULL_ENV: Record<string, string> = {
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/slack-secret-0123456789',
  SLACK_CHANNEL: '#ops-alerts',
  PAGERDUTY_ROUTING_KEY: 'pagerduty-secret-0123456789abcdef',
  SMTP_SMARTHOST: 'smtp.example.com:587',
  SMTP_FROM: 'alerts@example.com',
  SMTP_TO: 'oncall@example.com',
  SMTP_USERNAME: 'alerts@example.com',
  SMTP_PASSWORD: 'smtp-secret-0123456789',
  DEADMANSSWITCH_URL: 'https://hc-ping.example.com/dms-secret-0123456789',
};
const SECRET_VARS = [
  'SLACK_WEBHOOK_URL',
  'PAGERDUTY_ROUTING_KEY',
  'SMTP_PASSWORD',
  'DEADMANSSWITCH_URL',
];

const entries = loadOptionalReceivers(
  readFileSync(join(REPO_ROOT, OPTIONAL_RECEIVERS), 'utf8'),
  OPTIONAL_RECEIVERS,
);
const entryNames = entries.map(([name]) => name);

/** Only the variables `entry` needs (and its settings). */
function envFor(...names: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, entry] of entries) {
    if (!names.includes(name)) continue;
    for (const v of [...entry.requires, ...Object.keys(entry.settings)]) {
      if (FULL_ENV[v] !== undefined) env[v] = FULL_ENV[v];
    }
  }
  return env;
}

interface AmConfig {
  route: unknown;
  inhibit_rules: unknown;
  receivers: Record<string, unknown>[];
}
function receiver(yaml: string, name: string): Record<string, unknown> {
  const found = (YAML.parse(yaml) as AmConfig).receivers.find((r) => r.name === name);
  assert.ok(found, `receiver ${name}`);
  return found;
}

/** Every string in the config under a key, with the key's path. */
function* strings(node: unknown, path = ''): Generator<[string, string]> {
  if (typeof node === 'string') yield [path, node];
  else if (Array.isArray(node))
    for (const [i, v] of node.entries()) yield* strings(v, `${path}[${i}]`);
  else if (typeof node === 'object' && node !== null) {
    for (const [k, v] of Object.entries(node)) yield* strings(v, path ? `${path}.${k}` : k);
  }
}

const amtool = findBinary('amtool');
const amtoolVersion = (amtool?.version ?? '0.0.0').split('.').map(Number);
/** Webhook `url_file` (the dead man's switch) arrived in Alertmanager 0.26. */
const hasWebhookUrlFile = amtoolVersion[0] > 0 || amtoolVersion[1] >= 26;

/** A work folder for rendered configs, and amtool's check of one. */
function renderWorkFixture() {
  let work: string;
  before(function () {
    work = mkdtempSync(join(tmpdir(), 'am-render-'));
  });
  after(function () {
    rmSync(work, { recursive: true, force: true });
  });

  /** amtool check-config on the YAML, next to the repo's templates as in the container. */
  async function checkConfig(yaml: string): Promise<void> {
    assert.ok(
      amtool,
      'no amtool: `make tools` builds the pinned one, or apt-get install prometheus-alertmanager',
    );
    const dir = mkdtempSync(join(work, 'cfg-'));
    symlinkSync(join(REPO_ROOT, 'alertmanager/templates'), join(dir, 'templates'));
    writeFileSync(join(dir, 'alertmanager.yml'), yaml);
    try {
      await run(amtool.path, ['check-config', join(dir, 'alertmanager.yml')], { timeout: 30_000 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      assert.fail(`amtool check-config failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  }
  return {
    get work() {
      return work;
    },
    checkConfig,
  };
}

function withNoSettings(f: ReturnType<typeof renderWorkFixture>): void {
  it('with no settings: only the local receiver, every optional one skipped with what it lacks', async function () {
    const r = renderAlertmanagerConfig({}, REPO_ROOT);
    assert.deepEqual(r.active, ['alert-receiver']);
    assert.deepEqual(
      r.skipped,
      entries.map(([name, entry]) => ({ receiver: name, missing: entry.requires.join(', ') })),
    );
    assert.deepEqual(r.secretFiles, {});
    for (const name of ['page', 'ticket', 'info']) {
      assert.deepEqual(Object.keys(receiver(r.yaml, name)).sort(), ['name', 'webhook_configs']);
    }
    assert.deepEqual(receiver(r.yaml, 'watchdog'), { name: 'watchdog' });
    await f.checkConfig(r.yaml);
  });

  it('keeps the routes and inhibitions of the base file whatever is switched on', function () {
    const base = YAML.parse(readFileSync(join(REPO_ROOT, BASE_CONFIG), 'utf8')) as AmConfig;
    const rendered = YAML.parse(renderAlertmanagerConfig(FULL_ENV, REPO_ROOT).yaml) as AmConfig;
    assert.deepEqual(rendered.route, base.route);
    assert.deepEqual(rendered.inhibit_rules, base.inhibit_rules);
  });
}

function perReceiver(f: ReturnType<typeof renderWorkFixture>): void {
  for (const [name, entry] of entries) {
    it(`${name}: switched on by ${entry.requires.join(', ')}; its secrets only in files`, async function () {
      const r = renderAlertmanagerConfig(envFor(name), REPO_ROOT);
      assert.deepEqual(r.active, ['alert-receiver', name]);
      assert.deepEqual(Object.keys(r.secretFiles).sort(), Object.keys(entry.secrets).sort());
      for (const [file, variable] of Object.entries(entry.secrets)) {
        assert.equal(r.secretFiles[file], FULL_ENV[variable]);
        assert.ok(r.yaml.includes(`${DEFAULT_SECRETS_DIR}/${file}`), `the YAML names ${file}`);
      }
      for (const [receiverName, integrations] of Object.entries(entry.receivers)) {
        for (const key of Object.keys(integrations)) {
          assert.ok(receiver(r.yaml, receiverName)[key], `${receiverName}.${key}`);
        }
      }
      // Debian's amtool 0.25 rejects webhook url_file; the pinned 0.34 is the reference.
      if (!hasWebhookUrlFile && /^\s*(- )?url_file:/m.test(r.yaml)) this.skip();
      await f.checkConfig(r.yaml);
    });

    it(`${name}: never active while one of its required variables is missing or blank`, function () {
      for (const missing of entry.requires) {
        for (const blank of [undefined, '', '   ']) {
          const env: Record<string, string | undefined> = { ...FULL_ENV, [missing]: blank };
          const r = renderAlertmanagerConfig(env, REPO_ROOT);
          assert.ok(!r.active.includes(name), `${name} active without ${missing}`);
          assert.deepEqual(
            r.skipped.find((s) => s.receiver === name),
            { receiver: name, missing },
          );
          for (const file of Object.keys(entry.secrets)) {
            assert.ok(!(file in r.secretFiles), `secret file ${file} written`);
            assert.ok(!r.yaml.includes(`/${file}`), `${file} referenced`);
          }
        }
      }
    });
  }

  it('with everything set: all active, no secret value anywhere in the YAML', async function () {
    const r = renderAlertmanagerConfig(FULL_ENV, REPO_ROOT);
    assert.deepEqual(r.active, ['alert-receiver', ...entryNames]);
    assert.deepEqual(r.skipped, []);
    for (const variable of SECRET_VARS) {
      assert.ok(!r.yaml.includes(FULL_ENV[variable]), `${variable} leaked into the YAML`);
    }
    // Secrets only through *_file fields: no inline secret field at all, and every *_file field
    // points into the secrets directory.
    const config = YAML.parse(r.yaml) as AmConfig;
    for (const [path, value] of strings(config.receivers)) {
      const key = path.split('.').pop()!;
      assert.ok(!['api_url', 'routing_key', 'service_key', 'auth_password'].includes(key), path);
      if (key.endsWith('_file')) assert.ok(value.startsWith(`${DEFAULT_SECRETS_DIR}/`), path);
      if (key === 'url') assert.equal(new URL(value).hostname, 'alert-receiver', path);
    }
    // Non-secret settings are used as given.
    assert.ok(r.yaml.includes('channel: "#ops-alerts"'));
    assert.ok(r.yaml.includes('smarthost: smtp.example.com:587'));
    if (hasWebhookUrlFile) await f.checkConfig(r.yaml);
  });
}

function checksAndRefusals(f: ReturnType<typeof renderWorkFixture>): void {
  it('everything but the dead man’s switch passes amtool check-config on any version', async function () {
    const env = { ...FULL_ENV, DEADMANSSWITCH_URL: '' };
    const r = renderAlertmanagerConfig(env, REPO_ROOT);
    assert.deepEqual(r.active, [
      'alert-receiver',
      ...entryNames.filter((n) => n !== 'deadmansswitch'),
    ]);
    await f.checkConfig(r.yaml);
  });

  it(`says which amtool checked: ${amtool ? describeBinary(amtool) : 'none found'}`, function () {
    assert.ok(amtool);
  });

  it('writes secret files under ALERTMANAGER_SECRETS_DIR when set, and wants it absolute', function () {
    const r = renderAlertmanagerConfig(
      { ...envFor('slack'), ALERTMANAGER_SECRETS_DIR: '/run/secrets/am' },
      REPO_ROOT,
    );
    assert.ok(r.yaml.includes('api_url_file: /run/secrets/am/slack_api_url'));
    assert.throws(
      () => renderAlertmanagerConfig({ ALERTMANAGER_SECRETS_DIR: 'secrets' }, REPO_ROOT),
      /absolute/,
    );
  });

  it('rejects values that would break out of their place', function () {
    const bad: [Record<string, string>, RegExp][] = [
      [{ ...envFor('slack'), SLACK_WEBHOOK_URL: 'hooks.slack.com/services/x' }, /not a URL/],
      [{ ...envFor('slack'), SLACK_WEBHOOK_URL: 'file:///etc/passwd' }, /http\(s\) URL/],
      [{ ...envFor('slack'), SLACK_CHANNEL: '{{ template "x" . }}' }, /must not contain/],
      [{ ...envFor('email'), SMTP_PASSWORD: 'two\nlines' }, /single line/],
    ];
    for (const [env, message] of bad) {
      assert.throws(() => renderAlertmanagerConfig(env, REPO_ROOT), message);
    }
  });
}

function optionalFormat(f: ReturnType<typeof renderWorkFixture>): void {
  describe('receivers.optional.yml format', function () {
    /** A repo copy whose receivers.optional.yml is `text`. */
    function repoWith(text: string): string {
      const root = mkdtempSync(join(f.work, 'repo-'));
      mkdirSync(join(root, 'alertmanager'));
      cpSync(join(REPO_ROOT, BASE_CONFIG), join(root, BASE_CONFIG));
      writeFileSync(join(root, OPTIONAL_RECEIVERS), text);
      return root;
    }

    it('refuses to put a secret variable into the YAML', function () {
      const root = repoWith(
        [
          'leaky:',
          '  requires: [SLACK_WEBHOOK_URL]',
          '  secrets: {slack_api_url: SLACK_WEBHOOK_URL}',
          '  receivers:',
          '    page:',
          '      slack_configs: [{api_url: "${SLACK_WEBHOOK_URL}", channel: "#x"}]',
        ].join('\n'),
      );
      assert.throws(() => renderAlertmanagerConfig(envFor('slack'), root), /is a secret/);
    });

    it('rejects unknown placeholders, unknown keys, unknown receivers', function () {
      const cases: [string, RegExp][] = [
        [
          'x:\n  requires: [A]\n  receivers: {page: {slack_configs: [{channel: "${B}"}]}}',
          /unknown placeholder/,
        ],
        ['x:\n  requires: [A]\n  typo: 1\n  receivers: {}', /entry "x"/],
        [
          'x:\n  requires: [A]\n  receivers: {page: {slack: [{channel: c}]}}',
          /receivers\.page\.slack/,
        ],
        [
          'x:\n  requires: [A]\n  receivers: {pager: {slack_configs: [{channel: c}]}}',
          /no receiver "pager"/,
        ],
      ];
      for (const [text, message] of cases) {
        assert.throws(() => renderAlertmanagerConfig({ A: 'a' }, repoWith(text)), message);
      }
    });
  });
}

describe('renderAlertmanagerConfig', function () {
  const f = renderWorkFixture();
  withNoSettings(f);
  perReceiver(f);
  checksAndRefusals(f);
  optionalFormat(f);
});
