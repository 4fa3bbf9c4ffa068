// The alert scenarios, one row each: the fault, the load that goes with it, the alert it must
// raise and how long that may take. Alert names, labels and `for:` come from
// prometheus/rules/alerts.yml; the time limits are for the real, unscaled rules (compose, or
// `make native`); against a time-scaled stack (the whole-stack test, `make native
// --time-scale`) the scenario uses SCALED_TIMEOUT_S instead.
import type { ProfileName } from '../load/mix.ts';
import type { FaultName } from './chaos.ts';

export type Fault =
  /** PUT /admin/chaos/:fault with a value and an expiry; DELETE to clear it. */
  | { kind: 'chaos'; fault: FaultName; value?: number }
  /** An extra stream of requests on top of the steady load, stopped to clear. */
  | { kind: 'traffic'; profile: ProfileName; rate: number }
  /** Stop the app (compose: `docker compose stop app`; make native: its control API). */
  | { kind: 'stop-app' };

export interface Scenario {
  name: string;
  description: string;
  fault: Fault;
  /** The alert the scenario waits for, with the labels that single out the right rule. */
  expect: { alertname: string; labels?: Record<string, string> };
  /** Time limits against the unscaled rules, in seconds: fault → delivered, cleared → resolved. */
  fireTimeoutS: number;
  resolveTimeoutS: number;
  /** Why the limits are what they are, from the rule: shown with --help. */
  timing: string;
}

/** Hard limits against a time-scaled stack, where every alert fires within seconds. */
export const SCALED_TIMEOUT_S = 120;

/** Background traffic during every scenario (req/s): normal users, so ratios have a denominator. */
export const STEADY_RATE = 10;

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'errors',
    description:
      'half of the API requests fail with a 5xx: the fast RED alert pages (and holds back the burn-rate page)',
    fault: { kind: 'chaos', fault: 'error_ratio', value: 0.5 },
    expect: { alertname: 'APIErrorRatioHigh' },
    fireTimeoutS: 10 * 60,
    // Pages keep firing 10 minutes after their condition clears (keep_firing_for).
    resolveTimeoutS: 25 * 60,
    timing:
      'the 5 m error ratio must pass 25 % (~2.5 min at 50 % errors), then for: 1m; docs/alerting.md',
  },
  {
    name: 'latency',
    description: '3 s added to every request: p95 of the fast API routes passes its 2 s limit',
    fault: { kind: 'chaos', fault: 'latency', value: 3000 },
    expect: { alertname: 'HighLatencyP95' },
    fireTimeoutS: 20 * 60,
    resolveTimeoutS: 15 * 60,
    timing: '5 m window, then for: 10m',
  },
  {
    name: 'llm-outage',
    description: 'the LLM provider fails every call and the circuit breaker opens',
    fault: { kind: 'chaos', fault: 'llm_outage' },
    expect: { alertname: 'LLMProviderDown' },
    fireTimeoutS: 10 * 60,
    resolveTimeoutS: 22 * 60,
    timing: '5 m error ratio above 50 %, then for: 3m',
  },
  {
    name: 'cost-spike',
    description: 'every LLM call costs 50 times as much: spend over the last hour passes $10',
    fault: { kind: 'chaos', fault: 'cost_multiplier', value: 50 },
    expect: { alertname: 'LLMCostSpike' },
    fireTimeoutS: 15 * 60,
    // The rule averages spend over one hour: it resolves once the spike has left that hour.
    resolveTimeoutS: 75 * 60,
    timing:
      'spend averaged over 1 h passes the budget, then for: 5m; resolves when the spike leaves the hour',
  },
  {
    name: 'slow-llm',
    description:
      '4 s added to every LLM call: the provider p95 of sim-medium and sim-large passes its 5 s limit',
    fault: { kind: 'chaos', fault: 'llm_latency', value: 4000 },
    expect: { alertname: 'LLMLatencyHigh' },
    fireTimeoutS: 20 * 60,
    resolveTimeoutS: 15 * 60,
    timing: 'p95 by model over 5 m above 5 s, then for: 10m',
  },
  {
    name: 'runaway',
    description: 'half of the runs loop to 12 LLM calls: calls per run pass 8 at p99',
    fault: { kind: 'chaos', fault: 'runaway', value: 0.5 },
    expect: { alertname: 'AgentRunawayRuns' },
    fireTimeoutS: 15 * 60,
    resolveTimeoutS: 15 * 60,
    timing: 'p99 LLM calls per run by agent over 5 m above 8, then for: 5m',
  },
  {
    name: 'db-outage',
    description: 'the database stops answering: its health check fails',
    fault: { kind: 'chaos', fault: 'db_outage' },
    expect: { alertname: 'DatabaseDown' },
    fireTimeoutS: 6 * 60,
    resolveTimeoutS: 18 * 60,
    timing: 'health check every 5 s, scrape every 15 s, then for: 1m',
  },
  {
    name: 'auth-attack',
    description: 'a client guesses API keys at 10 req/s: 401s per reason pass 1/s',
    fault: { kind: 'traffic', profile: 'auth-attack', rate: 10 },
    expect: { alertname: 'AuthFailureSpike' },
    fireTimeoutS: 10 * 60,
    resolveTimeoutS: 12 * 60,
    timing: '5 m rate above 1/s, then for: 5m',
  },
  {
    name: 'rate-limit',
    description: 'one free-tier client sends 20 req/s (its limit is 5): 429s pass 1/s',
    fault: { kind: 'traffic', profile: 'free-burst', rate: 20 },
    expect: { alertname: 'RateLimitRejectionsSpike', labels: { tier: 'free' } },
    fireTimeoutS: 15 * 60,
    resolveTimeoutS: 12 * 60,
    timing: '5 m rate above 1/s, then for: 10m',
  },
  {
    name: 'service-down',
    description: 'the app stops (compose: docker compose stop app; make native: its control API)',
    fault: { kind: 'stop-app' },
    expect: { alertname: 'ServiceDown', labels: { job: 'app' } },
    fireTimeoutS: 6 * 60,
    resolveTimeoutS: 18 * 60,
    timing: 'scrape every 15 s; half of the last 2 minutes of scrapes failed (four of eight)',
  },
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** "error_ratio=0.5" / "auth-attack traffic at 10 req/s" / "app stopped", for the timeline. */
export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'chaos':
      return fault.value === undefined ? fault.fault : `${fault.fault}=${fault.value}`;
    case 'traffic':
      return `${fault.profile} traffic at ${fault.rate} req/s`;
    case 'stop-app':
      return 'app stopped';
  }
}
