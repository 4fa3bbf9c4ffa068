// One incident, one page (docs/decisions/0003-slo-windows.md): over the whole life of an
// incident, the page receiver sees one group, so one PagerDuty incident (its dedup key is
// Alertmanager's group key), and one resolved notification.
//
// Each incident is a promtool test file (test/rules/incidents/): promtool evaluates the repo's
// rules over it every 15 s, and the alerts they fire (alert-timeline.ts) are replayed, as
// Prometheus would send them, on a real Alertmanager running the repo's rendered config
// (`make configure`'s render, then the time scaling of the whole-stack test, at 1/240: an hour
// in 15 s) and delivering to the local alert receiver. The page must keep one group key from
// its first notification until 60 scaled minutes after recovery, and resolve exactly once.
// Every evaluation is replayed whatever the scale; Alertmanager's timers keep the floor of 2
// incident minutes they had at 1/120, so the notifications are the same, at half the wall time.
//
// The promtool evaluations take 20-30 s and the replays 30 s of wall time, mostly waiting;
// they start as soon as mocha loads the file, so they run while the other rules tests do.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAlertReceiver, type ReceivedAlert } from '../../scripts/lib/alert-receiver.ts';
import { renderAlertmanagerConfig } from '../../scripts/lib/alertmanager-config.ts';
import { describeBinary, findBinary } from '../../scripts/lib/binaries.ts';
import { parseDuration } from '../../scripts/lib/stack/duration.ts';
import { rewriteAlertmanagerConfig } from '../../scripts/lib/stack/rewrite.ts';
import { scalingFor } from '../../scripts/lib/stack/scaling.ts';
import { alertTimeline } from '../lib/alert-timeline.ts';
import { replayTimeline } from '../lib/alert-replay.ts';
import { startAlertmanager } from '../lib/live-alertmanager.ts';
import { speedup } from '../../scripts/lib/time-scale.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const SCALE = speedup(240);
/** The floor of Alertmanager's timers in incident time: 2 minutes, which the stack's floor
 * (1 s, scaling.ts) is at 1/120; here it is kept at that incident time, not at 1 s. */
const TIMER_FLOOR_MS = parseDuration('2m');
const AFTER_RECOVERY = parseDuration('60m');

interface Incident {
  file: string;
  title: string;
  /** When the fault starts and ends, in the scenario's time. */
  fault: string;
  recovery: string;
}

const INCIDENTS: Incident[] = [
  { file: 'outage-30m.yml', title: 'a 30-minute outage', fault: '6h', recovery: '6h30m15s' },
  { file: 'error-hour.yml', title: 'an hour of 30 % errors', fault: '6h', recovery: '7h' },
  {
    file: 'llm-outage.yml',
    title: 'a 20-minute LLM provider outage (two different pages)',
    fault: '6h',
    recovery: '6h20m',
  },
];

/** One webhook notification: the alerts the receiver stored from one POST. */
interface Notification {
  groupKey: string;
  receivedAt: string;
  status: 'firing' | 'resolved';
  alertnames: string[];
}

function notificationsOf(alerts: ReceivedAlert[], receiver: string): Notification[] {
  const byPost = new Map<string, ReceivedAlert[]>();
  for (const a of alerts.filter((x) => x.receiver === receiver)) {
    const key = `${a.groupKey}\n${a.receivedAt}`;
    byPost.set(key, [...(byPost.get(key) ?? []), a]);
  }
  return [...byPost.values()].map((post) => ({
    groupKey: post[0].groupKey,
    receivedAt: post[0].receivedAt,
    // Alertmanager's payload is resolved only when every alert in it is.
    status: post.every((a) => a.status === 'resolved') ? 'resolved' : 'firing',
    alertnames: [...new Set(post.filter((a) => a.status === 'firing').map((a) => a.alertname))],
  }));
}

/** Evaluates the incident with promtool, replays it, and returns what the receiver got. */
async function replayIncident(promtool: string, alertmanager: string, incident: Incident) {
  const work = mkdtempSync(join(tmpdir(), 'one-incident-'));
  const receiver = await startAlertReceiver({ port: 0, maxAlerts: 10_000 });
  try {
    const timeline = await alertTimeline({
      promtool,
      scenario: join(REPO_ROOT, 'test/rules/incidents', incident.file),
      fromMs: parseDuration(incident.fault),
      toMs: parseDuration(incident.recovery) + AFTER_RECOVERY,
      workDir: work,
    });
    const rendered = rewriteAlertmanagerConfig(renderAlertmanagerConfig({}, REPO_ROOT).yaml, {
      addresses: { 'alert-receiver:9095': [`127.0.0.1:${receiver.port}`] },
      scaling: { ...scalingFor(SCALE)!, minIntervalMs: TIMER_FLOOR_MS * SCALE.factor },
    });
    const am = await startAlertmanager(alertmanager, rendered.text);
    try {
      await replayTimeline({ alertmanagerUrl: am.url, timeline, factor: SCALE.factor });
    } finally {
      await am.stop();
    }
    return { timeline, alerts: receiver.alerts() };
  } finally {
    await receiver.close();
    rmSync(work, { recursive: true, force: true });
  }
}

const promtool = findBinary('promtool');
const alertmanager = findBinary('alertmanager');
// Started when mocha loads this file, before any test of any file runs: the replays wait
// most of their time, beside promtool.test.ts's evaluations (which start the same way).
const outcomes = new Map<string, ReturnType<typeof replayIncident>>();
if (promtool && alertmanager) {
  for (const incident of INCIDENTS) {
    const outcome = replayIncident(promtool.path, alertmanager.path, incident);
    outcome.catch(() => {}); // reported by its test
    outcomes.set(incident.file, outcome);
  }
}

const describeTools = `${promtool ? describeBinary(promtool) : 'no promtool'}, ${alertmanager ? describeBinary(alertmanager) : 'no alertmanager'}`;

describe(`one incident, one page (${describeTools})`, function () {
  this.timeout(600_000);

  before(function () {
    assert.ok(promtool, 'no promtool: `make tools`, or apt-get install prometheus');
    assert.ok(
      alertmanager,
      'no alertmanager: `make tools`, or apt-get install prometheus-alertmanager',
    );
  });

  for (const incident of INCIDENTS) {
    it(`${incident.title}: one group key on the page receiver until 60 minutes after recovery, one resolved notification`, async function () {
      const { alerts } = await outcomes.get(incident.file)!;
      const pages = notificationsOf(alerts, 'page');
      const story = pages.map((n) => `${n.receivedAt} ${n.status} [${n.alertnames.join(', ')}]`);
      console.log(
        `      ${incident.title}: ${pages.length} page notifications\n        ${story.join('\n        ')}`,
      );
      assert.ok(pages.length > 0, 'no page at all');
      assert.equal(pages[0].status, 'firing');
      assert.deepEqual([...new Set(pages.map((n) => n.groupKey))].length, 1, story.join('\n'));
      const resolved = pages.filter((n) => n.status === 'resolved');
      assert.equal(resolved.length, 1, `resolved notifications:\n${story.join('\n')}`);
      assert.equal(pages.at(-1)!.status, 'resolved', 'the page resolves last');
    });
  }
});
