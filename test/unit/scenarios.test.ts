// The scenario table against the repo's rules and the service's chaos API: a renamed alert, a
// label that no rule carries or an unknown fault fails here, not after minutes of load.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROFILES } from '../../scripts/lib/load/mix.ts';
import { describeFault, findScenario, SCENARIOS } from '../../scripts/lib/scenarios/table.ts';
import { alertRules } from '../lib/whole-stack.ts';
import { appModule } from '../lib/app-module.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

// The fault names the service accepts, from the module that defines them.
const { FAULT_NAMES: FAULTS } = appModule<{ FAULT_NAMES: readonly string[] }>('agent/chaos.ts');

describe('alert scenarios table', () => {
  it('has every scenario the Makefile lists for make alert-<scenario>', () => {
    const makefile = readFileSync(path.join(REPO_ROOT, 'Makefile'), 'utf8');
    const listed =
      /alert-%:.*## Run an alert scenario: (.*)$/m.exec(makefile)?.[1].split(/,\s*/) ?? [];
    assert.deepEqual(
      SCENARIOS.map((s) => s.name),
      listed,
    );
  });

  for (const s of SCENARIOS) {
    it(`${s.name}: expects an alert that a rule raises with those labels`, () => {
      const rules = alertRules().filter((r) => r.alert === s.expect.alertname);
      assert.ok(rules.length > 0, `no rule ${s.expect.alertname}`);
      const wanted = Object.entries(s.expect.labels ?? {});
      // A label the rule sets statically must match; one it takes from the data (tier, reason) is fine.
      assert.ok(
        rules.some((r) => wanted.every(([k, v]) => r.labels[k] === undefined || r.labels[k] === v)),
        `no ${s.expect.alertname} rule with ${JSON.stringify(s.expect.labels)}`,
      );
      assert.ok(s.fireTimeoutS > 0 && s.resolveTimeoutS > 0);
    });

    it(`${s.name}: its fault is one the service or the load generator knows`, () => {
      if (s.fault.kind === 'chaos') {
        assert.ok(FAULTS.includes(s.fault.fault), `${s.fault.fault} not in ${FAULTS.join(', ')}`);
      } else if (s.fault.kind === 'traffic') {
        assert.ok(s.fault.profile in PROFILES);
        assert.ok(s.fault.rate > 0);
      }
      assert.ok(describeFault(s.fault).length > 0);
    });
  }

  it('finds scenarios by name only', () => {
    assert.equal(findScenario('errors')?.expect.alertname, 'APIErrorRatioHigh');
    assert.equal(findScenario('nope'), undefined);
  });

  it('describes faults for the timeline', () => {
    assert.equal(
      describeFault({ kind: 'chaos', fault: 'error_ratio', value: 0.5 }),
      'error_ratio=0.5',
    );
    assert.equal(describeFault({ kind: 'chaos', fault: 'llm_outage' }), 'llm_outage');
    assert.equal(
      describeFault({ kind: 'traffic', profile: 'free-burst', rate: 20 }),
      'free-burst traffic at 20 req/s',
    );
    assert.equal(describeFault({ kind: 'stop-app' }), 'app stopped');
  });
});
