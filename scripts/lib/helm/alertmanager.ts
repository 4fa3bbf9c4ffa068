// alertmanager/alertmanager.yml → the route tree and inhibit rules of the chart's
// AlertmanagerConfig (monitoring.coreos.com/v1alpha1: camelCase fields, matchers as objects),
// plus which receiver gets which optional integration (alertmanager/receivers.optional.yml).
// The receivers' integrations themselves are built by the chart's template from values that
// name Secrets, so no secret ever passes through here.
import { LEFT_TO_KUBE_PROMETHEUS_STACK } from './kube-prometheus-stack.ts';

interface AmRoute {
  receiver?: string;
  matchers?: string[];
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  continue?: boolean;
  routes?: AmRoute[];
}

interface AmInhibit {
  source_matchers?: string[];
  target_matchers?: string[];
  equal?: string[];
}

export interface AmConfig {
  route: AmRoute;
  inhibit_rules?: AmInhibit[];
  receivers: { name: string }[];
}

/** receivers.optional.yml: integration → { receivers: { receiverName: ... } } (x-* skipped). */
export type OptionalReceivers = Record<string, { receivers?: Record<string, unknown> }>;

export interface Matcher {
  name: string;
  value: string;
  matchType: '=' | '!=' | '=~' | '!~';
}

const MATCHER =
  /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))\s*$/;

/** One Alertmanager matcher string (`alertname=~"A|B"`) as an AlertmanagerConfig matcher. */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text);
  if (!m) throw new Error(`alertmanager.yml: cannot read the matcher ${JSON.stringify(text)}`);
  const value = m[3] !== undefined ? (JSON.parse(`"${m[3]}"`) as string) : m[4];
  return { name: m[1], value, matchType: m[2] as Matcher['matchType'] };
}

/** A route that only ever matches alerts the chart leaves to kube-prometheus-stack. */
function onlyForLeftAlerts(route: AmRoute): boolean {
  return (route.matchers ?? [])
    .map(parseMatcher)
    .some(
      (m) =>
        m.name === 'alertname' && m.matchType === '=' && m.value in LEFT_TO_KUBE_PROMETHEUS_STACK,
    );
}

function convertRoute(route: AmRoute): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (route.receiver) out.receiver = route.receiver;
  if (route.matchers) out.matchers = route.matchers.map(parseMatcher);
  if (route.group_by) out.groupBy = route.group_by;
  if (route.group_wait) out.groupWait = route.group_wait;
  if (route.group_interval) out.groupInterval = route.group_interval;
  if (route.repeat_interval) out.repeatInterval = route.repeat_interval;
  if (route.continue !== undefined) out.continue = route.continue;
  const routes = (route.routes ?? []).filter((r) => !onlyForLeftAlerts(r)).map(convertRoute);
  if (routes.length > 0) out.routes = routes;
  return out;
}

function receiversIn(route: Record<string, unknown>): string[] {
  const own = typeof route.receiver === 'string' ? [route.receiver] : [];
  const children = (route.routes as Record<string, unknown>[] | undefined) ?? [];
  return [...own, ...children.flatMap(receiversIn)];
}

export interface ChartRouting {
  route: Record<string, unknown>;
  inhibitRules: { sourceMatch: Matcher[]; targetMatch: Matcher[]; equal?: string[] }[];
  /** Receivers the routes use, in the order alertmanager.yml defines them. */
  receivers: string[];
  /** Optional integration (slack, pagerduty, ...) → the receivers that get it. */
  integrations: Record<string, string[]>;
}

export function chartRouting(config: AmConfig, optional: OptionalReceivers): ChartRouting {
  const route = convertRoute(config.route);
  const used = new Set(receiversIn(route));
  const receivers = config.receivers.map((r) => r.name).filter((name) => used.has(name));
  const integrations: Record<string, string[]> = {};
  for (const [name, entry] of Object.entries(optional)) {
    if (name.startsWith('x-')) continue;
    integrations[name] = Object.keys(entry.receivers ?? {}).filter((r) => used.has(r));
  }
  const inhibitRules = (config.inhibit_rules ?? []).map((rule) => ({
    sourceMatch: (rule.source_matchers ?? []).map(parseMatcher),
    targetMatch: (rule.target_matchers ?? []).map(parseMatcher),
    ...(rule.equal ? { equal: rule.equal } : {}),
  }));
  return { route, inhibitRules, receivers, integrations };
}
