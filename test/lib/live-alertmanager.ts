// A real Alertmanager on loopback for the rules tests: a config written into a temporary
// directory (with the repo's templates beside it), one instance without gossip, stopped and
// removed after the suite.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/lib/ports.ts';
import { waitUntil } from '../../scripts/lib/wait.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

export interface LiveAlertmanager {
  url: string;
  /** The directory of its config: relative `templates:` entries resolve against it. */
  dir: string;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/**
 * Starts `binary` on `config` (text, or a function of the config's directory, for configs
 * that name files beside them); resolves once /-/ready answers.
 */
export async function startAlertmanager(
  binary: string,
  config: string | ((dir: string) => string),
): Promise<LiveAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'am-live-'));
  symlinkSync(join(REPO_ROOT, 'alertmanager/templates'), join(dir, 'templates'));
  writeFileSync(join(dir, 'alertmanager.yml'), typeof config === 'string' ? config : config(dir));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=', // no gossip port: a single instance
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  await waitUntil('Alertmanager to be ready', 30_000, async () => {
    if (child.exitCode !== null) throw new Error(`alertmanager exited:\n${log}`);
    const res = await fetch(`${url}/-/ready`);
    return res.ok ? true : undefined;
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { url, dir, stop };
}
