// The Alertmanager config the Prometheus Operator makes of one AlertmanagerConfig object, as its
// ConfigBuilder does (pkg/alertmanager/amcfg.go of prometheus-operator, strategy OnNamespace, the
// default): receiver names become <namespace>/<object>/<receiver>; the object's route, with a
// namespace="<namespace>" matcher and `continue: true`, goes first under a base config's root;
// every inhibition gets namespace="<namespace>" on both sides. A stand-in for the Operator,
// which does not run here; the base config is the smallest one it accepts (a root receiver).
//
// Receivers get the integrations a test gives them (webhooks and Slack to local servers)
// instead of the Secret references the chart renders.
import type { KubeObject } from './helm.ts';

interface Matcher {
  name: string;
  value: string;
  matchType?: string;
}
interface Route {
  receiver?: string;
  matchers?: Matcher[];
  groupBy?: string[];
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  continue?: boolean;
  routes?: Route[];
}
interface InhibitRule {
  sourceMatch?: Matcher[];
  targetMatch?: Matcher[];
  equal?: string[];
}
interface Receiver {
  name: string;
  slackConfigs?: Record<string, unknown>[];
}

const matcher = (m: Matcher) => `${m.name}${m.matchType ?? '='}${JSON.stringify(m.value)}`;

export interface OperatorOptions {
  namespace: string;
  /** Group timers to use everywhere (the test does not wait for the real ones). */
  timer: string;
  /** Integrations of each receiver, by its name in the chart (page, ticket, info). */
  integrations: (receiver: Receiver) => Record<string, unknown>;
}

function convertRoute(route: Route, prefix: string, timer: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (route.receiver) out.receiver = `${prefix}${route.receiver}`;
  if (route.matchers) out.matchers = route.matchers.map(matcher);
  if (route.groupBy) out.group_by = route.groupBy;
  out.group_wait = timer;
  out.group_interval = timer;
  if (route.repeatInterval) out.repeat_interval = route.repeatInterval;
  if (route.continue !== undefined) out.continue = route.continue;
  if (route.routes) out.routes = route.routes.map((r) => convertRoute(r, prefix, timer));
  return out;
}

export function operatorAlertmanagerConfig(amc: KubeObject, o: OperatorOptions) {
  const spec = amc.spec as { route: Route; inhibitRules?: InhibitRule[]; receivers: Receiver[] };
  const prefix = `${o.namespace}/${amc.metadata.name}/`;
  const ns = `namespace=${JSON.stringify(o.namespace)}`;
  const top = convertRoute(spec.route, prefix, o.timer);
  top.matchers = [...((top.matchers as string[] | undefined) ?? []), ns];
  top.continue = true;
  return {
    route: { receiver: 'null', group_by: ['namespace'], routes: [top] },
    inhibit_rules: (spec.inhibitRules ?? []).map((r) => ({
      source_matchers: [...(r.sourceMatch ?? []).map(matcher), ns],
      target_matchers: [...(r.targetMatch ?? []).map(matcher), ns],
      ...(r.equal ? { equal: r.equal } : {}),
    })),
    receivers: [
      { name: 'null' },
      ...spec.receivers.map((r) => ({ name: `${prefix}${r.name}`, ...o.integrations(r) })),
    ],
  };
}
