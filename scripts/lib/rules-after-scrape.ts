// Prometheus evaluates rules from its first second but scrapes only after its first target
// reload, up to 5 s later; with time-scaled `for:` that gap alone would fire ServiceDown
// (absent(up)). So a time-scaled Prometheus (make native, make up TIME_SCALE=…) starts without
// rule_files and gets them here, once every target has been scraped.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { PrometheusClient } from './clients.ts';
import { waitUntil } from './wait.ts';

/** How many rule groups the files hold: what Prometheus should report once it loaded them. */
export function ruleGroupCount(files: string[]): number {
  return files.reduce((n, f) => {
    const doc = YAML.parse(readFileSync(f, 'utf8')) as { groups?: unknown[] } | null;
    return n + (doc?.groups?.length ?? 0);
  }, 0);
}

/** Waits for every target's first scrape, calls `swapInRules`, waits for all `groups` to load. */
export async function loadRulesAfterFirstScrape(
  prometheus: PrometheusClient,
  swapInRules: () => void,
  groups: number,
  scrapeTimeoutMs = 30_000,
): Promise<void> {
  await waitUntil('Prometheus to scrape every target once', scrapeTimeoutMs, async () => {
    const targets = await prometheus.targets();
    return targets.length > 0 && targets.every((t) => t.health !== 'unknown');
  });
  swapInRules();
  await waitUntil(
    `Prometheus to load its ${groups} rule groups`,
    30_000,
    async () => (await prometheus.ruleGroups()).length === groups,
    250,
  );
}
