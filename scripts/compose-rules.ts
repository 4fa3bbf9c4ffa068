// The last step of `make up TIME_SCALE=…`: gives the time-scaled Prometheus its rules.
//
// Prometheus evaluates rules from its first second but scrapes its targets only after the first
// target reload, up to 5 s later. With `for:` scaled to two seconds, that gap alone would fire
// ServiceDown (absent(up)). So, as `make native` does, it starts without rule_files
// (scripts/lib/stack/compose-time-scale.ts) and gets them here once every target has been
// scraped: this swaps in the full config, which Prometheus reloads by itself
// (auto-reload-config), and waits until every rule group is loaded. Runs where the other stack
// scripts run (scripts/host/tools.sh stack, or Node 24 on the host).
import { copyFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PrometheusClient } from './lib/clients.ts';
import { resolveEndpoints } from './lib/endpoints.ts';
import { loadRulesAfterFirstScrape, ruleGroupCount } from './lib/rules-after-scrape.ts';
import { FULL_CONFIG } from './lib/stack/compose-time-scale.ts';
import { TIME_SCALE_DIR } from './lib/time-scale.ts';
import { REPO_ROOT } from './lib/repo.ts';

const dir = path.join(REPO_ROOT, TIME_SCALE_DIR, 'prometheus');
const rulesDir = path.join(dir, 'rules');
const groups = ruleGroupCount(readdirSync(rulesDir).map((f) => path.join(rulesDir, f)));
const swap = () => copyFileSync(path.join(dir, FULL_CONFIG), path.join(dir, 'prometheus.yml'));

try {
  await loadRulesAfterFirstScrape(
    new PrometheusClient(resolveEndpoints().prometheus),
    swap,
    groups,
    60_000,
  );
} catch (err) {
  console.error(`make up: ${(err as Error).message} (make logs SERVICE=prometheus shows why)`);
  process.exit(1);
}
console.log(`Prometheus has its ${groups} time-scaled rule groups.`);
