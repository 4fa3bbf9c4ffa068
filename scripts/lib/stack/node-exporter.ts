// The node exporter's command line for the native stack: the flags of docker-compose.yml's
// node-exporter service (which collectors run, which file systems count), so both modes
// measure the host alike, without the container's paths (compose reads the host through a
// read-only mount of / at /host; natively the exporter reads its own host) and with a
// loopback listen address.
import { composeCommand } from './compose-file.ts';

const CONTAINER_FLAGS = ['--path.', '--web.listen-address='];

/** node_exporter arguments: compose's collector flags, then the local listen address. */
export function nodeExporterArgs(repoDir: string, listen: string): string[] {
  const kept = composeCommand(repoDir, 'node-exporter').filter(
    (flag) => !CONTAINER_FLAGS.some((container) => flag.startsWith(container)),
  );
  return [...kept, `--web.listen-address=${listen}`];
}
