// Runs one alert scenario end to end: steady load, the fault, then watch the alert go
// pending → firing in Prometheus → active in Alertmanager → delivered to the receiver; clear
// the fault and watch it resolve the same way. Prints a timeline as it goes and returns it,
// with the time to alert (fault applied → notification received) and to resolve.
import type { ReceivedAlert } from '../alert-receiver.ts';
import { fetchCatalog, type Catalog } from '../load/catalog.ts';
import { LoadGenerator, type StreamHandle } from '../load/generator.ts';
import { PROFILES, requireApiKeys, type ApiKeys } from '../load/mix.ts';
import { statusText } from '../load/stats.ts';
import type { Endpoints } from '../endpoints.ts';
import type { AppControl } from './app-control.ts';
import {
  AlertmanagerClient,
  labelsMatch,
  PrometheusClient,
  ReceiverClient,
  type PromAlert,
} from '../clients.ts';
import { ChaosClient } from './chaos.ts';
import { describeFault, type Scenario } from './table.ts';

export interface TimelineEntry {
  atS: number;
  event: string;
}

export interface ScenarioReport {
  scenario: string;
  ok: boolean;
  reason?: string;
  timeline: TimelineEntry[];
  /** Fault applied → firing notification received by the receiver, in seconds. */
  timeToAlertS?: number;
  /** Fault cleared → resolved notification received, in seconds. */
  timeToResolveS?: number;
  firing?: ReceivedAlert;
  resolved?: ReceivedAlert;
  /** Other alerts firing in Prometheus when the expected one was delivered (not Watchdog). */
  alsoFiring: string[];
  load: {
    sent: number;
    completed: number;
    errorRatio: number;
    statusCounts: Record<string, number>;
  };
}

export interface RunOptions {
  endpoints: Endpoints;
  fireTimeoutS: number;
  resolveTimeoutS: number;
  /** Expiry of the chaos fault: nothing stays broken if this script dies. */
  ttlS: number;
  steadyRate: number;
  /** Steady load before the fault, so the ratios have clean history. */
  warmupS: number;
  /** Needed by stop-app faults only. */
  appControl?: AppControl;
  /** Where timeline lines and progress go (a StatusLine in the CLI). */
  log: (line: string) => void;
  setStatus: (text: string) => void;
  signal?: AbortSignal;
  pollMs?: number;
}

type Stage = 'inactive' | 'pending' | 'firing';

class Aborted extends Error {}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new Aborted('interrupted'));
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new Aborted('interrupted'));
      },
      { once: true },
    );
  });

/** Wait for quiet, apply the fault, await delivery, clear it, await resolution; never leave it. */
export async function runScenario(s: Scenario, o: RunOptions): Promise<ScenarioReport> {
  checkPreconditions(s, o);
  // The agents and models the load sends runs to: the service's own catalog, not a copy.
  const keys = requireApiKeys(o.endpoints.apiKeys);
  const catalog = await fetchCatalog(o.endpoints.app, keys.pro);
  const run = new ScenarioRun(s, o, keys, catalog);
  try {
    await run.waitForQuiet();
    await run.warmUp();
    await run.applyFault();
    await run.awaitDelivery();
    await run.clearFault();
    await run.awaitResolution();
    run.report.ok = true;
  } catch (err) {
    run.report.reason = err instanceof Aborted ? 'interrupted' : (err as Error).message;
  } finally {
    await run.finish();
  }
  return run.report;
}

function checkPreconditions(s: Scenario, o: RunOptions): void {
  if (s.fault.kind === 'chaos' && !o.endpoints.adminToken) {
    throw new Error(
      'no admin token: set ADMIN_TOKEN (or --admin-token); `make up` writes it to .env, `make native` to .native/env',
    );
  }
  if (s.fault.kind === 'stop-app' && !o.appControl) {
    throw new Error(
      'service-down needs docker compose (make up) or a running make native to stop the app',
    );
  }
}

/** One run of a scenario: its clients, its load, its timeline and what it has seen so far. */
class ScenarioRun {
  readonly report: ScenarioReport;
  private readonly s: Scenario;
  private readonly o: RunOptions;
  private readonly name: string;
  private readonly want: Record<string, string>;
  private readonly pollMs: number;
  private readonly prom: PrometheusClient;
  private readonly am: AlertmanagerClient;
  private readonly receiver: ReceiverClient;
  private readonly chaos?: ChaosClient;
  private readonly gen: LoadGenerator;
  private attack?: StreamHandle;
  private faultActive = false;
  /** When the fault was applied, and when it was cleared (ms since the epoch). */
  private t0 = 0;
  private clearedAt = 0;

