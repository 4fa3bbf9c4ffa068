// Regenerates the Helm chart's copies of the repo's rules, dashboards, Collector, Jaeger and
// Alertmanager configs (deploy/helm/agent-observability/files/generated/).
//
//   node scripts/helm-sync.ts                 write them (make helm-sync)
//   node scripts/helm-sync.ts --check [DIR]   exit 1 when the chart in DIR (default: the repo's)
//                                             differs from what would be generated (make check-helm)
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CHART_DIR, GENERATED_DIR, drift, generatedFiles } from './lib/helm/sync.ts';
import { REPO_ROOT } from './lib/repo.ts';

function write(files: Map<string, string>, chartDir: string): void {
  const dir = join(chartDir, GENERATED_DIR);
  rmSync(dir, { recursive: true, force: true });
  for (const [path, content] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  console.log(`helm-sync: wrote ${files.size} files to ${join(CHART_DIR, GENERATED_DIR)}`);
}

function check(files: Map<string, string>, chartDir: string): number {
  const problems = drift(files, chartDir);
  if (problems.length === 0) {
    console.log(`helm-sync: ${chartDir} is in step with the repo's configs`);
    return 0;
  }
  console.error(
    `helm-sync: the chart's generated files drifted from their sources (run make helm-sync):`,
  );
  for (const p of problems) console.error(`  ${p}`);
  return 1;
}

const args = process.argv.slice(2);
const files = generatedFiles(REPO_ROOT);
if (args[0] === '--check') {
  process.exitCode = check(files, resolve(args[1] ?? join(REPO_ROOT, CHART_DIR)));
} else {
  write(files, join(REPO_ROOT, CHART_DIR));
}
