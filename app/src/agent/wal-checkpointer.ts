// Folds SQLite's write-ahead log into the database file on a worker thread with a connection of
// its own. A checkpoint copies the WAL's pages into the file and waits for the disk (fsync); run
// by SQLite inside the commit that crosses wal_autocheckpoint, it held the event loop, and every
// request with it, 10 ms on a quiet disk and up to 250 ms on one busy with other work, once per
// 60 stored runs of 64 KiB (17 pages each). On its own thread it holds nothing: in WAL mode a
// PASSIVE checkpoint and the service's writes go on side by side. This module is also the
// worker's script: it loads nothing but node:sqlite there.
import { DatabaseSync } from 'node:sqlite';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export const CHECKPOINT_INTERVAL_MS = 1000;
// Passes in a row while the service committed during the last one: a WAL starts over from its
// beginning only once every frame in it has been copied, which a pass that a commit overlaps
// leaves undone; the next pass copies only those few frames.
const PASSES = 4;

/** PASSIVE copies what it can without waiting; TRUNCATE also empties the WAL file. */
export type CheckpointMode = 'PASSIVE' | 'TRUNCATE';

interface WorkerData {
  walCheckpointer: { path: string; intervalMs: number };
}

/** The worker thread that checkpoints the database at `path`; it ends with the process. */
export class WalCheckpointer {
  private readonly worker: Worker;

  /** `onExit` is called once the worker has stopped: stop(), or it could not open the database. */
  constructor(path: string, onExit: () => void, intervalMs = CHECKPOINT_INTERVAL_MS) {
    const data: WorkerData = { walCheckpointer: { path, intervalMs } };
    // Without the process's --require of the telemetry: the worker needs none of it.
    this.worker = new Worker(__filename, { workerData: data, execArgv: [] });
    this.worker.unref();
    this.worker.once('exit', onExit);
    // An error ends the worker ('exit' follows); the service's own autocheckpoint takes over.
    this.worker.on('error', () => {});
  }

  /** A checkpoint now, besides the periodic ones. */
  request(mode: CheckpointMode): void {
    this.worker.postMessage(mode);
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

function checkpointer({ path, intervalMs }: WorkerData['walCheckpointer']): void {
  const db = new DatabaseSync(path);
  // A TRUNCATE waits for the service's writer to finish its commit.
  db.exec('PRAGMA busy_timeout = 2000');
  const statements = {
    PASSIVE: db.prepare('PRAGMA wal_checkpoint(PASSIVE)'),
    TRUNCATE: db.prepare('PRAGMA wal_checkpoint(TRUNCATE)'),
  };
  const checkpoint = (mode: CheckpointMode) => {
    try {
      for (let pass = 0; pass < PASSES; pass++) {
        const { log, checkpointed } = statements[mode].get() as Record<string, number>;
        if (checkpointed === log) return;
      }
    } catch {
      // Busy (a TRUNCATE while the service commits): the next interval tries again.
    }
  };
  setInterval(() => checkpoint('PASSIVE'), intervalMs);
  parentPort!.on('message', (mode: CheckpointMode) => checkpoint(mode));
}

if (!isMainThread && (workerData as Partial<WorkerData> | null)?.walCheckpointer) {
  checkpointer((workerData as WorkerData).walCheckpointer);
}
