// The service's store checkpoints its WAL on a worker thread: a commit on the event loop never
// copies the WAL into the file nor waits for the disk's fsync (10-250 ms, once per 60 stored runs
// of 64 KiB), and the WAL still reaches the file, and is truncated when retention asks.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunRecord } from '../src/agent/run';
import { RunStore } from '../src/agent/storage';

const MiB = 1024 * 1024;

function run(input: string): RunRecord {
  return {
    id: randomUUID(),
    agent: 'research',
    model: 'sim-large',
    tier: 'pro',
    status: 'cancelled',
    cached: false,
    input,
    output: null,
    error: 'run cancelled: the client closed the connection',
    steps: [],
    usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
    cost_usd: 0,
    duration_ms: 150,
    trace_id: null,
    created_at: new Date().toISOString(),
  };
}

describe('WAL checkpoints off the event loop', function () {
  this.timeout(30_000);
  let dir: string;
  let store: RunStore;
  const size = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  const mainFile = () => size(store.path);
  const wal = () => size(`${store.path}-wal`);
  /** 150 runs of 64 KiB: about 2,500 pages, past SQLite's autocheckpoint at 1,000. */
  const store150 = () => {
    for (let i = 0; i < 150; i++) store.insertRun(run(`${i} ${'x'.repeat(64 * 1024)}`), 'o');
  };
  const until = async (done: () => boolean, ms: number) => {
    for (const end = performance.now() + ms; !done() && performance.now() < end;) await sleep(50);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-service-wal-'));
    store = new RunStore(dir);
    store.open();
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without the worker, SQLite checkpoints inside the commits (what the service no longer does)', () => {
    store150();
    assert.ok(mainFile() > 4 * MiB, `database file ${mainFile()} bytes`);
  });

  it('with the worker, no commit checkpoints; the worker folds the WAL into the file', async () => {
    // An interval longer than the inserts take: any checkpoint during them would be a commit's.
    store.checkpointOnWorker(60_000);
    store150();
    assert.ok(mainFile() < 1 * MiB, `database file ${mainFile()} bytes right after the commits`);
    assert.ok(wal() > 9 * MiB, `WAL ${wal()} bytes`);
    store.checkpoint();
    await until(() => wal() === 0, 10_000);
    assert.equal(wal(), 0, 'the WAL truncated by the worker');
    assert.ok(mainFile() > 9 * MiB, `database file ${mainFile()} bytes after the checkpoint`);
  });

  it('checkpoints every interval on its own', async () => {
    store.checkpointOnWorker(200);
    store150();
    await until(() => mainFile() > 9 * MiB, 10_000);
    assert.ok(mainFile() > 9 * MiB, `database file ${mainFile()} bytes`);
  });

  it('a store closed and opened again (db_outage) gets a worker again', async () => {
    store.checkpointOnWorker(60_000);
    store.close();
    store.open();
    store150();
    assert.ok(mainFile() < 1 * MiB, `database file ${mainFile()} bytes right after the commits`);
    store.checkpoint();
    await until(() => wal() === 0, 10_000);
    assert.equal(wal(), 0);
  });
});