  constructor(s: Scenario, o: RunOptions, keys: ApiKeys, catalog: Catalog) {
    const ep = o.endpoints;
    this.s = s;
    this.o = o;
    this.name = s.expect.alertname;
    this.want = { alertname: s.expect.alertname, ...s.expect.labels };
    this.pollMs = o.pollMs ?? 500;
    this.prom = new PrometheusClient(ep.prometheus);
    this.am = new AlertmanagerClient(ep.alertmanager);
    this.receiver = new ReceiverClient(ep.receiver);
    this.chaos = ep.adminToken ? new ChaosClient(ep.management, ep.adminToken) : undefined;
    this.gen = new LoadGenerator({ baseUrl: ep.app, keys, catalog });
    this.gen.start(PROFILES.steady, o.steadyRate);
    this.report = {
      scenario: s.name,
      ok: false,
      timeline: [],
      alsoFiring: [],
      load: loadOf(this.gen),
    };
  }

  // Timeline entries carry the time the poll saw them (every `pollMs`), so they stay in order;
  // the time to alert and to resolve use the receiver's own timestamps, to the millisecond.
  private mark(event: string, atS = (Date.now() - this.t0) / 1000): void {
    this.report.timeline.push({ atS, event });
    this.o.log(`  +${atS.toFixed(1).padStart(6)}s  ${event}`);
  }

  private loadText(): string {
    return `load ${statusText(this.gen.stats, Date.now(), this.gen.inFlight)}`;
  }

  private status(stages: string): void {
    const since = ((Date.now() - this.t0) / 1000).toFixed(0);
    this.o.setStatus(`+${since}s waiting for ${this.name}: ${stages} | ${this.loadText()}`);
  }

  /** Stage of the expected alert in Prometheus. */
  private async promStage(): Promise<Stage> {
    const alerts = await this.prom.alerts();
    const matching = alerts.filter((a: PromAlert) => labelsMatch(a.labels, this.want));
    if (matching.some((a) => a.state === 'firing')) return 'firing';
    return matching.some((a) => a.state === 'pending') ? 'pending' : 'inactive';
  }

  private async amActive(): Promise<boolean> {
    return (await this.am.alerts(this.want)).some((a) => a.status.state === 'active');
  }

  private async delivered(status: 'firing' | 'resolved', after: number, fingerprint?: string) {
    return (await this.receiver.alerts(this.name)).find(
      (a) =>
        a.status === status &&
        Date.parse(a.receivedAt) >= after &&
        labelsMatch(a.labels, this.want) &&
        (fingerprint === undefined || a.fingerprint === fingerprint),
    );
  }

  /** An alert left over from an earlier run would make the timeline meaningless: wait it out. */
  async waitForQuiet(): Promise<void> {
    const busy = async () => (await this.promStage()) !== 'inactive' || (await this.amActive());
    if (!(await busy())) return;
    const { name, o } = this;
    o.log(
      `${name} is already active (an earlier run?): waiting up to ${o.resolveTimeoutS} s for it to resolve first`,
    );
    const deadline = Date.now() + o.resolveTimeoutS * 1000;
    while (await busy()) {
      if (Date.now() > deadline)
        throw new Error(
          `${name} was already active and did not resolve within ${o.resolveTimeoutS} s`,
        );
      o.setStatus(`waiting for the earlier ${name} to resolve | ${this.loadText()}`);
      await sleep(this.pollMs * 4, o.signal);
    }
  }

  /** Steady load before the fault, so the ratios have clean history. */
  async warmUp(): Promise<void> {
    const { o } = this;
    if (o.warmupS <= 0) return;
    o.log(
      `Steady load at ${o.steadyRate} req/s for ${o.warmupS} s before the fault (a clean baseline)…`,
    );
    const end = Date.now() + o.warmupS * 1000;
    while (Date.now() < end) {
      o.setStatus(`warm-up | ${this.loadText()}`);
      await sleep(Math.min(this.pollMs, end - Date.now()), o.signal);
    }
  }

  async applyFault(): Promise<void> {
    const { fault } = this.s;
    this.t0 = Date.now();
    if (fault.kind === 'chaos') await this.chaos?.apply(fault.fault, this.o.ttlS, fault.value);
    else if (fault.kind === 'traffic')
      this.attack = this.gen.start(PROFILES[fault.profile], fault.rate);
    else await this.o.appControl?.stop();
    this.faultActive = true;
    const ttl = fault.kind === 'chaos' ? `, ttl ${this.o.ttlS}s` : '';
    this.mark(`fault applied (${describeFault(fault)}${ttl})`, 0);
  }

