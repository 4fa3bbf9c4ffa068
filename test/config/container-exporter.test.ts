// otel-collector/containers.yaml, the container exporter of the host-metrics profile: the pinned
// Collector build (with the docker_stats receiver, scripts/tools/pins.txt's behind=) accepts it,
// and it keeps only the metrics that the "Containers and host" dashboard and the container
// alerts read (docs/decisions/0017-container-metrics.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { isBuiltFromCurrentInputs } from '../../scripts/lib/binaries.ts';
import { program, run } from '../lib/programs.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const FILE = 'otel-collector/containers.yaml';
const config = YAML.parse(readFileSync(join(REPO_ROOT, FILE), 'utf8')) as {
  receivers: { docker_stats: { metrics: Record<string, { enabled: boolean }> } };
};
/** The docker_stats metrics on by default (its metadata.yaml), as Prometheus names them. */
const ON_BY_DEFAULT: Record<string, string> = {
  'container.cpu.usage.total': 'container_cpu_usage_nanoseconds_total',
  'container.memory.usage.total': 'container_memory_usage_total_bytes',
  'container.memory.usage.limit': 'container_memory_usage_limit_bytes',
};
const NAMES: Record<string, string> = {
  ...ON_BY_DEFAULT,
  'container.cpu.throttling_data.periods': 'container_cpu_throttling_data_periods_total',
  'container.cpu.throttling_data.throttled_periods':
    'container_cpu_throttling_data_throttled_periods_total',
};

/** What the dashboards and rules read from job containers. */
function namesRead(): Set<string> {
  const text = [
    readFileSync(join(REPO_ROOT, 'prometheus/rules/host.yml'), 'utf8'),
    readFileSync(join(REPO_ROOT, 'grafana/dashboards/agent-containers-host.json'), 'utf8'),
  ].join('\n');
  return new Set(
    [...text.matchAll(/\b(container_[a-z_]+)\{job=\\?"containers\\?"/g)].map((m) => m[1]),
  );
}

describe(`${FILE} (the container exporter)`, function () {
  it('turns on exactly the metrics that the dashboard and the alerts read', function () {
    const metrics = config.receivers.docker_stats.metrics;
    const on = Object.keys(NAMES).filter((m) => metrics[m]?.enabled ?? m in ON_BY_DEFAULT);
    assert.deepEqual(on.map((m) => NAMES[m]).sort(), [...namesRead()].sort());
    const others = Object.entries(metrics).filter(([m, v]) => v.enabled && !(m in NAMES));
    assert.deepEqual(others, [], 'metrics turned on that nothing reads');
  });

  it('is accepted by the pinned Collector build (otelcol validate)', function () {
    const otelcol = program('otelcol', { pinnedOnly: true });
    if (!otelcol || !isBuiltFromCurrentInputs('otelcol')) {
      console.log('      skipped: the pinned otelcol is not built from this manifest (make tools)');
      this.skip();
    }
    const r = run(otelcol.path, ['validate', `--config=${FILE}`], REPO_ROOT);
    assert.equal(r.code, 0, r.output);
  });
});
