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

interface Fixture {
  dir: string;
  sup: Supervisor;
  unexpected: Managed[];
}

/** A fresh temporary directory and Supervisor per test, everything it started stopped after. */
function supervisorFixture(): Fixture {
  const f = {} as Fixture;
  beforeEach(() => {
    f.dir = mkdtempSync(path.join(tmpdir(), 'agent-obs-sup-'));
    f.unexpected = [];
    f.sup = new Supervisor((m) => f.unexpected.push(m));
  });
  afterEach(async () => {
    await f.sup.stopAll();
    rmSync(f.dir, { recursive: true, force: true });
  });
  return f;
}

describe('supervisor', function () {
  this.timeout(30_000);
  const f = supervisorFixture();

  it('starts when ready, logs to a file, and stops the whole process group', async () => {
    const pidFile = path.join(f.dir, 'grandchild.pid');
    const log = path.join(f.dir, 'sh.log');
    const m = await f.sup.start({
      name: 'sh',
      command: 'sh',
      args: ['-c', `echo hello; sleep 60 & echo $! > ${pidFile}; wait`],
      logFile: log,
      ports: [],
      ready: async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '',
    });
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(isAlive(m.pid) && isAlive(grandchild));
    await f.sup.stop('sh');
    await waitFor(() => !isAlive(grandchild));
    assert.equal(m.exit?.expected, true);
    assert.match(logTail(log), /hello/);
    assert.deepEqual(f.unexpected, []);
  });

  it('kills what ignores SIGTERM after the grace period', async () => {
    const m = await f.sup.start({
      name: 'stubborn',
      command: process.execPath,
      args: [
        '-e',
        "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)",
      ],
      logFile: path.join(f.dir, 'stubborn.log'),
      ports: [],
      ready: async () => logTail(path.join(f.dir, 'stubborn.log')).includes('up'),
    });
    const started = Date.now();
    await f.sup.stop('stubborn', 500);
    assert.ok(Date.now() - started >= 450);
    assert.equal(m.exit?.signal, 'SIGKILL');
    assert.ok(!isAlive(m.pid));
  });
});

describe('supervisor', function () {
  this.timeout(30_000);
  const f = supervisorFixture();

  it('reports a process that dies during start-up, with its log', async () => {
    await assert.rejects(
      f.sup.start({
        name: 'broken',
        command: 'sh',
        args: ['-c', 'echo "bad config: line 3" >&2; exit 3'],
        logFile: path.join(f.dir, 'broken.log'),
        ports: [],
        ready: async () => false,
      }),
      /broken exited during start-up \(code 3[\s\S]*bad config: line 3/,
    );
  });

  it('tells about a process that exits on its own later', async () => {
    await f.sup.start({
      name: 'short',
      command: 'sh',
      args: ['-c', 'sleep 0.3; exit 1'],
      logFile: path.join(f.dir, 'short.log'),
      ports: [],
      ready: async () => true,
    });
    await waitFor(() => f.unexpected.length === 1);
    assert.equal(f.unexpected[0].name, 'short');
    assert.equal(f.unexpected[0].exit?.code, 1);
  });
});

describe('ports', () => {
  it('hands out distinct free loopback ports', async () => {
    const ports = await freePorts(5);
    assert.equal(new Set(ports).size, 5);
    for (const p of ports) assert.ok(await isPortFree(p));
  });
});
