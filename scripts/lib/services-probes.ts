// The synthetic probe of each services.yml entry with a `probe` (scripts/lib/services.ts): a
// target group of the `blackbox` job, which reads prometheus/targets/probes/*.yml by file
// discovery (prometheus/prometheus.yml), so a probed service needs no prometheus.yml edit. The
// group names the probed URL, the service (`service_name`, the label ServiceDown's probe rule
// and the probe SLO key on) and the blackbox module (`__param_module`, which the job's default
// `module` parameter yields to). `make native` reads the same files (scripts/lib/stack/rewrite.ts),
// and the chart gets a Probe per entry (scripts/lib/helm/services.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { GENERATED_TARGETS_HEADER, type Service } from './services.ts';

/** Where the probe target files go: a folder of its own, so the `targets` job does not scrape them. */
export const PROBES_DIR = 'prometheus/targets/probes';
const BLACKBOX_CONFIG = 'blackbox/blackbox.yml';

/** prometheus/targets/probes/<name>.yml of each entry with a probe: path → content. */
export function probeTargetFiles(services: Service[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const s of services) {
    if (!s.probe) continue;
    const group = [
      {
        targets: [s.probe.url],
        labels: { service_name: s.name, __param_module: s.probe.module },
      },
    ];
    const text = `${GENERATED_TARGETS_HEADER} from services.yml (${s.name}'s probe): do not edit.\n`;
    files.set(`${PROBES_DIR}/${s.name}.yml`, text + YAML.stringify(group));
  }
  return files;
}

/** The probe modules of entries that blackbox/blackbox.yml lacks, each as that entry's mistake. */
export function unknownProbeModules(repoDir: string, services: Service[]): string[] {
  const file = join(repoDir, BLACKBOX_CONFIG);
  const config = existsSync(file)
    ? (YAML.parse(readFileSync(file, 'utf8')) as { modules?: Record<string, unknown> })
    : {};
  const modules = new Set(Object.keys(config.modules ?? {}));
  return services.flatMap((s, index) =>
    s.probe && !modules.has(s.probe.module)
      ? [
          `  services[${index}] (${s.name}).probe.module: no module ${s.probe.module} in ${BLACKBOX_CONFIG}`,
        ]
      : [],
  );
}
