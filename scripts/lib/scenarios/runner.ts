// Runs one alert scenario end to end: steady load, the fault, then watch the alert go
// pending → firing in Prometheus → active in Alertmanager → delivered to the receiver; clear
// the fault and watch it resolve the same way. Prints a timeline as it goes and returns it,
// with the time to alert (fault applied → notification received) and to resolve.
import type { ReceivedAlert } from '../alert-receiver.ts';
import { fetchCatalog } from '../load/catalog.ts';
import { LoadGenerator, type StreamHandle } from '../load/generator.ts';
import { PROFILES, requireApiKeys } from '../load/mix.ts';
import { statusText } from '../load/stats.ts';
import type { Endpoints } from '../stack/endpoints.ts';
import type { AppControl } from './app-control.ts';
import {
  AlertmanagerClient,
  ChaosClient,
  labelsMatch,
  PrometheusClient,
  ReceiverClient,
  type PromAlert,
} from './clients.ts';
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

export async function runScenario(s: Scenario, o: RunOptions): Promise<ScenarioReport> {
  const { endpoints: ep } = o;
  const pollMs = o.pollMs ?? 500;
  const prom = new PrometheusClient(ep.prometheus);
  const am = new AlertmanagerClient(ep.alertmanager);
  const receiver = new ReceiverClient(ep.receiver);
  const want = { alertname: s.expect.alertname, ...s.expect.labels };
  const name = s.expect.alertname;
  const timeline: TimelineEntry[] = [];
  let t0 = 0;
  const since = () => (Date.now() - t0) / 1000;
  // Timeline entries carry the time the poll saw them (every `pollMs`), so they stay in order;
  // the time to alert and to resolve use the receiver's own timestamps, to the millisecond.
  const mark = (event: string, atS = since()) => {
    timeline.push({ atS, event });
    o.log(`  +${atS.toFixed(1).padStart(6)}s  ${event}`);
  };

  if (s.fault.kind === 'chaos' && !ep.adminToken) {
    throw new Error(
      'no admin token: set ADMIN_TOKEN (or --admin-token); `make up` writes it to .env, `make native` to .native/env',
    );
  }
  if (s.fault.kind === 'stop-app' && !o.appControl) {
    throw new Error(
      'service-down needs docker compose (make up) or a running make native to stop the app',
    );
  }
  const chaos = ep.adminToken ? new ChaosClient(ep.app, ep.adminToken) : undefined;

  const keys = requireApiKeys(ep.apiKeys);
  const catalog = await fetchCatalog(ep.app, keys.pro);
  const gen = new LoadGenerator({ baseUrl: ep.app, keys, catalog });
  gen.start(PROFILES.steady, o.steadyRate);
  let attack: StreamHandle | undefined;
  let faultActive = false;
  const report: ScenarioReport = {
    scenario: s.name,
    ok: false,
    timeline,
    alsoFiring: [],
    load: loadOf(gen),
  };

  // Stage of the expected alert in Prometheus, Alertmanager and the receiver, for the status line.
  const promStage = async (): Promise<Stage> => {
    const matching = (await prom.alerts()).filter((a: PromAlert) => labelsMatch(a.labels, want));
    if (matching.some((a) => a.state === 'firing')) return 'firing';
    return matching.some((a) => a.state === 'pending') ? 'pending' : 'inactive';
  };
  const amActive = async () => (await am.alerts(want)).some((a) => a.status.state === 'active');
  const delivered = async (status: 'firing' | 'resolved', after: number, fingerprint?: string) =>
    (await receiver.alerts(name)).find(
      (a) =>
        a.status === status &&
        Date.parse(a.receivedAt) >= after &&
        labelsMatch(a.labels, want) &&
        (fingerprint === undefined || a.fingerprint === fingerprint),
    );
  const status = (phase: string, stages: string) =>
    o.setStatus(
      `+${since().toFixed(0)}s ${phase} ${name}: ${stages} | load ${statusText(gen.stats, Date.now(), gen.inFlight)}`,
    );

  const clearFault = async () => {
    if (!faultActive) return;
    faultActive = false;
    if (s.fault.kind === 'chaos') await chaos?.clear(s.fault.fault);
    else if (s.fault.kind === 'traffic') attack?.stop();
    else await o.appControl?.start();
  };

  try {
    // An alert left over from an earlier run would make the timeline meaningless: wait it out.
    if ((await promStage()) !== 'inactive' || (await amActive())) {
      o.log(
        `${name} is already active (an earlier run?): waiting up to ${o.resolveTimeoutS} s for it to resolve first`,
      );
      const deadline = Date.now() + o.resolveTimeoutS * 1000;
      while ((await promStage()) !== 'inactive' || (await amActive())) {
        if (Date.now() > deadline)
          throw new Error(
            `${name} was already active and did not resolve within ${o.resolveTimeoutS} s`,
          );
        o.setStatus(
          `waiting for the earlier ${name} to resolve | load ${statusText(gen.stats, Date.now(), gen.inFlight)}`,
        );
        await sleep(pollMs * 4, o.signal);
      }
    }
    if (o.warmupS > 0) {
      o.log(
        `Steady load at ${o.steadyRate} req/s for ${o.warmupS} s before the fault (a clean baseline)…`,
      );
      const end = Date.now() + o.warmupS * 1000;
      while (Date.now() < end) {
        o.setStatus(`warm-up | load ${statusText(gen.stats, Date.now(), gen.inFlight)}`);
        await sleep(Math.min(pollMs, end - Date.now()), o.signal);
      }
    }

    // ---------------------------------------------------------------- fault → delivered
    t0 = Date.now();
    const wallT0 = t0;
    if (s.fault.kind === 'chaos') await chaos?.apply(s.fault.fault, o.ttlS, s.fault.value);
    else if (s.fault.kind === 'traffic')
      attack = gen.start(PROFILES[s.fault.profile], s.fault.rate);
    else await o.appControl?.stop();
    faultActive = true;
    const faultText =
      s.fault.kind === 'chaos'
        ? `fault applied (${describeFault(s.fault)}, ttl ${o.ttlS}s)`
        : `fault applied (${describeFault(s.fault)})`;
    mark(faultText, 0);

    let seen: Stage = 'inactive';
    let seenAm = false;
    let firing: ReceivedAlert | undefined;
    const fireDeadline = t0 + o.fireTimeoutS * 1000;
    while (!firing) {
      const [stage, active, got] = await Promise.all([
        promStage().catch(() => seen),
        amActive().catch(() => seenAm),
        delivered('firing', wallT0).catch(() => undefined),
      ]);
      if (stage !== 'inactive' && seen === 'inactive') {
        mark(`${name} pending in Prometheus`);
        seen = 'pending';
      }
      if (stage === 'firing' && seen !== 'firing') {
        mark(`${name} firing in Prometheus`);
        seen = 'firing';
      }
      if (active && !seenAm) {
        mark(`${name} active in Alertmanager`);
        seenAm = true;
      }
      if (got) {
        firing = got;
        mark(
          `${name} delivered to the receiver (receiver "${got.receiver}", severity ${got.severity || '-'})`,
        );
        report.timeToAlertS = (Date.parse(got.receivedAt) - wallT0) / 1000;
        break;
      }
      if (Date.now() > fireDeadline) {
        throw new Error(
          `${name} was not delivered within ${o.fireTimeoutS} s of the fault (last seen: Prometheus ${seen}, ` +
            `Alertmanager ${seenAm ? 'active' : 'not active'}); check ${ep.prometheus}/alerts`,
        );
      }
      status(
        'waiting for',
        `Prometheus ${seen} · Alertmanager ${seenAm ? 'active' : '–'} · receiver –`,
      );
      await sleep(pollMs, o.signal);
    }
    report.firing = firing;
    report.alsoFiring = [
      ...new Set(
        (await prom.alerts())
          .filter(
            (a) =>
              a.state === 'firing' &&
              a.labels.alertname !== 'Watchdog' &&
              a.labels.alertname !== name,
          )
          .map((a) => a.labels.alertname),
      ),
    ];

    // ---------------------------------------------------------------- cleared → resolved
    await clearFault();
    const clearedAt = Date.now();
    mark('fault cleared');
    let promResolved = false;
    let amResolved = false;
    const resolveDeadline = clearedAt + o.resolveTimeoutS * 1000;
    for (;;) {
      const [stage, active, got] = await Promise.all([
        promStage().catch(() => 'firing' as Stage),
        amActive().catch(() => true),
        // Only after the fault was cleared: a resolved notice before that is not this recovery.
        delivered('resolved', clearedAt, firing.fingerprint).catch(() => undefined),
      ]);
      if (stage === 'inactive' && !promResolved) {
        mark(`${name} resolved in Prometheus`);
        promResolved = true;
      }
      if (!active && !amResolved) {
        mark(`${name} resolved in Alertmanager`);
        amResolved = true;
      }
      if (got) {
        report.resolved = got;
        mark(`${name} resolved notification delivered`);
        report.timeToResolveS = (Date.parse(got.receivedAt) - clearedAt) / 1000;
        break;
      }
      if (Date.now() > resolveDeadline) {
        throw new Error(
          `${name} did not resolve within ${o.resolveTimeoutS} s of clearing the fault ` +
            `(Prometheus ${promResolved ? 'resolved' : 'still active'}, Alertmanager ${amResolved ? 'resolved' : 'still active'})`,
        );
      }
      status(
        'waiting for',
        `resolved: Prometheus ${promResolved ? 'yes' : 'no'} · Alertmanager ${amResolved ? 'yes' : 'no'} · receiver –`,
      );
      await sleep(pollMs, o.signal);
    }
    report.ok = true;
  } catch (err) {
    report.reason = err instanceof Aborted ? 'interrupted' : (err as Error).message;
  } finally {
    // Never leave the fault behind, whatever happened above.
    try {
      if (faultActive) {
        await clearFault();
        if (t0) mark('fault cleared');
      }
    } catch (err) {
      o.log(`!! could not clear the fault: ${(err as Error).message}`);
      report.reason ??= `could not clear the fault: ${(err as Error).message}`;
      report.ok = false;
    }
    await gen.stop();
    report.load = loadOf(gen);
  }
  return report;
}

function loadOf(gen: LoadGenerator): ScenarioReport['load'] {
  const s = gen.stats;
  const statusCounts: Record<string, number> = {};
  for (const [k, v] of s.statusCounts) statusCounts[k === 0 ? 'no response' : String(k)] = v;
  return { sent: s.sent, completed: s.completed, errorRatio: s.errorRatio(), statusCounts };
}
