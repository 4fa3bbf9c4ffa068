// The fallback validator (deploy/validate, built by `make tools`): strict decoding into the
// k8s.io/api and monitoring.coreos.com Go types, the Operator's CRD schemas, Pod Security
// `restricted`, with no API server. It runs on every combination whether or not the API server
// could be built, and must refuse broken manifests, so it is known to work when it is needed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { COMBINATIONS, crdDir, kubeValidateTool, renderChart } from '../lib/helm.ts';

function validate(yaml: string): { ok: boolean; output: string } {
  const bin = kubeValidateTool();
  assert.ok(
    bin,
    'the fallback validator is not built for the current deploy/validate sources: run `make tools`',
  );
  const r = spawnSync(bin, ['-crds', crdDir()], { input: yaml, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

describe('helm chart: fallback validation without an API server', function () {
  this.timeout(120_000);

  for (const [name, values] of Object.entries(COMBINATIONS)) {
    it(`accepts every rendered object: ${name}`, function () {
      const r = renderChart({ values });
      assert.ok(r.ok, r.output);
      const v = validate(r.yaml);
      assert.ok(v.ok, v.output);
      assert.match(v.output, new RegExp(`${r.objects.length} objects valid`));
    });
  }

  it('refuses an unknown field, a CRD schema violation and a pod outside `restricted`', function () {
    const r = renderChart();
    const broken = r.yaml
      .replace(
        'accessModes: [ReadWriteOnce]',
        'accessModes: [ReadWriteOnce]\n  accessMode: ReadWriteOnce',
      )
      .replace('groupWait: 30s', 'groupWait: 30 seconds')
      .replace(
        'readOnlyRootFilesystem: true\n            runAsNonRoot: true',
        'readOnlyRootFilesystem: true\n            runAsNonRoot: false',
      );
    const v = validate(broken);
    assert.equal(v.ok, false, v.output);
    assert.match(v.output, /PersistentVolumeClaim .*unknown field "accessMode"/);
    assert.match(v.output, /groupWait/);
    assert.match(v.output, /violates PodSecurity restricted: runAsNonRoot != true/);
  });
});
