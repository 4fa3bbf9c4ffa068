// Every Prometheus query on the provisioned dashboards, with Grafana's macros and template
// variables expanded so that the query can run against a real Prometheus (the whole-stack
// test), or with the template variables alone substituted, for Grafana's query API, which
// expands its own macros but not a dashboard's variables (`make smoke`). Node built-ins only:
// `make smoke` runs it without the repo's npm packages.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../repo.ts';

export const DASHBOARDS_DIR = join(REPO_ROOT, 'grafana/dashboards');

export interface PanelQuery {
  /** Dashboard uid. */
  dashboard: string;
  /** Panel title. */
  panel: string;
  refId: string;
  /** The query as written on the panel. */
  expr: string;
  /** The query with macros and variables expanded (see expandQuery). */
  expanded: string;
  /** The panel asks Prometheus for exemplars with this query. */
  exemplar: boolean;
}

export interface ExpandOptions {
  /**
   * Prometheus' scrape interval in seconds: 15 in the real stack, 1 in the time-scaled
   * whole-stack test. It must equal the datasource's timeInterval (it does in
   * grafana/provisioning/datasources/datasources.yml for the real stack).
   */
  scrapeIntervalSeconds: number;
  /** The dashboard time range that $__range stands for, in seconds. Default: 1 hour. */
  rangeSeconds?: number;
}

/** A template variable as Grafana stores it in the dashboard JSON (the fields used here). */
export interface TemplateVariable {
  name: string;
  type: string;
  current?: { value?: string | string[] };
  includeAll?: boolean;
  allValue?: string;
}

export interface Target {
  refId?: string;
  expr?: string;
  exemplar?: boolean;
  instant?: boolean;
  range?: boolean;
  datasource?: { type?: string; uid?: string };
}

export interface Panel {
  title?: string;
  type: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}

export interface DashboardJson {
  uid: string;
  title: string;
  panels?: Panel[];
  templating?: { list?: TemplateVariable[] };
  annotations?: { list?: { name: string; expr?: string; datasource?: { uid?: string } }[] };
}

/** Every dashboard JSON file in the folder Grafana provisions from, parsed. */
export const readDashboards = (dir = DASHBOARDS_DIR): DashboardJson[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as DashboardJson);

/** Panels of a dashboard, including those inside (collapsed) rows. */
export const panelsOf = (dashboard: DashboardJson): Panel[] =>
  (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);

/**
 * Expands a panel query the way Grafana does before sending it to Prometheus, for a
 * dashboard shown over a short time range (up to a few hours):
 *
 * - `$__interval`: Grafana divides the time range by the panel's data points and never goes
 *   below the datasource's timeInterval (the scrape interval); over a short range that
 *   floor wins, so `$__interval` = the scrape interval.
 * - `$__rate_interval`: Grafana's definition, max($__interval + scrape interval,
 *   4 × scrape interval), which with the above is 4 × the scrape interval (60s in the real
 *   stack, 4s with 1 s scrapes).
 * - `$__range`: the time range, `rangeSeconds` (default 3600).
 * Durations are written in whole seconds (`60s`), or in milliseconds when a time-scaled
 * test scrapes more often than once a second (`250ms`).
 * - Template variables (`$name`, `${name}`): the value saved as current in the dashboard.
 *   "All" becomes the variable's allValue (`.*` on these dashboards), which is what Grafana
 *   sends when allValue is set; several selected values become `(a|b)`, Grafana's regex
 *   format. A variable with "All" but no allValue is refused: Grafana would send the live
 *   list of values, which a static expansion cannot know.
 *
 * Any other `$…` left in the query is an error, so that a new macro cannot reach Prometheus
 * unexpanded and fail (or, worse, match nothing) without anyone noticing.
 */
