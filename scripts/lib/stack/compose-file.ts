// docker-compose.yml as the native stack reads it: the services' commands and bind mounts, so
// both modes run the programs with the same flags and configs.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export interface ComposeService {
  command?: unknown;
  volumes?: unknown[];
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
