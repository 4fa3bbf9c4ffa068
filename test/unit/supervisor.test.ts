// The process supervisor with real processes: a shell that starts a child of its own, so that
// stopping must reach the whole process group, and a program that ignores SIGTERM.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isAlive } from '../../scripts/lib/endpoints.ts';
import { waitUntil } from '../../scripts/lib/wait.ts';
import { freePorts, isPortFree } from '../../scripts/lib/ports.ts';
import { logTail, Supervisor, type Managed } from '../../scripts/lib/supervisor.ts';

const waitFor = (cond: () => boolean, ms = 5000) =>
  waitUntil('the condition', ms, async () => cond(), 50);

describe('supervisor', function () {
  this.timeout(30_000);
  let dir: string;
  let sup: Supervisor;
  let unexpected: Managed[];
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'agent-obs-sup-'));
    unexpected = [];
    sup = new Supervisor((m) => unexpected.push(m));
  });
  afterEach(async () => {
    await sup.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts when ready, logs to a file, and stops the whole process group', async () => {
    const pidFile = path.join(dir, 'grandchild.pid');
    const log = path.join(dir, 'sh.log');
    const m = await sup.start({
      name: 'sh',
      command: 'sh',
      args: ['-c', `echo hello; sleep 60 & echo $! > ${pidFile}; wait`],
      logFile: log,
      ports: [],
      ready: async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '',
    });
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(isAlive(m.pid) && isAlive(grandchild));
    await sup.stop('sh');
    await waitFor(() => !isAlive(grandchild));
    assert.equal(m.exit?.expected, true);
    assert.match(logTail(log), /hello/);
    assert.deepEqual(unexpected, []);
  });

  it('kills what ignores SIGTERM after the grace period', async () => {
    const m = await sup.start({
      name: 'stubborn',
      command: process.execPath,
      args: [
        '-e',
        "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)",
      ],
      logFile: path.join(dir, 'stubborn.log'),
      ports: [],
      ready: async () => logTail(path.join(dir, 'stubborn.log')).includes('up'),
    });
    const started = Date.now();
    await sup.stop('stubborn', 500);
    assert.ok(Date.now() - started >= 450);
    assert.equal(m.exit?.signal, 'SIGKILL');
    assert.ok(!isAlive(m.pid));
  });

  it('reports a process that dies during start-up, with its log', async () => {
    await assert.rejects(
      sup.start({
        name: 'broken',
        command: 'sh',
        args: ['-c', 'echo "bad config: line 3" >&2; exit 3'],
        logFile: path.join(dir, 'broken.log'),
        ports: [],
        ready: async () => false,
      }),
      /broken exited during start-up \(code 3[\s\S]*bad config: line 3/,
    );
  });

  it('tells about a process that exits on its own later', async () => {
    await sup.start({
      name: 'short',
      command: 'sh',
      args: ['-c', 'sleep 0.3; exit 1'],
      logFile: path.join(dir, 'short.log'),
      ports: [],
      ready: async () => true,
    });
    await waitFor(() => unexpected.length === 1);
    assert.equal(unexpected[0].name, 'short');
    assert.equal(unexpected[0].exit?.code, 1);
  });
});

describe('ports', () => {
  it('hands out distinct free loopback ports', async () => {
    const ports = await freePorts(5);
    assert.equal(new Set(ports).size, 5);
    for (const p of ports) assert.ok(await isPortFree(p));
  });
});
