// app/Dockerfile, read as text (building it needs a Docker Engine: docs/docker.md): its base is
// pinned by digest to the repo's Node, the tag written beside it, and the final stage removes
// the package managers the base ships, so the running service has node and nothing to install
// code with. Each check is also fed a broken copy and must complain.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../lib/repo.ts';
import { assertReports } from '../lib/reports.ts';

const DOCKERFILE = readFileSync(join(REPO, 'app/Dockerfile'), 'utf8');
const NODE_VERSION = (
  JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  }
).devDependencies.node;

/** What the node base ships besides node (its Dockerfile installs them into /usr/local). */
const PACKAGE_MANAGERS = [
  '/usr/local/lib/node_modules/npm',
  '/usr/local/bin/npm',
  '/usr/local/bin/npx',
  '/usr/local/lib/node_modules/corepack',
  '/usr/local/bin/corepack',
];

/** The instructions of the last stage, continuation lines joined. */
function finalStage(text: string): string[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const from = lines.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0);
  return lines.slice(from.at(-1)).filter((l) => l.trim() && !l.trim().startsWith('#'));
}

function checkAppImage(text: string, nodeVersion: string): string[] {
  const problems: string[] = [];
  const arg = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1];
  const m = /^(node:([^@\s]+))@sha256:[0-9a-f]{64}$/.exec(arg ?? '');
  if (!m) problems.push(`NODE_IMAGE default "${arg}" is not node:TAG@sha256:DIGEST`);
  else {
    if (!m[2].startsWith(`${nodeVersion}-`))
      problems.push(`NODE_IMAGE ${m[1]} is not the repo's Node ${nodeVersion}`);
    if (!new RegExp(`^#.*\\btag: ${m[1].replace(/\./g, '\\.')}\\s`, 'm').test(text))
      problems.push(`no comment names the tag ${m[1]} beside its digest`);
  }
  const stage = finalStage(text);
  if (!/^FROM \$\{NODE_IMAGE\}\s*$/.test(stage[0] ?? ''))
    problems.push(`the final stage is not FROM \${NODE_IMAGE}: ${stage[0]}`);
  const removed = stage.filter((l) => /^RUN\s.*\brm -rf?\b/.test(l)).join(' ');
  for (const path of PACKAGE_MANAGERS)
    if (!removed.includes(path)) problems.push(`the final stage keeps ${path}`);
  return problems;
}

describe('app/Dockerfile: the runtime image', () => {
  it('is based on the repo Node pinned by digest, and keeps no npm, npx or corepack', () => {
    assert.deepEqual(checkAppImage(DOCKERFILE, NODE_VERSION), []);
  });

  it('reports a base pinned by tag only, another Node, a lost tag comment, npm kept', () => {
    const broken = (from: RegExp | string, to: string) => {
      const text = DOCKERFILE.replace(from, to);
      assert.notEqual(text, DOCKERFILE, `the edit ${String(from)} did not apply`);
      return checkAppImage(text, NODE_VERSION);
    };
    assertReports(broken(/@sha256:[0-9a-f]{64}/, ''), /not node:TAG@sha256:DIGEST/);
    assertReports(
      broken(/^ARG NODE_IMAGE=node:\d+\.\d+\.\d+-/m, 'ARG NODE_IMAGE=node:22.0.0-'),
      /not the repo's Node/,
    );
    assertReports(broken(/^#.*\btag: node:.*$/m, '#'), /no comment names the tag/);
    assertReports(broken(' /usr/local/bin/npm ', ' '), /keeps \/usr\/local\/bin\/npm$/);
    assertReports(broken(/\nUSER node\n/, '\nUSER node\nFROM debian\n'), /final stage is not FROM/);
  });
});
