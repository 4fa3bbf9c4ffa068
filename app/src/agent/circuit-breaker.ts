// Circuit breaker around the LLM provider. Closed: calls pass, consecutive failures are counted.
// Open (after `failureThreshold` failures in a row): calls are refused at once until
// `resetTimeoutMs` has passed. Half-open: one trial call at a time; success closes, failure
// reopens.

export type CircuitState = 'closed' | 'half_open' | 'open';

/** circuit_breaker_state gauge values: 0 closed, 1 half-open, 2 open. */
export const CIRCUIT_STATE_VALUE: Record<CircuitState, number> = {
  closed: 0,
  half_open: 1,
  open: 2,
};

export class CircuitOpenError extends Error {
  override name = 'CircuitOpenError';
  constructor(
    readonly dependency: string,
    readonly retryAfterMs: number,
  ) {
    super(`circuit breaker for ${dependency} is open`);
  }
}

export interface CircuitBreakerOptions {
  dependency: string;
  failureThreshold: number;
  resetTimeoutMs: number;
  onStateChange?: (state: CircuitState, previous: CircuitState) => void;
  now?: () => number;
}

export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The state now; an open circuit whose timeout has passed reads as half-open. */
  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.resetTimeoutMs) {
      this.transition('half_open');
    }
    return this.current;
  }

  /**
   * Runs `call` through the breaker. A call given up by its caller (`cancel` aborted: a
   * shutdown, a client gone) says nothing about the dependency and is counted neither way.
   */
  async execute<T>(call: () => Promise<T>, cancel?: AbortSignal): Promise<T> {
    const state = this.state;
    if (state === 'open' || (state === 'half_open' && this.trialInFlight)) {
      const remaining = this.options.resetTimeoutMs - (this.now() - this.openedAt);
      throw new CircuitOpenError(this.options.dependency, Math.max(remaining, 0));
    }
    const isTrial = state === 'half_open';
    if (isTrial) this.trialInFlight = true;
    try {
      const result = await call();
      this.recordSuccess();
      return result;
    } catch (error) {
      if (!cancel?.aborted) this.recordFailure(isTrial);
      throw error;
    } finally {
      if (isTrial) this.trialInFlight = false;
    }
  }

  private recordSuccess(): void {
    this.consecutiveFailures = 0;
    if (this.current !== 'closed') this.transition('closed');
  }

  private recordFailure(isTrial: boolean): void {
    this.consecutiveFailures++;
    if (isTrial || this.consecutiveFailures >= this.options.failureThreshold) {
      this.openedAt = this.now();
      if (this.current !== 'open') this.transition('open');
    }
  }

  private transition(next: CircuitState): void {
    const previous = this.current;
    this.current = next;
    this.options.onStateChange?.(next, previous);
  }
}
