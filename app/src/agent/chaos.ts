// Fault injection for demos and alert tests. Every fault expires, so nothing stays broken after a
// demo is forgotten; expiry is checked on read and announced by a timer for listeners that must
// react (the database reopens when db_outage ends).

/** LLM steps a runaway run takes (a healthy plan has 2-4): past the calls-per-run limit, 8. */
export const RUNAWAY_LLM_STEPS = 12;

export const FAULT_NAMES = [
  'error_ratio',
  'latency',
  'llm_outage',
  'cost_multiplier',
  'db_outage',
  'llm_latency',
  'runaway',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

export function isFaultName(value: string): value is FaultName {
  return (FAULT_NAMES as readonly string[]).includes(value);
}

/** What `value` means per fault, with its bounds; undefined: the fault takes no value. */
export const FAULT_VALUES: Record<
  FaultName,
  { min: number; max: number; unit: string } | undefined
> = {
  error_ratio: { min: 0, max: 1, unit: 'share of API requests answered with 500' },
  latency: { min: 0, max: 60_000, unit: 'milliseconds added to each API request' },
  llm_outage: undefined,
  cost_multiplier: { min: 1, max: 1000, unit: 'factor applied to LLM cost' },
  db_outage: undefined,
  llm_latency: { min: 0, max: 60_000, unit: 'milliseconds added to each LLM call' },
  runaway: {
    min: 0,
    max: 1,
    unit: `share of agent runs that loop to ${RUNAWAY_LLM_STEPS} LLM steps`,
  },
};

export const MAX_TTL_SECONDS = 24 * 60 * 60;

export interface ActiveFault {
  fault: FaultName;
  value: number | undefined;
  expiresAt: number;
}

type Listener = (fault: FaultName, active: boolean) => void;

export class Chaos {
  private readonly faults = new Map<FaultName, ActiveFault>();
  private readonly timers = new Map<FaultName, NodeJS.Timeout>();
  private readonly listeners: Listener[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  onChange(listener: Listener): void {
    this.listeners.push(listener);
  }

  set(fault: FaultName, value: number | undefined, ttlSeconds: number): ActiveFault {
    const active: ActiveFault = { fault, value, expiresAt: this.now() + ttlSeconds * 1000 };
    this.faults.set(fault, active);
    clearTimeout(this.timers.get(fault));
    const timer = setTimeout(() => this.expire(fault), ttlSeconds * 1000);
    timer.unref();
    this.timers.set(fault, timer);
    this.emit(fault, true);
    return active;
  }

  clear(fault: FaultName): boolean {
    clearTimeout(this.timers.get(fault));
    this.timers.delete(fault);
    const existed = this.faults.delete(fault);
    if (existed) this.emit(fault, false);
    return existed;
  }

  clearAll(): void {
    for (const fault of [...this.faults.keys()]) this.clear(fault);
  }

  /** The active fault, or undefined when it is not set or has expired. */
  get(fault: FaultName): ActiveFault | undefined {
    const active = this.faults.get(fault);
    if (active === undefined) return undefined;
    if (active.expiresAt <= this.now()) {
      this.clear(fault);
      return undefined;
    }
    return active;
  }

  isActive(fault: FaultName): boolean {
    return this.get(fault) !== undefined;
  }

  value(fault: FaultName): number | undefined {
    return this.get(fault)?.value;
  }

  list(): ActiveFault[] {
    return FAULT_NAMES.map((fault) => this.get(fault)).filter((fault) => fault !== undefined);
  }

  private expire(fault: FaultName): void {
    if (this.faults.has(fault)) this.clear(fault);
  }

  private emit(fault: FaultName, active: boolean): void {
    for (const listener of this.listeners) listener(fault, active);
  }
}
