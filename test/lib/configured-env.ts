// The .env that `make configure` writes on a fresh clone: .env.example with every generated
// secret and key filled in, by the real configure step (scripts/configure.ts) in a scratch
// folder. The compose tests interpolate docker-compose.yml with it, as Compose does after
// `make up`'s configure step.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureEnvFile } from '../../scripts/configure.ts';
import { REPO } from './repo.ts';

let cached: Map<string, string> | undefined;

export function configuredEnv(): Map<string, string> {
  if (cached) return new Map(cached);
  const dir = mkdtempSync(join(tmpdir(), 'configured-env-'));
  try {
    copyFileSync(join(REPO, '.env.example'), join(dir, '.env.example'));
    cached = ensureEnvFile(dir).values;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return new Map(cached);
}
