// A fresh clone on a host without Node, for the tests of `make up` with Docker alone:
// - a copy of the repo's files (tracked and new, as git lists them; no node_modules, no .env),
//   at <dir>/work/repo, the path the tools container mounts it at;
// - <dir>/work/node_modules: links to exactly the packages `npm ci --omit=dev` installs in the
//   tools image (package-lock.json entries without `dev`), one folder up, as in the image;
// - a PATH with everything in /usr/bin except node, npm and npx, then /usr/sbin:/sbin, plus
//   whatever bin folders a test puts first (a stub docker). docker is left out too: each test
//   says which docker it runs with, and where an engine runs (a CI runner) the real one would
//   start the stack.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '../..');
const HIDDEN = new Set(['node', 'npm', 'npx', 'docker']);

export interface NodelessClone {
  dir: string;
  repo: string;
  /** PATH without Node; `first` folders go before it. */
  path(...first: string[]): string;
  /** A bin folder holding one executable shell script `name`. */
  stub(name: string, body: string): string;
  /** `make <args>` in the clone with only the given PATH (and HOME). */
  make(args: string[], pathValue: string, env?: NodeJS.ProcessEnv): MakeResult;
}

export interface MakeResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function copyRepoFiles(to: string): void {
  const files = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: REPO,
      encoding: 'utf8',
    },
  )
    .split('\0')
    .filter(Boolean);
  for (const rel of files) {
    const from = path.join(REPO, rel);
    let st;
    try {
      st = statSync(from);
    } catch {
      continue; // deleted in the work tree, not yet committed
    }
    if (!st.isFile()) continue;
    mkdirSync(path.dirname(path.join(to, rel)), { recursive: true });
    copyFileSync(from, path.join(to, rel));
    chmodSync(path.join(to, rel), st.mode & 0o777);
  }
}

/** The runtime packages of package-lock.json, linked from the repo's node_modules. */
function linkRuntimePackages(to: string): string[] {
  const lock = JSON.parse(readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const names = Object.entries(lock.packages)
    .filter(([key, p]) => key.startsWith('node_modules/') && !p.dev)
    .map(([key]) => key.slice('node_modules/'.length))
    .filter((name) => !name.includes('/node_modules/'));
  for (const name of names) {
    mkdirSync(path.dirname(path.join(to, name)), { recursive: true });
    symlinkSync(path.join(REPO, 'node_modules', name), path.join(to, name));
  }
  return names;
}

export function nodelessClone(): NodelessClone {
  const dir = mkdtempSync(path.join(tmpdir(), 'nodeless-'));
  const repo = path.join(dir, 'work/repo');
  copyRepoFiles(repo);
  linkRuntimePackages(path.join(dir, 'work/node_modules'));
  const usrBin = path.join(dir, 'usr-bin');
  mkdirSync(usrBin);
  for (const name of readdirSync('/usr/bin')) {
    if (!HIDDEN.has(name)) symlinkSync(path.join('/usr/bin', name), path.join(usrBin, name));
  }
  let stubs = 0;
  return {
    dir,
    repo,
    path: (...first) => [...first, usrBin, '/usr/sbin', '/sbin'].join(':'),
    stub(name, body) {
      const bin = path.join(dir, `stub-${++stubs}`);
      mkdirSync(bin);
      writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
      return bin;
    },
    make(args, pathValue, env = {}) {
      const r = spawnSync('make', ['--no-print-directory', ...args], {
        cwd: repo,
        env: { HOME: dir, PATH: pathValue, ...env },
        // stdin not a socket: Debian's bash would take that for sshd and read /etc/bash.bashrc.
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
        timeout: 60_000,
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
  };
}
