// The last step of `make up TIME_SCALE=…`: gives the time-scaled Prometheus its rules.
//
// Prometheus evaluates rules from its first second but scrapes its targets only after the first
// target reload, up to 5 s later. With `for:` scaled to two seconds, that gap alone would fire
// ServiceDown (absent(up)). So, as `make native` does, it starts without rule_files
// (scripts/lib/stack/compose-time-scale.ts) and gets them here once every target has been
// scraped: this swaps in the full config, which Prometheus reloads by itself
// (auto-reload-config), and waits until every rule group is loaded. Runs where the other stack
// scripts run (scripts/host/tools.sh stack, or Node 24 on the host).
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { PrometheusClient } from './lib/clients.ts';
import { waitUntil } from './lib/wait.ts';
import { FULL_CONFIG, TIME_SCALE_DIR } from './lib/stack/compose-time-scale.ts';
import { REPO_DIR, resolveEndpoints } from './lib/endpoints.ts';

const dir = path.join(REPO_DIR, TIME_SCALE_DIR, 'prometheus');
const rulesDir = path.join(dir, 'rules');
const groups = readdirSync(rulesDir).reduce((n, f) => {
  const doc = YAML.parse(readFileSync(path.join(rulesDir, f), 'utf8')) as { groups?: unknown[] };
  return n + (doc?.groups?.length ?? 0);
}, 0);

const prometheus = new PrometheusClient(resolveEndpoints().prometheus);
try {
  await waitUntil('Prometheus to scrape every target once', 60_000, async () => {
    const targets = await prometheus.targets();
    return targets.length > 0 && targets.every((t) => t.health !== 'unknown');
  });
  copyFileSync(path.join(dir, FULL_CONFIG), path.join(dir, 'prometheus.yml'));
  await waitUntil(`Prometheus to load its ${groups} rule groups`, 30_000, async () => {
    const res = await fetch(`${prometheus.url}/api/v1/rules`, {
      signal: AbortSignal.timeout(2000),
    });
    const body = (await res.json()) as { data: { groups: unknown[] } };
    return body.data.groups.length === groups;
  });
} catch (err) {
  console.error(`make up: ${(err as Error).message} (make logs SERVICE=prometheus shows why)`);
  process.exit(1);
}
console.log(`Prometheus has its ${groups} time-scaled rule groups.`);
