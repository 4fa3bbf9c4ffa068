// The bases the stand-in images are built on, each cached outside the clone by a hash of its
// inputs (AGENT_OBS_CACHE_DIR/engine):
//   debian   Debian bookworm, `debootstrap --variant=minbase` from the host's own Debian mirror,
//            kept as a tarball and `docker import`ed (no registry to pull debian:bookworm from)
//   busybox  Debian's busybox-static with every applet in /bin, root and nobody in /etc/passwd
//   distroless-static  no shell: /etc/passwd with root, nobody, nonroot; the CA bundle; /tmp
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { docker, inspectImage } from './engine.ts';

export const CACHE_DIR = path.join(
  process.env.AGENT_OBS_CACHE_DIR ??
    path.join(
      process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? '/root', '.cache'),
      'agent-observability',
    ),
  'engine',
);
export const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
export const BUSYBOX = '/bin/busybox';
const SUITE = 'bookworm';

export const sha256 = (...parts: (string | Buffer)[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

/** The Debian mirror apt uses here (deb822 or one-line sources), for debootstrap. */
export function debianMirror(): string {
  const candidates = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const file of candidates.filter((f) => existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    const deb822 = /^URIs:\s*(\S+)\s*\nSuites:[^\n]*\bbookworm\b/m.exec(text);
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text);
    const uri = deb822?.[1] ?? oneLine?.[1];
    if (uri) return uri;
  }
  throw new Error('no Debian bookworm mirror in /etc/apt/sources*: debootstrap needs one');
}

/** The tools the bases are made with; what to install when one is missing. */
export function checkBaseTools(): void {
  for (const [tool, pkg] of [
    ['/usr/sbin/debootstrap', 'debootstrap'],
    [BUSYBOX, 'busybox-static'],
  ]) {
    if (!existsSync(tool)) {
      throw new Error(`${tool} is missing: install ${pkg} (sudo scripts/tools/engine.sh install)`);
    }
  }
}

function debianKey(): string {
  checkBaseTools();
  const version = execFileSync('debootstrap', ['--version'], { encoding: 'utf8' }).trim();
  return sha256(SUITE, 'minbase', debianMirror(), version).slice(0, 12);
}

/** The debootstrap tarball of Debian's base, cached by suite, mirror and debootstrap version. */
export function debianTarball(log: (line: string) => void): string {
  const key = debianKey();
  const tarball = path.join(CACHE_DIR, `debian-${SUITE}-minbase-${key}.tar`);
  if (existsSync(tarball)) return tarball;
  const mirror = debianMirror();
  log(`debootstrap ${SUITE} (minbase) from ${mirror}: a few minutes, once`);
  const root = path.join(CACHE_DIR, 'build', `debian-${key}`);
  rmSync(root, { recursive: true, force: true });
  execFileSync('debootstrap', ['--variant=minbase', SUITE, root, mirror], { stdio: 'ignore' });
  // No package lists or caches in the image: as Debian's own images.
  for (const d of ['var/lib/apt/lists', 'var/cache/apt/archives'])
    rmSync(path.join(root, d), { recursive: true, force: true });
  execFileSync('tar', ['--numeric-owner', '-C', root, '-cf', `${tarball}.part`, '.']);
  renameSync(`${tarball}.part`, tarball);
  rmSync(root, { recursive: true, force: true });
  return tarball;
}

/** The Debian base image, imported from the tarball (no registry to pull debian:bookworm from). */
export function debianBase(log: (line: string) => void): string {
  const tag = `agent-observability/standin-base:debian-${SUITE}-${debianKey()}`;
  if (!inspectImage(tag)) docker(['import', '--change', 'CMD ["bash"]', debianTarball(log), tag]);
  return tag;
}

const PASSWD_BUSYBOX =
  'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n';
const GROUP_BUSYBOX = 'root:x:0:\nnobody:x:65534:\n';

/** busybox's rootfs: the binary, a link per applet, the users, /tmp. */
export function writeBusyboxRootfs(dir: string): void {
  const root = path.join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'root', 'home', 'tmp'])
    mkdirSync(path.join(root, d), { recursive: true });
  chmodSync(path.join(root, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, path.join(root, 'bin/busybox'));
  chmodSync(path.join(root, 'bin/busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n');
  for (const a of applets.filter((x) => x && x !== 'busybox')) {
    symlinkSync('busybox', path.join(root, 'bin', a));
  }
  writeFileSync(path.join(root, 'etc/passwd'), PASSWD_BUSYBOX);
  writeFileSync(path.join(root, 'etc/group'), GROUP_BUSYBOX);
}

/** distroless/static's rootfs: users, the CA bundle, /tmp; nonroot's home is added owned. */
export function writeDistrolessRootfs(dir: string): void {
  const root = path.join(dir, 'rootfs');
  for (const d of ['etc/ssl/certs', 'root', 'tmp'])
    mkdirSync(path.join(root, d), { recursive: true });
  mkdirSync(path.join(dir, 'home-nonroot'), { recursive: true });
  writeFileSync(path.join(dir, 'home-nonroot/.keep'), '');
  chmodSync(path.join(root, 'tmp'), 0o1777);
  copyFileSync(CA_BUNDLE, path.join(root, 'etc/ssl/certs/ca-certificates.crt'));
  writeFileSync(
    path.join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' +
      'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
  );
  writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n');
}
