// Writes what services.yml generates (scripts/lib/services.ts): the per-service rules (generated,
// or rendered from an entry's templates), the Alertmanager team routes and receivers, and what the
// Helm chart takes from the entries (scripts/lib/helm/services.ts). The dashboards' service
// variable is written by `make dashboards` (grafana/src/ reads services.yml).
//
//   node scripts/services.ts            write them (make services)
//   node scripts/services.ts --check    exit 1, naming the files, when they drifted (make validate)
//   node scripts/services.ts --root DIR the same for the repo copy in DIR
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { REPO_ROOT } from './lib/repo.ts';
import { CHART_DIR, GENERATED_DIR } from './lib/helm/sync.ts';
import { CHART_SERVICES_FILE, chartServicesFile } from './lib/helm/services.ts';
import { PROBES_DIR, probeTargetFiles, unknownProbeModules } from './lib/services-probes.ts';
import { servicesRulesFile } from './lib/services-rules.ts';
import { withServiceRoutes } from './lib/services-routes.ts';
import { staleRenderedRules, templateRuleFiles } from './lib/services-templates.ts';
import {
  ALERTMANAGER_FILE,
  GENERATED_RULES,
  GENERATED_TARGETS_HEADER,
  loadServices,
  SERVICES_FILE,
  TARGETS_DIR,
  targetFiles,
} from './lib/services.ts';

/** Path (relative to the repo) → the content services.yml gives it. */
export function generatedFromServices(repoDir: string): Map<string, string> {
  const services = loadServices(repoDir);
  const unknown = unknownProbeModules(repoDir, services);
  if (unknown.length > 0)
    throw new Error(`${SERVICES_FILE} is not a valid services file:\n${unknown.join('\n')}`);
  const am = readFileSync(join(repoDir, ALERTMANAGER_FILE), 'utf8');
  return new Map([
    [GENERATED_RULES, servicesRulesFile(services)],
    [ALERTMANAGER_FILE, withServiceRoutes(am, services, ALERTMANAGER_FILE)],
    ...targetFiles(services),
    ...probeTargetFiles(services),
    ...templateRuleFiles(repoDir, services),
    [`${CHART_DIR}/${GENERATED_DIR}/${CHART_SERVICES_FILE}`, chartServicesFile(services)],
  ]);
}

/** Target files (scrape or probe) an earlier `make services` wrote for entries that are gone. */
function staleTargets(root: string, files: Map<string, string>, folder: string): string[] {
  const dir = join(root, folder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => `${folder}/${f}`)
    .filter((path) => path.endsWith('.yml') && !files.has(path))
    .filter((path) => readFileSync(join(root, path), 'utf8').startsWith(GENERATED_TARGETS_HEADER));
}

/** Every file an earlier `make services` wrote that no entry gives any more. */
const staleFiles = (root: string, files: Map<string, string>): string[] => [
  ...staleTargets(root, files, TARGETS_DIR),
  ...staleTargets(root, files, PROBES_DIR),
  ...staleRenderedRules(root, files),
];

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function main(args: string[]): number {
  const rootAt = args.indexOf('--root');
  const root = rootAt >= 0 ? resolve(args[rootAt + 1] ?? '.') : REPO_ROOT;
  let files: Map<string, string>;
  try {
    files = generatedFromServices(root);
  } catch (err) {
    console.error(`services: ${(err as Error).message}`);
    return 1;
  }
  if (args.includes('--check')) {
    const drifted = [...files].filter(([path, text]) => read(join(root, path)) !== text);
    const stale = staleFiles(root, files);
    for (const [path] of drifted)
      console.error(`services: ${path} drifted from services.yml (run make services)`);
    for (const path of stale)
      console.error(`services: ${path} is of no entry in services.yml (run make services)`);
    const failed = drifted.length + stale.length > 0;
    if (!failed) console.log('services: the generated files are in step with services.yml');
    return failed ? 1 : 0;
  }
  for (const [path, text] of files) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
    console.log(`services: wrote ${path}`);
  }
  for (const path of staleFiles(root, files)) {
    rmSync(join(root, path));
    console.log(`services: removed ${path}`);
  }
  return 0;
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
