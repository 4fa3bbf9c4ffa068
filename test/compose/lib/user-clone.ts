// A fresh copy of the clone as a Docker user would have it: owned by a non-root uid in the
// docker group, made under umask 077 (files 0600, folders 0700), no node_modules, and a PATH
// without node, npm or npx (nor /usr/local/bin: the docker client is Debian's /usr/bin/docker).
// `make` runs there through setpriv as that uid, with only HOME, PATH and the engine's
// DOCKER_HOST / DOCKER_CONFIG, NODE_IMAGE and PYTHON_IMAGE in its environment.
import { execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { copyRepoFiles } from '../../lib/nodeless-clone.ts';
import { engineEnv } from './engine.ts';
import { nodeTags } from './node-release.ts';
import { pythonTag } from './python-base.ts';

/** A uid no account has: the test needs no entry in /etc/passwd (override: COMPOSE_TEST_UID). */
const UID = Number(process.env.COMPOSE_TEST_UID ?? 64123);
const HIDDEN = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack']);

export interface MakeRun {
  status: number | null;
  output: string;
  seconds: number;
}

export interface UserClone {
  dir: string;
  repo: string;
  uid: number;
  /** `make ARGS` in the clone as the user; the output also goes to <dir>/logs/<label>.log. */
  make(args: string[], timeoutMs: number): Promise<MakeRun>;
}

function dockerGid(): number {
  const line = execFileSync('getent', ['group', 'docker'], { encoding: 'utf8' });
  return Number(line.split(':')[2]);
}

/** /usr/bin without node & co., as a folder of links. */
function binWithoutNode(dir: string): string {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  for (const name of readdirSync('/usr/bin')) {
    if (!HIDDEN.has(name)) symlinkSync(path.join('/usr/bin', name), path.join(bin, name));
  }
  return bin;
}

export function userClone(): UserClone {
  const dir = mkdtempSync('/tmp/compose-clone-');
  const repo = path.join(dir, 'repo');
  copyRepoFiles(repo);
  for (const d of ['home', 'logs']) mkdirSync(path.join(dir, d));
  const bin = binWithoutNode(dir);
  // As a clone under umask 077 (git keeps only the owner's bits), owned by the user.
  execFileSync('chmod', ['-R', 'go-rwx', dir]);
  execFileSync('chown', ['-R', '--no-dereference', `${UID}:${UID}`, dir]);
  chownSync(dir, UID, UID);
  const env = {
    HOME: path.join(dir, 'home'),
    PATH: `${bin}:/usr/sbin:/sbin`,
    // The app and tools images build on the node stand-in, whatever base (a digest) the
    // Dockerfiles pin; the Python example service on the python stand-in.
    NODE_IMAGE: nodeTags().bookwormSlim,
    PYTHON_IMAGE: pythonTag(),
    ...engineEnv(),
  };
  const gid = dockerGid();
  let runs = 0;
  return {
    dir,
    repo,
    uid: UID,
    make: (args, timeoutMs) =>
      runAsUser(args, {
        cwd: repo,
        env,
        gid,
        timeoutMs,
        log: path.join(dir, 'logs', `${++runs}-${args.join('_')}.log`),
      }),
  };
}

function runAsUser(
  args: string[],
  o: { cwd: string; env: Record<string, string>; gid: number; timeoutMs: number; log: string },
): Promise<MakeRun> {
  const argv = [
    `--reuid=${UID}`,
    `--regid=${UID}`,
    `--groups=${o.gid}`,
    '--inh-caps=-all',
    '--',
    'sh',
    '-c',
    'umask 077 && exec make --no-print-directory "$@"',
    'make',
    ...args,
  ];
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn('setpriv', argv, {
      cwd: o.cwd,
      env: o.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), o.timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      writeFileSync(o.log, output);
      resolve({ status, output, seconds: (Date.now() - t0) / 1000 });
    });
  });
}

/** The clone's .env (the user's own, mode 0600): the variables given, one per line. */
export function writeCloneEnv(clone: UserClone, env: Record<string, string | number>): void {
  const text = Object.entries(env)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
  writeFileSync(path.join(clone.repo, '.env'), text, { mode: 0o600 });
  chownSync(path.join(clone.repo, '.env'), clone.uid, clone.uid);
}

/** After a suite: its figures printed, `make clean`, and the clone removed unless a step failed. */
export async function finishClone(
  f: { clone?: UserClone; figures: string[]; failed: boolean },
  minutes: number,
): Promise<void> {
  for (const line of f.figures) console.log(`      ${line}`);
  if (!f.clone) return;
  await f.clone.make(['clean'], minutes * 60_000);
  if (!f.failed) rmSync(f.clone.dir, { recursive: true, force: true });
  else console.log(`      the clone and make's logs stay in ${f.clone.dir}`);
}
