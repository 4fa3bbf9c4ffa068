// alertmanager/: amtool check-config accepts the base alertmanager.yml, and what `make configure`
// renders from it (no receivers configured, and every receiver configured); a broken copy fails.
// The render step itself is the alert rules' (scripts/lib/alertmanager-config.ts); this checks
// its output with the real program, the way compose mounts it.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderAlertmanagerConfig as render } from '../../scripts/lib/alertmanager-config.ts';
import { parseEnv } from '../../scripts/lib/env-file.ts';
import { program, run } from '../lib/programs.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const AM_DIR = join(REPO_ROOT, 'alertmanager');
const BASE = join(AM_DIR, 'alertmanager.yml');

/** Every receiver setting in .env.example, filled with a plausible value. */
function allReceiversEnv(): Record<string, string> {
  const example = parseEnv(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8'));
  const values: Record<string, string> = {
    SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/XXXX',
    PAGERDUTY_ROUTING_KEY: '0123456789abcdef0123456789abcdef',
    SMTP_SMARTHOST: 'smtp.example.com:587',
    SMTP_FROM: 'alerts@example.com',
    SMTP_TO: 'oncall@example.com',
    SMTP_USERNAME: 'alerts@example.com',
    SMTP_PASSWORD: 'not-a-real-password',
    DEADMANSSWITCH_URL: 'https://hc-ping.example.com/uuid',
  };
  for (const key of Object.keys(values)) {
    assert.ok(example.has(key), `.env.example does not document ${key}`);
  }
  return { ...Object.fromEntries(example), ...values };
}

/** A folder for rendered configs (beside the templates, as compose mounts them), and amtool. */
function alertmanagerConfigFixture() {
  const f = {
    dir: '',
    amtool: () => program('amtool'),
    checkConfig: (file: string) => run(program('amtool')!.path, ['check-config', file]),
  };
  before(() => {
    f.dir = mkdtempSync(join(tmpdir(), 'am-config-'));
    // Rendered files are checked where compose mounts them: next to templates/.
    symlinkSync(join(AM_DIR, 'templates'), join(f.dir, 'templates'));
  });
  after(() => f.dir && rmSync(f.dir, { recursive: true, force: true }));
  return f;
}

function amtoolChecks(f: ReturnType<typeof alertmanagerConfigFixture>): void {
  it('amtool check-config accepts alertmanager/alertmanager.yml', function () {
    if (!existsSync(BASE)) {
      console.log('      alertmanager/alertmanager.yml does not exist yet: skipped');
      this.skip();
    }
    if (!f.amtool()) this.skip();
    const r = f.checkConfig(BASE);
    assert.equal(r.code, 0, r.output);
  });

  it('amtool check-config rejects a broken copy (a route to a receiver that does not exist)', function () {
    if (!existsSync(BASE) || !f.amtool()) this.skip();
    const file = join(f.dir, 'broken.yml');
    writeFileSync(file, readFileSync(BASE, 'utf8').replace(/receiver: page\b/, 'receiver: pager'));
    const r = f.checkConfig(file);
    assert.notEqual(r.code, 0, 'amtool accepted a route to an undefined receiver');
    assert.match(r.output, /pager/);
  });
}

function renderedByConfigure(f: ReturnType<typeof alertmanagerConfigFixture>): void {
  describe('rendered by make configure', () => {
    before(function () {
      if (!f.amtool()) this.skip();
    });

    it('with no receiver configured: only the local receiver, and amtool accepts it', () => {
      const out = render({}, REPO_ROOT);
      assert.deepEqual(out.secretFiles, {});
      const file = join(f.dir, 'none.yml');
      writeFileSync(file, out.yaml);
      const r = f.checkConfig(file);
      assert.equal(r.code, 0, r.output);
      assert.match(out.yaml, /http:\/\/alert-receiver:9095\/alerts/);
    });

    it('with every receiver configured: secrets only in files, and amtool accepts it', function () {
      const env = allReceiversEnv();
      const out = render(env, REPO_ROOT);
      for (const secret of [
        'SLACK_WEBHOOK_URL',
        'PAGERDUTY_ROUTING_KEY',
        'SMTP_PASSWORD',
        'DEADMANSSWITCH_URL',
      ]) {
        assert.ok(!out.yaml.includes(env[secret]), `${secret} was written into the YAML`);
        assert.ok(
          Object.values(out.secretFiles).includes(env[secret]),
          `${secret} is in no secret file`,
        );
      }
      assert.deepEqual(out.skipped, []);
      const am = f.amtool()!;
      if (am.source !== 'pinned' && /url_file/.test(out.yaml)) {
        console.log(
          `      amtool ${am.version} predates webhook url_file (0.26): run make tools for the pinned one`,
        );
        this.skip();
      }
      const file = join(f.dir, 'all.yml');
      writeFileSync(file, out.yaml);
      const r = f.checkConfig(file);
      assert.equal(r.code, 0, r.output);
    });
  });
}

describe('alertmanager config', () => {
  const f = alertmanagerConfigFixture();
  amtoolChecks(f);
  renderedByConfigure(f);
});
