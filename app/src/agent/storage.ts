// Runs stored in SQLite through node:sqlite, one file under DATA_DIR. Every query is timed into
// db_query_duration_seconds, gets a span, and counts into db_errors_total when it fails. The
// db_outage fault closes the database for real, so queries fail with SQLite's own error.
import { mkdirSync } from 'node:fs';
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
  ping: 'SELECT 1',
} as const satisfies Record<DbOperation, string>;

const SPAN_NAMES: Record<DbOperation, string> = {
  insert_run: 'INSERT runs',
  get_run: 'SELECT runs',
  ping: 'SELECT',
};

type Statements = Record<DbOperation, StatementSync>;

export class RunStore {
  readonly path: string;
  private db: DatabaseSync | undefined;
  private statements: Statements | undefined;
  private readonly durations: Record<DbOperation, { observe(value: number): void }> = {
    insert_run: metrics.dbQueryDuration.labels('insert_run'),
    get_run: metrics.dbQueryDuration.labels('get_run'),
    ping: metrics.dbQueryDuration.labels('ping'),
  };

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, 'agent-service.sqlite');
  }

  open(): void {
    if (this.db?.isOpen) return;
    const db = new DatabaseSync(this.path);
    // WAL: readers do not wait for the writer; NORMAL sync is durable across process crashes.
    db.exec('PRAGMA journal_mode = WAL');
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
    this.statements = {
      insert_run: db.prepare(SQL.insert_run),
      get_run: db.prepare(SQL.get_run),
      ping: db.prepare(SQL.ping),
    };
    this.db = db;
  }

  close(): void {
    if (this.db?.isOpen) this.db.close();
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
