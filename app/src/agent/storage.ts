// Runs stored in SQLite through node:sqlite, one file under DATA_DIR. Every query is timed into
// db_query_duration_seconds, gets a span, and counts into db_errors_total when it fails. The
// db_outage fault closes the database for real, so queries fail with SQLite's own error.
// Deleted rows give their pages back to the file system: incremental auto_vacuum (reclaim), and
// the write-ahead log is checkpointed and truncated, at most WAL_SIZE_LIMIT_BYTES between. The
// service checkpoints on a worker thread (checkpointOnWorker), off the event loop.
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { SpanKind, type Span } from '@opentelemetry/api';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
} from '@opentelemetry/semantic-conventions';
import { metrics, type DbOperation } from '../telemetry/metrics';
import { recordSpanError, tracer } from '../telemetry/spans';
import type { RunRecord } from './run';
import { CHECKPOINT_INTERVAL_MS, WalCheckpointer } from './wal-checkpointer';

export class DatabaseError extends Error {
  override name = 'DatabaseError';
  constructor(
    readonly operation: DbOperation,
    options: { cause: unknown },
  ) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`database ${operation} failed: ${reason}`, options);
  }
}

const SQL = {
  insert_run:
    'INSERT INTO runs (id, owner, agent, status, created_at, record) VALUES (?, ?, ?, ?, ?, ?)',
  get_run: 'SELECT record FROM runs WHERE id = ? AND owner = ?',
  // Oldest first, a bounded batch: DatabaseSync holds the event loop while it runs.
  delete_runs:
    'DELETE FROM runs WHERE rowid IN (SELECT rowid FROM runs WHERE created_at < ? ORDER BY created_at LIMIT ?)',
  ping: 'SELECT 1',
} as const satisfies Record<DbOperation, string>;

const SPAN_NAMES: Record<DbOperation, string> = {
  insert_run: 'INSERT runs',
  get_run: 'SELECT runs',
  delete_runs: 'DELETE runs',
  ping: 'SELECT',
};

type Statements = Record<DbOperation, StatementSync>;

// The WAL is truncated to this after a checkpoint (SQLite's journal_size_limit); between
// checkpoints it grows by about 1,000 pages (4 MiB, wal_autocheckpoint) before SQLite folds it in,
// or, with a checkpointing worker, by what a second brings, and to this size at most before a
// commit does it after all (the worker fell behind or stopped).
const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024;
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;
// Free pages returned per incremental_vacuum step (512 KiB at 4 KiB pages; 10–30 ms measured),
// with a turn of the event loop between steps.
export const VACUUM_PAGES_PER_STEP = 128;
// Later than any ISO timestamp: "delete the oldest, whatever their age".
export const ANY_AGE = '9999';

