// The service's version, read once from its own package.json: the resource attribute of its
// spans, Sentry's release, app_build_info and GET /health all say the same.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function packageVersion(): string {
  // dist/ at run time, build/src/ in tests: walk up to the service's own package.json instead
  // of assuming a depth.
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (!existsSync(candidate)) continue;
    const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'agent-service' && pkg.version) return pkg.version;
  }
  return 'unknown';
}

export const SERVICE_VERSION = packageVersion();