  /** Until the receiver has the firing notification; marks Prometheus and Alertmanager on the way. */
  async awaitDelivery(): Promise<void> {
    const { name, o } = this;
    let seen: Stage = 'inactive';
    let seenAm = false;
    const deadline = this.t0 + o.fireTimeoutS * 1000;
    for (;;) {
      const [stage, active, got] = await Promise.all([
        this.promStage().catch(() => seen),
        this.amActive().catch(() => seenAm),
        this.delivered('firing', this.t0).catch(() => undefined),
      ]);
      if (stage !== 'inactive' && seen === 'inactive') this.mark(`${name} pending in Prometheus`);
      if (stage !== 'inactive' && seen === 'inactive') seen = 'pending';
      if (stage === 'firing' && seen !== 'firing') this.mark(`${name} firing in Prometheus`);
      if (stage === 'firing') seen = 'firing';
      if (active && !seenAm) this.mark(`${name} active in Alertmanager`);
      seenAm ||= active;
      if (got) return this.onDelivered(got);
      if (Date.now() > deadline) {
        throw new Error(
          `${name} was not delivered within ${o.fireTimeoutS} s of the fault (last seen: Prometheus ${seen}, ` +
            `Alertmanager ${seenAm ? 'active' : 'not active'}); check ${o.endpoints.prometheus}/alerts`,
        );
      }
      this.status(`Prometheus ${seen} · Alertmanager ${seenAm ? 'active' : '–'} · receiver –`);
      await sleep(this.pollMs, o.signal);
    }
  }

  private async onDelivered(got: ReceivedAlert): Promise<void> {
    this.mark(
      `${this.name} delivered to the receiver (receiver "${got.receiver}", severity ${got.severity || '-'})`,
    );
    this.report.timeToAlertS = (Date.parse(got.receivedAt) - this.t0) / 1000;
    this.report.firing = got;
    const others = (await this.prom.alerts()).filter(
      (a) =>
        a.state === 'firing' &&
        a.labels.alertname !== 'Watchdog' &&
        a.labels.alertname !== this.name,
    );
    this.report.alsoFiring = [...new Set(others.map((a) => a.labels.alertname))];
  }

  async clearFault(): Promise<void> {
    if (!this.faultActive) return;
    this.faultActive = false;
    const { fault } = this.s;
    if (fault.kind === 'chaos') await this.chaos?.clear(fault.fault);
    else if (fault.kind === 'traffic') this.attack?.stop();
    else await this.o.appControl?.start();
    this.clearedAt = Date.now();
    this.mark('fault cleared');
  }

  /** Until the receiver has the resolved notification of the alert that fired. */
  async awaitResolution(): Promise<void> {
    const { name, o } = this;
    let promResolved = false;
    let amResolved = false;
    const deadline = this.clearedAt + o.resolveTimeoutS * 1000;
    for (;;) {
      const [stage, active, got] = await Promise.all([
        this.promStage().catch(() => 'firing' as Stage),
        this.amActive().catch(() => true),
        // Only after the fault was cleared: a resolved notice before that is not this recovery.
        this.delivered('resolved', this.clearedAt, this.report.firing?.fingerprint).catch(
          () => undefined,
        ),
      ]);
      if (stage === 'inactive' && !promResolved) this.mark(`${name} resolved in Prometheus`);
      promResolved ||= stage === 'inactive';
      if (!active && !amResolved) this.mark(`${name} resolved in Alertmanager`);
      amResolved ||= !active;
      if (got) {
        this.report.resolved = got;
        this.mark(`${name} resolved notification delivered`);
        this.report.timeToResolveS = (Date.parse(got.receivedAt) - this.clearedAt) / 1000;
        return;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${name} did not resolve within ${o.resolveTimeoutS} s of clearing the fault ` +
            `(Prometheus ${promResolved ? 'resolved' : 'still active'}, Alertmanager ${amResolved ? 'resolved' : 'still active'})`,
        );
      }
      const yes = (b: boolean) => (b ? 'yes' : 'no');
      this.status(
        `resolved: Prometheus ${yes(promResolved)} · Alertmanager ${yes(amResolved)} · receiver –`,
      );
      await sleep(this.pollMs, o.signal);
    }
  }

  /** Never leave the fault behind, whatever happened; stop the load and count it. */
  async finish(): Promise<void> {
    try {
      await this.clearFault();
    } catch (err) {
      this.o.log(`!! could not clear the fault: ${(err as Error).message}`);
      this.report.reason ??= `could not clear the fault: ${(err as Error).message}`;
      this.report.ok = false;
    }
    await this.gen.stop();
    this.report.load = loadOf(this.gen);
  }
}

function loadOf(gen: LoadGenerator): ScenarioReport['load'] {
  const s = gen.stats;
  const statusCounts: Record<string, number> = {};
  for (const [k, v] of s.statusCounts) statusCounts[k === 0 ? 'no response' : String(k)] = v;
  return { sent: s.sent, completed: s.completed, errorRatio: s.errorRatio(), statusCounts };
}
