// A budget for log lines a client can cause at will (failed key attempts, malformed requests):
// at most `lines` per `intervalMs`; the first line after a quiet spell says how many were left
// out, so the volume an attacker causes is bounded and nothing is hidden.
export class LogBudget {
  private windowStart = -Infinity;
  private used = 0;
  private suppressed = 0;

  constructor(
    private readonly lines: number,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Undefined: do not log. Otherwise log, with the number of lines left out before this one. */
  take(): { suppressed: number } | undefined {
    const now = this.now();
    if (now - this.windowStart >= this.intervalMs) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used >= this.lines) {
      this.suppressed++;
      return undefined;
    }
    this.used++;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    return { suppressed };
  }
}
