// Counts every failed export of an OTLP exporter (spans or log records); the exporter itself
// only reports it to a callback nobody reads.
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { logger } from './logger';

const FAILURE_LOG_INTERVAL_MS = 30_000;

interface Exporter<T> {
  export(items: T[], resultCallback: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

export class CountingExporter<T> implements Exporter<T> {
  private lastFailureLog = 0;

  /** `what`: the item in the warning, e.g. "span" or "log record". */
  constructor(
    private readonly inner: Exporter<T>,
    private readonly what: string,
    private readonly onFailure: (error: Error | undefined, items: number) => void,
  ) {}

  export(items: T[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(items, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        this.onFailure(result.error, items.length);
        const now = Date.now();
        // A dead endpoint fails every batch: one warning per interval is enough to notice.
        // (For log records the warning is itself a record: at most one per interval.)
        if (now - this.lastFailureLog >= FAILURE_LOG_INTERVAL_MS) {
          this.lastFailureLog = now;
          // Outside any request: the callback runs in the context of whatever request ended the
          // batch, whose ids have nothing to do with the failure.
          context.with(ROOT_CONTEXT, () =>
            logger.warn(`${this.what} export failed`, {
              [`${this.what.replace(' ', '_')}s`]: items.length,
              error: result.error?.message ?? 'unknown error',
            }),
          );
        }
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
