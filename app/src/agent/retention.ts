// Keeps the database bounded: runs older than RETENTION_MAX_AGE_HOURS are deleted, then the
// oldest runs until the rows fit in RETENTION_MAX_BYTES; the freed pages go back to the file
// system and the WAL is truncated, so the bytes on disk follow. Every step is a small batch on
// the event loop (DatabaseSync is synchronous) with a turn of the loop in between: a batch of
// DELETE_BATCH_ROWS rows of 64 KiB held it 1–25 ms, a vacuum step of 128 pages 0.1–90 ms, the
// final WAL checkpoint up to 150 ms, measured on a 2-core machine busy with other builds
// (app/README.md, "Limits").
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Config } from '../config';
import { logger } from '../telemetry/logger';
import { ANY_AGE, type RunStore } from './storage';

export const DELETE_BATCH_ROWS = 200;

export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly store: RunStore,
    private readonly limits: Config['retention'],
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.limits.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass (never two at once); resolves with the number of runs deleted. */
  sweep(): Promise<number> {
    this.running ??= this.pass()
      .catch((error: unknown) => {
        // A closed database (db_outage) or a failed query: counted by the store; try next time.
        logger.warn('retention pass failed', { error: (error as Error).message });
        return 0;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<number> {
    if (!this.store.isOpen) return 0;
    const cutoff = new Date(this.now() - this.limits.maxAgeHours * 3_600_000).toISOString();
    let deleted = await this.deleteOlderThan(cutoff);
    deleted += await this.deleteUntilFits();
    // Until no free page is left, or a step frees none (a reader holds them).
    for (let left = Infinity, now = this.store.vacuumStep(); now > 0 && now < left;) {
      left = now;
      await nextTurn();
      now = this.store.vacuumStep();
    }
    this.store.checkpoint();
    if (deleted > 0) {
      logger.info('retention: old runs deleted', {
        deleted,
        db_size_bytes: this.store.sizeBytes(),
      });
    }
    return deleted;
  }

  private async deleteOlderThan(cutoff: string): Promise<number> {
    let deleted = 0;
    for (;;) {
      const batch = this.store.deleteRuns(cutoff, DELETE_BATCH_ROWS);
      deleted += batch;
      if (batch < DELETE_BATCH_ROWS) return deleted;
      await nextTurn();
    }
  }

  /** Oldest first, about as many as the excess over maxBytes holds at the average row size. */
  private async deleteUntilFits(): Promise<number> {
    let deleted = 0;
    for (;;) {
      const live = this.store.liveBytes();
      const runs = this.store.countRuns();
      if (live <= this.limits.maxBytes || runs === 0) return deleted;
      const excess = Math.ceil(((live - this.limits.maxBytes) / live) * runs);
      deleted += this.store.deleteRuns(ANY_AGE, Math.min(DELETE_BATCH_ROWS, Math.max(1, excess)));
      await nextTurn();
    }
  }
}
