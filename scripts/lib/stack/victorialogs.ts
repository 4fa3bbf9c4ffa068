// The log store's command line for the native stack: the flags of docker-compose.yml's
// victorialogs service (retention, disk cap), so both modes run the store alike, with the
// data directory and listen address of this machine instead of the container's.
import { composeCommand } from './compose-file.ts';

const LOCAL_FLAGS = ['-storageDataPath=', '-httpListenAddr='];

/** victoria-logs arguments: compose's flags, then the local data directory and address. */
export function victoriaLogsArgs(repoDir: string, dataDir: string, listen: string): string[] {
  const kept = composeCommand(repoDir, 'victorialogs').filter(
    (flag) => !LOCAL_FLAGS.some((local) => flag.startsWith(local)),
  );
  return [...kept, `-storageDataPath=${dataDir}`, `-httpListenAddr=${listen}`];
}
