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
  /**
   * Optional integration → its message fields (title, text, ...) with the templates of
   * alertmanager/templates/ written out: an AlertmanagerConfig cannot load template files.
   */
  messages: Record<string, Record<string, string>>;
}

/** The bodies of the `{{ define "name" }}` blocks of a template file. */
export function templateDefinitions(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re =
    /\{\{-?\s*define\s+"([^"]+)"\s*-?\}\}([\s\S]*?)\{\{-?\s*end\s*-?\}\}(?=\s*(?:\{\{\/\*|\{\{-?\s*define|$))/g;
  for (const m of text.matchAll(re)) {
    // The define's own trim markers: `{{ define "x" -}}` trims the body's start, `{{- end }}` its end.
    const open = m[0].slice(0, m[0].indexOf('}}'));
    let body = m[2];
    if (open.trimEnd().endsWith('-')) body = body.replace(/^\s+/, '');
    if (/\{\{-\s*end\s*-?\}\}$/.test(m[0])) body = body.replace(/\s+$/, '');
    out.set(m[1], body);
  }
  return out;
}

/** `{{ template "name" . }}` replaced by the body of that define, everywhere in `value`. */
export function inlineTemplates(value: string, defs: Map<string, string>): string {
  return value.replace(/\{\{-?\s*template\s+"([^"]+)"\s+\.\s*-?\}\}/g, (call, name: string) => {
    const body = defs.get(name);
    if (body === undefined) throw new Error(`no template "${name}" in alertmanager/templates/`);
    return inlineTemplates(body, defs);
  });
}

/** Each integration's message fields: the string fields of its first config that use a template. */
function messagesOf(optional: OptionalReceivers, defs: Map<string, string>) {
  const out: Record<string, Record<string, string>> = {};
  for (const [name, entry] of Object.entries(optional)) {
    if (name.startsWith('x-')) continue;
    const configs = Object.values(entry.receivers ?? {}).flatMap((r) =>
      Object.values(r as Record<string, Record<string, unknown>[]>).flat(),
    );
    const fields: Record<string, string> = {};
    const collect = (obj: Record<string, unknown>, prefix = '') => {
      for (const [k, v] of Object.entries(obj)) {
        if (typeof v === 'string' && v.includes('{{'))
          fields[prefix + k] = inlineTemplates(v, defs);
        else if (v && typeof v === 'object' && !Array.isArray(v))
          collect(v as Record<string, unknown>, `${prefix}${k}.`);
      }
    };
    if (configs[0]) collect(configs[0]);
    if (Object.keys(fields).length) out[name] = fields;
  }
  return out;
}

export function chartRouting(
  config: AmConfig,
  optional: OptionalReceivers,
  templates: string,
): ChartRouting {
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
  const messages = messagesOf(optional, templateDefinitions(templates));
  return { route, inhibitRules, receivers, integrations, messages };
}