export class RunStore {
  readonly path: string;
  private db: DatabaseSync | undefined;
  private statements: Statements | undefined;
  /** Set by checkpointOnWorker: the worker's interval between checkpoints. */
  private workerIntervalMs: number | undefined;
  private checkpointer: WalCheckpointer | undefined;
  private readonly durations: Record<DbOperation, { observe(value: number): void }> = {
    insert_run: metrics.dbQueryDuration.labels('insert_run'),
    get_run: metrics.dbQueryDuration.labels('get_run'),
    delete_runs: metrics.dbQueryDuration.labels('delete_runs'),
    ping: metrics.dbQueryDuration.labels('ping'),
  };

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, 'agent-service.sqlite');
  }

  open(): void {
    if (this.db?.isOpen) return;
    const db = new DatabaseSync(this.path);
    // Before any table exists, this makes a new file incremental; an older file is converted
    // once by VACUUM (it rewrites the file: seconds for a large one, only the first time).
    db.exec('PRAGMA auto_vacuum = INCREMENTAL');
    const { auto_vacuum: autoVacuum } = db.prepare('PRAGMA auto_vacuum').get() as {
      auto_vacuum: number;
    };
    const hasTables = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table'").get();
    if (autoVacuum !== 2 && hasTables) db.exec('VACUUM');
    // WAL: readers do not wait for the writer; NORMAL sync is durable across process crashes.
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec('PRAGMA busy_timeout = 2000');
    db.exec(`CREATE TABLE IF NOT EXISTS runs (
      id TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      agent TEXT NOT NULL,
      status TEXT NOT NULL,
      created_at TEXT NOT NULL,
      record TEXT NOT NULL
    ) STRICT`);
    db.exec('CREATE INDEX IF NOT EXISTS runs_created_at ON runs (created_at)');
    this.statements = {
      insert_run: db.prepare(SQL.insert_run),
      get_run: db.prepare(SQL.get_run),
      delete_runs: db.prepare(SQL.delete_runs),
      ping: db.prepare(SQL.ping),
    };
    this.db = db;
    if (this.workerIntervalMs !== undefined) this.startCheckpointer();
    this.setAutocheckpoint();
  }

  close(): void {
    void this.checkpointer?.stop();
    this.checkpointer = undefined;
    if (this.db?.isOpen) this.db.close();
  }

  /**
   * While the store is open, a worker thread checkpoints the WAL (wal-checkpointer.ts) and a
   * commit on the event loop does only once the WAL outgrows WAL_SIZE_LIMIT_BYTES. For the
   * service's process: a test that opens stores by the hundred keeps SQLite's own checkpoints.
   */
  checkpointOnWorker(intervalMs = CHECKPOINT_INTERVAL_MS): void {
    this.workerIntervalMs = intervalMs;
    if (this.isOpen) {
      this.startCheckpointer();
      this.setAutocheckpoint();
    }
  }

  private startCheckpointer(): void {
    if (this.checkpointer) return;
    const onExit = () => {
      if (this.checkpointer !== checkpointer) return;
      // It stopped on its own: the commits checkpoint again.
      this.checkpointer = undefined;
      this.setAutocheckpoint();
    };
    const checkpointer = new WalCheckpointer(this.path, onExit, this.workerIntervalMs);
    this.checkpointer = checkpointer;
  }

  private setAutocheckpoint(): void {
    const db = this.db;
    if (!db?.isOpen) return;
    const { page_size: pageSize } = db.prepare('PRAGMA page_size').get() as { page_size: number };
    const pages = this.checkpointer ? WAL_SIZE_LIMIT_BYTES / pageSize : SQLITE_AUTOCHECKPOINT_PAGES;
    db.exec(`PRAGMA wal_autocheckpoint = ${pages}`);
  }

  get isOpen(): boolean {
    return this.db?.isOpen ?? false;
  }

  insertRun(run: RunRecord, owner: string): void {
    this.query('insert_run', 'INSERT', (statement) => {
      statement.run(run.id, owner, run.agent, run.status, run.created_at, JSON.stringify(run));
    });
  }

  /** The run, if it exists and belongs to `owner` (another key's run reads as missing). */
  getRun(id: string, owner: string): RunRecord | undefined {
    return this.query('get_run', 'SELECT', (statement) => {
      const row = statement.get(id, owner) as { record: string } | undefined;
      return row === undefined ? undefined : (JSON.parse(row.record) as RunRecord);
    });
  }

  /** Deletes up to `limit` of the oldest runs created before `before`; returns how many. */
  deleteRuns(before: string, limit: number): number {
    return this.query('delete_runs', 'DELETE', (statement) =>
      Number(statement.run(before, limit).changes),
    );
  }

  /** How many runs are stored (a scan of the created_at index: milliseconds per 100,000). */
  countRuns(): number {
    const row = this.openDb().prepare('SELECT count(*) AS runs FROM runs').get() as {
      runs: number;
    };
    return row.runs;
  }

  /** Bytes the rows take (pages in use), which deleting lowers at once, unlike the file size. */
  liveBytes(): number {
    const db = this.openDb();
    const pragma = (name: string) =>
      Object.values(db.prepare(`PRAGMA ${name}`).get() as Record<string, number>)[0]!;
    return (pragma('page_count') - pragma('freelist_count')) * pragma('page_size');
  }

  /** Returns up to VACUUM_PAGES_PER_STEP free pages to the file system; the count left. */
  vacuumStep(): number {
    const db = this.openDb();
    db.exec(`PRAGMA incremental_vacuum(${VACUUM_PAGES_PER_STEP})`);
    const { freelist_count: free } = db.prepare('PRAGMA freelist_count').get() as {
      freelist_count: number;
    };
    return free;
  }

  /** Folds the WAL into the main file and truncates it (when no reader holds it). */
  checkpoint(): void {
    const db = this.openDb();
    if (this.checkpointer) this.checkpointer.request('TRUNCATE');
    else db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  }

  /** The main file plus the WAL, as on disk. */
  sizeBytes(): number {
    const size = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    return size(this.path) + size(`${this.path}-wal`);
  }

  private openDb(): DatabaseSync {
    if (this.db === undefined || !this.db.isOpen) throw new Error('database is not open');
    return this.db;
  }

  ping(): void {
    this.query('ping', 'SELECT', (statement) => {
      statement.get();
    });
  }

  private query<T>(
    operation: DbOperation,
    sqlOperation: string,
    work: (statement: StatementSync) => T,
  ): T {
    const span: Span = tracer.startSpan(SPAN_NAMES[operation], {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR_DB_SYSTEM_NAME]: 'sqlite',
        [ATTR_DB_OPERATION_NAME]: sqlOperation,
        [ATTR_DB_QUERY_TEXT]: SQL[operation],
        ...(operation === 'ping' ? {} : { [ATTR_DB_COLLECTION_NAME]: 'runs' }),
      },
    });
    const started = performance.now();
    try {
      if (this.statements === undefined) throw new Error('database is not open');
      return work(this.statements[operation]);
    } catch (error) {
      metrics.dbErrors.labels(operation).inc();
      recordSpanError(span, error);
      throw new DatabaseError(operation, { cause: error });
    } finally {
      this.durations[operation].observe((performance.now() - started) / 1000);
      span.end();
    }
  }
}
