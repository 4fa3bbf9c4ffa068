// The log store's command line for the native stack: the flags of docker-compose.yml's
// victorialogs service (retention, disk cap), so both modes run the store alike, with the
// data directory and listen address of this machine instead of the container's.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

const LOCAL_FLAGS = ['-storageDataPath=', '-httpListenAddr='];

/** victoria-logs arguments: compose's flags, then the local data directory and address. */
export function victoriaLogsArgs(repoDir: string, dataDir: string, listen: string): string[] {
  const compose = YAML.parse(readFileSync(path.join(repoDir, 'docker-compose.yml'), 'utf8')) as {
    services?: Record<string, { command?: unknown }>;
  };
  const command = compose.services?.victorialogs?.command;
  if (!Array.isArray(command)) {
    throw new Error('docker-compose.yml: the victorialogs service has no command list');
  }
  const kept = command
    .map(String)
    .filter((flag) => !LOCAL_FLAGS.some((local) => flag.startsWith(local)));
  return [...kept, `-storageDataPath=${dataDir}`, `-httpListenAddr=${listen}`];
}