export const expandQuery = (
  expr: string,
  variables: TemplateVariable[],
  options: ExpandOptions,
): string => {
  const scrape = options.scrapeIntervalSeconds;
  if (!(scrape > 0)) throw new Error(`scrape interval must be positive, got ${scrape}`);
  const interval = scrape;
  const rateInterval = Math.max(interval + scrape, 4 * scrape);
  const range = options.rangeSeconds ?? 3600;
  const macros: Record<string, string> = {
    __rate_interval: duration(rateInterval),
    __interval: duration(interval),
    __range: duration(range),
  };
  return replaceTokens(expr, variables, (name) =>
    Object.hasOwn(macros, name) ? macros[name] : undefined,
  );
};

/**
 * Grafana's Prometheus backend expands these itself in a query sent to its query API
 * (`/api/ds/query`), from the request's interval and time range; a dashboard's template
 * variables it does not (the browser fills those in).
 */
export const GRAFANA_BACKEND_MACROS = [
  '__interval',
  '__interval_ms',
  '__rate_interval',
  '__range',
  '__range_s',
  '__range_ms',
] as const;

/**
 * The query with the dashboard's template variables substituted as expandQuery does ("All"
 * becomes the allValue, `.*` here) and Grafana's backend macros left for Grafana to expand:
 * what the browser sends to `/api/ds/query` when the dashboard shows "All".
 */
export const substituteVariables = (expr: string, variables: TemplateVariable[]): string =>
  replaceTokens(expr, variables, (name) =>
    (GRAFANA_BACKEND_MACROS as readonly string[]).includes(name) ? `$${name}` : undefined,
  );

/**
 * Replaces every `$name` / `${name}` in `expr`: with `macro(name)` when it returns a string,
 * else with the template variable of that name; anything else is an error.
 */
const replaceTokens = (
  expr: string,
  variables: TemplateVariable[],
  macro: (name: string) => string | undefined,
): string =>
  expr.replace(
    /\$(?:\{([A-Za-z0-9_]+)(:[^}]*)?\}|([A-Za-z0-9_]+))/g,
    (token, braced: string | undefined, format: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare) as string;
      if (format !== undefined) {
        throw new Error(`${token}: variable formats are not expanded here`);
      }
      const expanded = macro(name);
      if (expanded !== undefined) return expanded;
      const variable = variables.find((candidate) => candidate.name === name);
      if (!variable) throw new Error(`${token}: no such macro or template variable`);
      return variableValue(variable);
    },
  );

/** A PromQL duration: whole seconds as `15s`, anything finer (a time-scaled test) as `250ms`. */
const duration = (seconds: number): string =>
  Number.isInteger(seconds) ? `${seconds}s` : `${Math.round(seconds * 1000)}ms`;

const variableValue = (variable: TemplateVariable): string => {
  const current = variable.current?.value;
  const values = current === undefined ? [] : Array.isArray(current) ? current : [current];
  if (values.length === 0) throw new Error(`$${variable.name} has no current value`);
  if (values.includes('$__all')) {
    if (variable.allValue === undefined || variable.allValue === '') {
      throw new Error(`$${variable.name} is "All" without an allValue`);
    }
    return variable.allValue;
  }
  return values.length === 1 ? (values[0] as string) : `(${values.join('|')})`;
};

/** Every Prometheus panel target of every dashboard, expanded with expandQuery. */
export const panelQueries = (options: ExpandOptions, dir = DASHBOARDS_DIR): PanelQuery[] =>
  readDashboards(dir).flatMap((dashboard) =>
    panelsOf(dashboard).flatMap((panel) =>
      (panel.targets ?? [])
        .filter((target) => (target.datasource ?? panel.datasource)?.type === 'prometheus')
        .map((target) => {
          const expr = target.expr ?? '';
          return {
            dashboard: dashboard.uid,
            panel: panel.title ?? '',
            refId: target.refId ?? '',
            expr,
            expanded: expandQuery(expr, dashboard.templating?.list ?? [], options),
            exemplar: target.exemplar === true,
          };
        }),
    ),
  );
