// Writes grafana/dashboards/*.json from the code in this folder: `make dashboards`.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { dashboards, fileName, render } from './dashboards.ts';

const outDir = join(REPO_ROOT, 'grafana/dashboards');
mkdirSync(outDir, { recursive: true });

const written = new Set<string>();
for (const built of dashboards()) {
  const name = fileName(built);
  writeFileSync(join(outDir, name), render(built));
  written.add(name);
  console.log(`grafana/dashboards/${name}: ${built.title}`);
}

// A dashboard removed from the code must disappear from provisioning too.
for (const name of readdirSync(outDir)) {
  if (name.endsWith('.json') && !written.has(name)) {
    rmSync(join(outDir, name));
    console.log(`grafana/dashboards/${name}: removed`);
  }
}
