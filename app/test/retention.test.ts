// The database stays bounded (issue 14, item 7): runs past RETENTION_MAX_AGE_HOURS go, then the
// oldest until the rows fit RETENTION_MAX_BYTES, and the file and its WAL really shrink.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DELETE_BATCH_ROWS, Retention } from '../src/agent/retention';
import type { RunRecord } from '../src/agent/run';
import { RunStore } from '../src/agent/storage';
import { buildApp } from './support/app';
import { scrape } from './support/http';
import { valueOf } from './support/metrics';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-06-01T12:00:00Z');

function run(createdAt: number, inputBytes: number): RunRecord {
  return {
    id: randomUUID(),
    agent: 'support',
    model: 'sim-small',
    tier: 'free',
    status: 'success',
    cached: false,
    input: 'x'.repeat(inputBytes),
    output: 'ok',
    error: null,
    steps: [],
    usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
    cost_usd: 0,
    duration_ms: 1,
    trace_id: null,
    created_at: new Date(createdAt).toISOString(),
  };
}

describe('database retention', function () {
  this.timeout(60_000);
  let dir: string;
  let store: RunStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-service-retention-'));
    store = new RunStore(dir);
    store.open();
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const count = () => {
    const db = new DatabaseSync(store.path, { readOnly: true });
    const { n } = db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number };
    db.close();
    return n;
  };

  it('deletes runs older than the maximum age, in batches, and keeps the rest', async () => {
    const old = Array.from({ length: DELETE_BATCH_ROWS * 2 + 7 }, () => run(NOW - 25 * HOUR, 10));
    const recent = Array.from({ length: 10 }, () => run(NOW - HOUR, 10));
    for (const record of [...old, ...recent]) store.insertRun(record, 'owner');
    const retention = new Retention(
      store,
      { maxAgeHours: 24, maxBytes: 1 << 30, intervalMs: 60_000 },
      () => NOW,
    );
    assert.equal(await retention.sweep(), old.length);
    assert.equal(count(), recent.length);
    assert.ok(store.getRun(recent[0]!.id, 'owner'));
  });

  it('deletes the oldest runs until the rows fit, and the files on disk shrink to match', async () => {
    // 400 runs of 64 KiB: about 26 MB of rows, WAL included.
    for (let i = 0; i < 400; i++) store.insertRun(run(NOW - (400 - i) * 1000, 64 * 1024), 'o');
    const grown = store.sizeBytes();
    assert.ok(grown > 20 * 1024 * 1024, `grew to ${grown} bytes`);
    const maxBytes = 4 * 1024 * 1024;
    const retention = new Retention(
      store,
      { maxAgeHours: 24, maxBytes, intervalMs: 60_000 },
      () => NOW,
    );
    const started = performance.now();
    const deleted = await retention.sweep();
    const seconds = (performance.now() - started) / 1000;
    assert.ok(deleted > 300 && deleted < 400, `deleted ${deleted}`);
    const size = store.sizeBytes();
    // Rows within the limit; the file keeps at most a few pages beyond them, the WAL is empty.
    assert.ok(size <= maxBytes * 1.1, `${size} bytes on disk after the sweep (${seconds} s)`);
    // The newest runs are the ones kept.
    assert.equal(count(), 400 - deleted);
  });

  it('exposes the size of the database files as app_db_size_bytes', async () => {
    const t = buildApp();
    try {
      const samples = await scrape(t.ops);
      const reported = valueOf(samples, 'app_db_size_bytes', {});
      assert.ok(reported > 0);
      assert.equal(reported, t.services.store.sizeBytes());
    } finally {
      t.close();
    }
  });
});
