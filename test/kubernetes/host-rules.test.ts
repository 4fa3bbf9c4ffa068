// The host and container rules (prometheus/rules/host.yml) and their dashboard stay out of the
// Helm chart, and docs/kubernetes.md maps each of those alerts to kube-prometheus-stack's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import {
  DASHBOARDS_LEFT_TO_KUBE_PROMETHEUS_STACK,
  HOST_ALERTS_ON_KUBERNETES,
  RULE_FILES_LEFT_TO_KUBE_PROMETHEUS_STACK,
} from '../../scripts/lib/helm/kube-prometheus-stack.ts';
import { alertNames, type RuleFile } from '../../scripts/lib/helm/rules.ts';
import { generatedFiles } from '../../scripts/lib/helm/sync.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const hostRules = YAML.parse(
  readFileSync(join(REPO_ROOT, 'prometheus/rules/host.yml'), 'utf8'),
) as RuleFile;

describe('helm-sync: the host and its containers are kube-prometheus-stack’s', function () {
  it('renders no rule of host.yml or its thresholds, and not their dashboard', function () {
    const files = [...generatedFiles(REPO_ROOT).keys()];
    for (const f of RULE_FILES_LEFT_TO_KUBE_PROMETHEUS_STACK)
      assert.ok(!files.includes(`rules/${f.replace(/\.yml$/, '.yaml')}`), f);
    for (const f of DASHBOARDS_LEFT_TO_KUBE_PROMETHEUS_STACK)
      assert.ok(!files.includes(`dashboards/${f}`), f);
    assert.ok(
      files.some((f) => f.startsWith('rules/')) && files.some((f) => f.startsWith('dashboards/')),
    );
  });

  it('maps every alert of host.yml, and only those', function () {
    assert.deepEqual(Object.keys(HOST_ALERTS_ON_KUBERNETES).sort(), alertNames(hostRules).sort());
  });

  it('docs/kubernetes.md has the same mapping', function () {
    const doc = readFileSync(join(REPO_ROOT, 'docs/kubernetes.md'), 'utf8');
    for (const [ours, theirs] of Object.entries(HOST_ALERTS_ON_KUBERNETES)) {
      if (theirs.startsWith('none:'))
        assert.match(doc, new RegExp(`\`${ours}\` has\\s+no\\s+counterpart\\s+there`), ours);
      else
        assert.match(
          doc,
          new RegExp(`\\|\\s*\`${ours}\`\\s*\\|\\s*\`${theirs.split(' ')[0]}\``),
          `${ours} → ${theirs}`,
        );
    }
  });
});
