// Fault injection for demos and alert tests. Every fault expires, so nothing stays broken after a
// demo is forgotten; expiry is checked on read and announced by a timer for listeners that must
// react (the database reopens when db_outage ends). The provider faults can also target one
// caller of the provider listener (its OpenAI-Project header, http/provider-api.ts): such a
// fault hits that caller only, beside the untargeted one that hits every call.

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

/** The faults a caller can be named for: the simulated provider's own. */
export const TARGETABLE_FAULTS: readonly FaultName[] = ['llm_outage', 'llm_latency'];
/** A caller's name, as the OpenAI SDK sends it in OpenAI-Project: short and printable. */
export const CALLER_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
/** Targeted faults held at most, so that a chaos client cannot grow the table without bound. */
export const MAX_TARGETED_FAULTS = 32;

export interface ActiveFault {
  fault: FaultName;
  value: number | undefined;
  expiresAt: number;
  /** Set: the fault hits this caller of the provider listener only. */
  caller?: string;
}

const keyOf = (fault: FaultName, caller: string | undefined) =>
  caller === undefined ? fault : `${fault}\u0000${caller}`;

type Listener = (fault: FaultName, active: boolean) => void;

export class Chaos {
  private readonly faults = new Map<string, ActiveFault>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly listeners: Listener[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  onChange(listener: Listener): void {
    this.listeners.push(listener);
  }

  /** Whether one more fault for `caller` fits (an untargeted one or a known key always does). */
  hasRoomFor(fault: FaultName, caller: string | undefined): boolean {
    if (caller === undefined || this.faults.has(keyOf(fault, caller))) return true;
    const targeted = [...this.faults.values()].filter((f) => f.caller !== undefined).length;
    return targeted < MAX_TARGETED_FAULTS;
  }

  set(
    fault: FaultName,
    value: number | undefined,
    ttlSeconds: number,
    caller?: string,
  ): ActiveFault {
    const key = keyOf(fault, caller);
    const active: ActiveFault = { fault, value, expiresAt: this.now() + ttlSeconds * 1000 };
    if (caller !== undefined) active.caller = caller;
    this.faults.set(key, active);
    clearTimeout(this.timers.get(key));
    const timer = setTimeout(() => this.expire(key), ttlSeconds * 1000);
    timer.unref();
    this.timers.set(key, timer);
    this.emit(fault, true);
    return active;
  }

  /** Clears the fault, untargeted and for every caller. */
  clear(fault: FaultName): boolean {
    const keys = [...this.faults.entries()].filter(([, f]) => f.fault === fault).map(([k]) => k);
    for (const key of keys) this.remove(key);
    if (keys.length > 0) this.emit(fault, false);
    return keys.length > 0;
  }

  clearAll(): void {
    for (const fault of FAULT_NAMES) this.clear(fault);
  }

  /**
   * The active fault, or undefined when it is not set or has expired. With a caller, the fault
   * targeted at it wins over the untargeted one.
   */
  get(fault: FaultName, caller?: string): ActiveFault | undefined {
    const targeted = caller === undefined ? undefined : this.current(keyOf(fault, caller));
    return targeted ?? this.current(fault);
  }

  isActive(fault: FaultName, caller?: string): boolean {
    return this.get(fault, caller) !== undefined;
  }

  value(fault: FaultName, caller?: string): number | undefined {
    return this.get(fault, caller)?.value;
  }

  /** Every active fault, in FAULT_NAMES' order, the untargeted one before those of callers. */
  list(): ActiveFault[] {
    const keys = [...this.faults.keys()];
    for (const key of keys) this.current(key);
    const rank = (f: ActiveFault) => FAULT_NAMES.indexOf(f.fault);
    return [...this.faults.values()].sort(
      (a, b) => rank(a) - rank(b) || (a.caller ?? '').localeCompare(b.caller ?? ''),
    );
  }

  /** The fault under `key` unless it has expired (then it is removed, and announced). */
  private current(key: string): ActiveFault | undefined {
    const active = this.faults.get(key);
    if (active === undefined) return undefined;
    if (active.expiresAt > this.now()) return active;
    this.expire(key);
    return undefined;
  }

  private remove(key: string): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.faults.delete(key);
  }

  private expire(key: string): void {
    const active = this.faults.get(key);
    if (active === undefined) return;
    this.remove(key);
    // Ended only once no caller has it either.
    if (![...this.faults.values()].some((f) => f.fault === active.fault)) {
      this.emit(active.fault, false);
    }
  }

  private emit(fault: FaultName, active: boolean): void {
    for (const listener of this.listeners) listener(fault, active);
  }
}
