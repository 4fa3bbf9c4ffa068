// `make up TIME_SCALE=60`: `make configure TIME_SCALE=60` renders the compose override and the
// time-scaled Prometheus configs with the same rewrite as `make native TIME_SCALE=60`, scales
// Alertmanager's timers, and removes it all again without TIME_SCALE. The rendered configs
// load in promtool and amtool (13b's compose-go check loads the override itself).
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { describeBinary } from '../../scripts/lib/binaries.ts';
import { FULL_CONFIG, renderComposeTimeScale } from '../../scripts/lib/stack/compose-time-scale.ts';
import {
  parseTimeScale,
  REAL_TIME,
  speedup,
  TIME_SCALE_DIR,
  TIME_SCALE_OVERRIDE,
  TIME_SCALE_STATE,
} from '../../scripts/lib/time-scale.ts';
import { renderedTimeScale, resolveEndpoints } from '../../scripts/lib/endpoints.ts';
import { rewriteRuleFile } from '../../scripts/lib/stack/rewrite.ts';
import { FLOORS } from '../../scripts/lib/stack/stack.ts';
import { program, run } from '../lib/programs.ts';
import { renderTimeScaleCopy } from '../lib/time-scale-copy.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

type Rules = {
  groups: { name: string; rules: { alert?: string; for?: string; expr: string }[] }[];
};

/** A copy of the repo rendered with TIME_SCALE=60 (once for the suite), and its files. */
function timeScaleCopyFixture() {
  const f = {
    repo: '',
    amFile: () => join(f.repo, 'alertmanager/generated/alertmanager.yml'),
    rendered: (rel: string) => readFileSync(join(f.repo, TIME_SCALE_DIR, rel), 'utf8'),
  };
  before(() => {
    f.repo = renderTimeScaleCopy('60').repo;
  });
  after(() => f.repo && rmSync(f.repo, { recursive: true, force: true }));
  return f;
}

function scaledPrometheus(f: ReturnType<typeof timeScaleCopyFixture>): void {
  it("mounts the scaled configs over Prometheus' own, adds its scaled resend delay and auto-reload", () => {
    const override = YAML.parse(readFileSync(join(f.repo, TIME_SCALE_OVERRIDE), 'utf8')) as {
      services: Record<string, { command?: string[]; volumes?: string[]; environment?: object }>;
    };
    const base = YAML.parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: { prometheus: { command: string[] } };
    };
    const { command, volumes } = override.services.prometheus;
    assert.deepEqual(
      command?.slice(0, base.services.prometheus.command.length),
      base.services.prometheus.command,
    );
    assert.ok(command?.includes('--rules.alert.resend-delay=2s'), String(command));
    assert.ok(command?.includes('--enable-feature=auto-reload-config'));
    assert.deepEqual(volumes, [
      `./${TIME_SCALE_DIR}/prometheus:/etc/prometheus:ro,z`,
      './prometheus/targets:/etc/prometheus/targets:ro,z',
    ]);
    assert.deepEqual(override.services.app.environment, { HEALTH_CHECK_INTERVAL_MS: '1000' });
    // The container exporter's 15 s stats at the 1 s floor, as the scrape interval.
    assert.deepEqual(override.services['container-exporter'].environment, {
      STATS_INTERVAL: '1s',
    });
    // Every services.yml entry that pushes OTLP (python-agent) exports at the scrape interval.
    assert.deepEqual(override.services['python-agent'].environment, {
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    });
    assert.deepEqual(renderedTimeScale(f.repo), speedup(60));
  });

  it('the rules are exactly what the native rewrite makes of them at the same scale', () => {
    const source = 'prometheus/rules/alerts.yml';
    const native = rewriteRuleFile(readFileSync(join(REPO_ROOT, source), 'utf8'), {
      scaling: { ...speedup(60), ...FLOORS },
      scrapeIntervalMs: 1000,
      evaluationIntervalMs: 1000,
      compat: 'v3',
      source,
    });
    assert.equal(f.rendered('prometheus/rules/alerts.yml'), native.text);
    const rules = (YAML.parse(native.text) as Rules).groups.flatMap((g) => g.rules);
    assert.equal(
      rules.find((r) => r.alert === 'ServiceDown' && r.for)?.for,
      '2s',
      'for: 1m at the 2-evaluation floor',
    );
  });

  it('starts without rules; the full config scrapes every 1 s and loads them', () => {
    const boot = YAML.parse(f.rendered('prometheus/prometheus.yml')) as Record<string, unknown>;
    const full = YAML.parse(f.rendered(`prometheus/${FULL_CONFIG}`)) as {
      global: Record<string, string>;
      rule_files: string[];
    };
    assert.equal(boot.rule_files, undefined);
    assert.deepEqual(full.rule_files, ['rules/*.yml']);
    assert.equal(full.global.scrape_interval, '1s');
    assert.equal(full.global.evaluation_interval, '1s');
  });
}

function scaledAlertmanagerAndReset(f: ReturnType<typeof timeScaleCopyFixture>): void {
  it('scales the Alertmanager timers of the rendered config', () => {
    const am = YAML.parse(readFileSync(f.amFile(), 'utf8')) as {
      global: { resolve_timeout: string };
      route: { group_wait: string; repeat_interval: string };
    };
    assert.equal(am.route.group_wait, '1s');
    assert.equal(am.global.resolve_timeout, '5s');
  });

  it('promtool accepts the full config with its rules, amtool the Alertmanager config', function () {
    const promtool = program('promtool');
    const amtool = program('amtool');
    if (!promtool || !amtool) this.skip();
    const dir = join(f.repo, TIME_SCALE_DIR, 'prometheus');
    const r = run(promtool.path, ['check', 'config', FULL_CONFIG], dir);
    assert.equal(r.code, 0, `${describeBinary(promtool)}:\n${r.output}`);
    const a = run(amtool.path, ['check-config', f.amFile()]);
    assert.equal(a.code, 0, `${describeBinary(amtool)}:\n${a.output}`);
  });

  it('without TIME_SCALE (or 1) the override and its folder are removed', () => {
    const copy = mkdtempSync(join(tmpdir(), 'time-scale-1-'));
    try {
      cpSync(f.repo, copy, { recursive: true });
      assert.equal(renderComposeTimeScale(copy, REAL_TIME, join(copy, 'none.yml')), undefined);
      assert.equal(existsSync(join(copy, TIME_SCALE_OVERRIDE)), false);
      assert.equal(existsSync(join(copy, TIME_SCALE_DIR)), false);
      assert.equal(existsSync(join(copy, TIME_SCALE_STATE)), false);
      assert.equal(renderedTimeScale(copy), undefined);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
}

describe('make up TIME_SCALE=60: the compose override', () => {
  const f = timeScaleCopyFixture();
  scaledPrometheus(f);
  scaledAlertmanagerAndReset(f);
});

describe('make up TIME_SCALE=2.5: the scale the scripts read back', () => {
  it('is the scale rendered, 2.5, not a rounded 3', () => {
    const { repo } = renderTimeScaleCopy('2.5');
    try {
      const env = { NATIVE_STATE_DIR: join(repo, '.native') };
      assert.deepEqual(resolveEndpoints({}, env, repo).timeScale, parseTimeScale('2.5'));
      assert.deepEqual(resolveEndpoints({}, env, repo).timeScale, { speedup: 2.5, factor: 0.4 });
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
