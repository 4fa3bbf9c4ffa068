// docker-compose.yml as the native stack reads it: the services' commands, bind mounts,
// environment and memory limits, so both modes run the programs with the same flags, configs
// and memory bounds.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export interface ComposeService {
  command?: unknown;
  volumes?: unknown[];
  environment?: Record<string, unknown> | string[];
  deploy?: { resources?: { limits?: { memory?: string | number } } };
}

/** The services of the repo's docker-compose.yml (none when the repo has no such file). */
export function composeServices(repoDir: string): Record<string, ComposeService> {
  const file = path.join(repoDir, 'docker-compose.yml');
  if (!existsSync(file)) return {};
  const doc = YAML.parse(readFileSync(file, 'utf8')) as {
    services?: Record<string, ComposeService>;
  } | null;
  return doc?.services ?? {};
}

/** A service's command list, as the program gets it (Compose's `$$` is one `$`); an error
 * naming the service when it has none. */
export function composeCommand(repoDir: string, service: string): string[] {
  const command = composeServices(repoDir)[service]?.command;
  if (!Array.isArray(command)) {
    throw new Error(`docker-compose.yml: the ${service} service has no command list`);
  }
  return command.map((word) => String(word).replaceAll('$$', '$'));
}

/** One variable of a service's `environment:` (map or `KEY=value` list), as written. */
export function composeEnvironment(
  repoDir: string,
  service: string,
  name: string,
): string | undefined {
  const env = composeServices(repoDir)[service]?.environment;
  if (Array.isArray(env)) {
    const entry = env.map(String).find((e) => e.startsWith(`${name}=`));
    return entry?.slice(name.length + 1);
  }
  const value = env?.[name];
  return value === undefined || value === null ? undefined : String(value);
}

const MEMORY_UNITS: Record<string, number> = { b: 1 / 1048576, k: 1 / 1024, m: 1, g: 1024 };

/** A service's memory limit (deploy.resources.limits.memory) in MiB; Compose's units are binary. */
export function composeMemoryLimitMiB(repoDir: string, service: string): number | undefined {
  const limit = composeServices(repoDir)[service]?.deploy?.resources?.limits?.memory;
  if (limit === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg])?b?$/i.exec(String(limit).trim());
  if (!m)
    throw new Error(`docker-compose.yml: ${service}: cannot read the memory limit "${limit}"`);
  return Number(m[1]) * MEMORY_UNITS[(m[2] ?? 'b').toLowerCase()];
}
