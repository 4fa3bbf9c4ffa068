// Health checks behind /health, /health/ready and the health_check_status gauges. A timer runs
// them every HEALTH_CHECK_INTERVAL_MS so the gauges stay current without anyone calling /health.
import { statfs } from 'node:fs/promises';
import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { CircuitBreaker } from './agent/circuit-breaker';
import type { RunStore } from './agent/storage';
import type { Config } from './config';
import { logger } from './telemetry/logger';
import { metrics, type HealthCheckName } from './telemetry/metrics';

export interface CheckResult {
  status: 'ok' | 'fail';
  [detail: string]: unknown;
}

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface HealthReport {
  status: HealthStatus;
  checks: Record<HealthCheckName, CheckResult>;
}

/** Process-wide state read by readiness: set once SIGTERM arrives. */
export class Lifecycle {
  shuttingDown = false;
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  // Made by start() and kept until stop(): a monitor that is never started would only wait
  // for the garbage collector, its handle still open.
  private loopDelay: ELDHistogram | undefined;
  private lastLoopLagMs = 0;
  private readonly gauges: Record<HealthCheckName, { set(value: number): void }> = {
    database: metrics.healthCheckStatus.labels('database'),
    llm_provider: metrics.healthCheckStatus.labels('llm_provider'),
    disk: metrics.healthCheckStatus.labels('disk'),
    memory: metrics.healthCheckStatus.labels('memory'),
    event_loop: metrics.healthCheckStatus.labels('event_loop'),
  };

  constructor(
    private readonly deps: {
      store: RunStore;
      breaker: CircuitBreaker;
      lifecycle: Lifecycle;
      dataDir: string;
      thresholds: Config['health'];
    },
  ) {}

  start(): void {
    this.loopDelay ??= monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
    const tick = () => {
      this.sampleEventLoop();
      this.check().catch((error: unknown) =>
        logger.error('health check failed to run', { error: errorMessage(error) }),
      );
    };
    tick();
    this.timer = setInterval(tick, this.deps.thresholds.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.loopDelay?.disable();
  }

  /** Readiness: the database answers and the service is not shutting down. */
  readiness(): { ready: boolean; checks: Record<string, CheckResult> } {
    const database = this.database();
    const shutdown: CheckResult = this.deps.lifecycle.shuttingDown
      ? { status: 'fail', detail: 'shutting down' }
      : { status: 'ok' };
    return {
      ready: database.status === 'ok' && shutdown.status === 'ok',
      checks: { database, shutdown },
    };
  }

  async check(): Promise<HealthReport> {
    const checks: Record<HealthCheckName, CheckResult> = {
      database: this.database(),
      llm_provider: this.llmProvider(),
      disk: await this.disk(),
      memory: this.memory(),
      event_loop: this.eventLoop(),
    };
    for (const [name, result] of Object.entries(checks) as [HealthCheckName, CheckResult][]) {
      this.gauges[name].set(result.status === 'ok' ? 1 : 0);
    }
    // Without the database nothing can be served; anything else still lets runs succeed.
    const status: HealthStatus =
      checks.database.status === 'fail'
        ? 'unhealthy'
        : Object.values(checks).some((check) => check.status === 'fail')
          ? 'degraded'
          : 'healthy';
    return { status, checks };
  }

  private database(): CheckResult {
    const started = performance.now();
    let result: CheckResult;
    try {
      this.deps.store.ping();
      result = { status: 'ok' };
    } catch (error) {
      result = { status: 'fail', detail: errorMessage(error) };
    }
    result.duration_ms = Math.round((performance.now() - started) * 100) / 100;
    this.gauges.database.set(result.status === 'ok' ? 1 : 0);
    return result;
  }

  private llmProvider(): CheckResult {
    const circuit = this.deps.breaker.state;
    return { status: circuit === 'closed' ? 'ok' : 'fail', circuit };
  }

  private async disk(): Promise<CheckResult> {
    try {
      const stats = await statfs(this.deps.dataDir);
      const free = stats.bavail * stats.bsize;
      const size = stats.blocks * stats.bsize;
      metrics.diskFree.set(free);
      metrics.diskSize.set(size);
      const freeRatio = size > 0 ? free / size : 0;
      return {
        status: freeRatio >= this.deps.thresholds.diskMinFreeRatio ? 'ok' : 'fail',
        free_bytes: free,
        size_bytes: size,
        free_ratio: Math.round(freeRatio * 1000) / 1000,
      };
    } catch (error) {
      return { status: 'fail', detail: errorMessage(error) };
    }
  }

  private memory(): CheckResult {
    const heap = getHeapStatistics();
    const ratio = heap.used_heap_size / heap.heap_size_limit;
    return {
      status: ratio <= this.deps.thresholds.heapMaxRatio ? 'ok' : 'fail',
      heap_used_bytes: heap.used_heap_size,
      heap_limit_bytes: heap.heap_size_limit,
      ratio: Math.round(ratio * 1000) / 1000,
    };
  }

  private sampleEventLoop(): void {
    // p99 of the event-loop delay since the last sample: one slow tick in an interval shows.
    if (this.loopDelay === undefined) return;
    if (this.loopDelay.count > 0) this.lastLoopLagMs = this.loopDelay.percentile(99) / 1e6;
    this.loopDelay.reset();
  }

  private eventLoop(): CheckResult {
    return {
      status: this.lastLoopLagMs <= this.deps.thresholds.eventLoopMaxLagMs ? 'ok' : 'fail',
      lag_p99_ms: Math.round(this.lastLoopLagMs * 10) / 10,
    };
  }
}
