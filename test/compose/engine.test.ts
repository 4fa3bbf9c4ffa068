// scripts/tools/engine.sh: the tests' engine shares nothing with a system one, and will not
// start beside another root dockerd.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { docker, engineEnv } from './lib/engine.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const ENGINE_SH = path.join(REPO_ROOT, 'scripts/tools/engine.sh');

describe('scripts/tools/engine.sh', () => {
  it('runs on a socket, exec root and data root of its own, with its address pool', () => {
    const env = engineEnv();
    assert.notEqual(env.DOCKER_HOST, 'unix:///var/run/docker.sock');
    const info = JSON.parse(docker(['info', '--format', '{{json .}}'])) as {
      DockerRootDir: string;
      Driver: string;
      ServerVersion: string;
    };
    assert.notEqual(info.DockerRootDir, '/var/lib/docker');
    // The data root engine.sh chose (under AGENT_OBS_CACHE_DIR, or ENGINE_DATA_ROOT), as it says.
    const status = spawnSync('bash', [ENGINE_SH, 'status'], { encoding: 'utf8' }).stdout;
    assert.match(status, /, data root (\S+)$/m);
    assert.equal(info.DockerRootDir, /, data root (\S+)$/m.exec(status)![1]);
    assert.equal(info.Driver, 'overlay2');
    console.log(`      dockerd ${info.ServerVersion}, data root ${info.DockerRootDir}`);
    const name = `engine-test-${process.pid}`;
    docker(['network', 'create', name]);
    try {
      const subnet = docker([
        'network',
        'inspect',
        name,
        '--format',
        '{{(index .IPAM.Config 0).Subnet}}',
      ]);
      assert.match(subnet.trim(), /^10\.213\.\d+\.0\/24$/, "not from the engine's address pool");
    } finally {
      docker(['network', 'rm', name]);
    }
  });

  it('refuses to start while another root dockerd runs, naming it', async function () {
    if (process.getuid?.() !== 0) this.skip();
    // A process named dockerd (a copy of sleep) stands for the other engine.
    const dir = mkdtempSync(path.join(tmpdir(), 'other-dockerd-'));
    copyFileSync('/bin/sleep', path.join(dir, 'dockerd'));
    const other = spawn(path.join(dir, 'dockerd'), ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const r = spawnSync('bash', [ENGINE_SH, 'start'], { encoding: 'utf8' });
      assert.notEqual(r.status, 0, 'engine.sh started beside another dockerd');
      assert.match(r.stderr, new RegExp(`another dockerd runs \\(pid ${other.pid}`));
    } finally {
      other.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
