// `make smoke`'s Grafana checks, through Grafana's own HTTP API, as a user's browser would
// see the stack: Grafana is healthy, every provisioned datasource passes its health check,
// every provisioned dashboard loads by uid, and every panel query returns data through the
// query API (/api/ds/query). That API expands Grafana's own macros ($__rate_interval …) but
// not a dashboard's template variables, so they are substituted here as the browser would
// with "All" selected ($agent → .*).
//
// Proven live only in the GitHub workflow's compose job (Grafana cannot run where `make test`
// runs); test/unit/smoke-grafana.test.ts checks the requests against a local fake.
import { call, json, type HttpError } from '../http.ts';
import { panelsOf, substituteVariables, type DashboardJson } from '../dashboards/panel-queries.ts';
import { attempt, fail, pass, type CheckResult } from './report.ts';

export interface GrafanaAuth {
  user: string;
  password: string;
}

export class GrafanaApi {
  readonly url: string;
  private readonly headers: Record<string, string>;
  constructor(url: string, auth?: GrafanaAuth) {
    this.url = url;
    this.headers = auth
      ? {
          authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`,
        }
      : {};
  }

  get<T>(path: string): Promise<T> {
    return json<T>(`${this.url}${path}`, { headers: this.headers });
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return json<T>(`${this.url}${path}`, {
      method: 'POST',
      headers: { ...this.headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }
}

export interface GrafanaQuery {
  dashboard: string;
  panel: string;
  refId: string;
  /** The body of POST /api/ds/query for this one panel query. */
  body: {
    from: string;
    to: string;
    queries: Record<string, unknown>[];
  };
}

/**
 * One /api/ds/query request per Prometheus panel query, shaped as the dashboard sends it over
 * its default last hour: the panel's datasource, instant/range as on the panel, and the
 * template variables substituted (Grafana's backend computes $__interval from intervalMs and
 * the datasource's timeInterval).
 */
export function grafanaQueries(dashboards: DashboardJson[]): GrafanaQuery[] {
  return dashboards.flatMap((dashboard) =>
    panelsOf(dashboard).flatMap((panel) =>
      (panel.targets ?? [])
        .filter((target) => (target.datasource ?? panel.datasource)?.type === 'prometheus')
        .map((target) => ({
          dashboard: dashboard.uid,
          panel: panel.title ?? '',
          refId: target.refId ?? 'A',
          body: {
            from: 'now-1h',
            to: 'now',
            queries: [
              {
                refId: target.refId ?? 'A',
                datasource: target.datasource ?? panel.datasource,
                expr: substituteVariables(target.expr ?? '', dashboard.templating?.list ?? []),
                instant: target.instant === true,
                range: target.range ?? target.instant !== true,
                intervalMs: 15_000,
                maxDataPoints: 300,
              },
            ],
          },
        })),
    ),
  );
}

interface QueryResponse {
  results?: Record<string, { error?: string; frames?: { data?: { values?: unknown[][] } }[] }>;
}

/** What one /api/ds/query answer holds for refId: data, nothing, or Grafana's error. */
export function queryOutcome(response: QueryResponse, refId: string): 'data' | 'empty' | string {
  const result = response.results?.[refId];
  if (!result) return `no result for ${refId}`;
  if (result.error) return result.error;
  const hasValues = (result.frames ?? []).some((f) =>
    (f.data?.values ?? []).some((column) => column.length > 0),
  );
  return hasValues ? 'data' : 'empty';
}

interface Datasource {
  uid: string;
  name: string;
  type: string;
  readOnly?: boolean;
}

/** Datasource uids the dashboards use (panels and their targets). */
const referencedDatasources = (dashboards: DashboardJson[]): string[] =>
  dashboards.flatMap((d) =>
    panelsOf(d).flatMap((p) =>
      [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource?.uid)].filter(
        (uid): uid is string => typeof uid === 'string',
      ),
    ),
  );

// What each datasource's "Save & test" reads when it has no backend health check: the
// Alertmanager datasource never has one; Jaeger's is a backend plugin only in newer Grafanas.
const PROXY_PROBES: Record<string, string> = {
  alertmanager: '/api/v2/status',
  jaeger: '/api/services',
  prometheus: '/api/v1/status/buildinfo',
};

async function datasourceHealth(
  api: GrafanaApi,
  ds: Datasource,
  name: string,
): Promise<CheckResult> {
  const probe = PROXY_PROBES[ds.type];
  const viaProxy = async () => {
    await api.get(`/api/datasources/proxy/uid/${ds.uid}${probe}`);
    return pass(name, `${ds.type}: ${probe} answers through Grafana's datasource proxy`);
  };
  if (ds.type === 'alertmanager') return viaProxy();
  let health: { status?: string; message?: string };
  try {
    health = await api.get(`/api/datasources/uid/${ds.uid}/health`);
  } catch (err) {
    // 404/501: this plugin has no backend health check here.
    const status = (err as HttpError).status;
    if (probe && (status === 404 || status === 501)) return viaProxy();
    throw err;
  }
  return health.status === 'OK'
    ? pass(name, `${ds.type}: ${health.message ?? 'OK'}`)
    : fail(name, `${ds.type}: ${health.status}: ${health.message}`);
}

export async function checkDatasources(
  api: GrafanaApi,
  dashboards: DashboardJson[],
): Promise<CheckResult[]> {
  const all = await api.get<Datasource[]>('/api/datasources');
  // readOnly: provisioned from grafana/provisioning/datasources, not created in the UI.
  const uids = new Set([
    ...all.filter((d) => d.readOnly).map((d) => d.uid),
    ...referencedDatasources(dashboards),
  ]);
  if (!uids.size) return [fail('Grafana datasources provisioned', 'Grafana lists none')];
  const results: CheckResult[] = [];
  for (const uid of [...uids].sort()) {
    const ds = all.find((d) => d.uid === uid);
    const name = `Grafana datasource ${uid} healthy`;
    if (!ds) results.push(fail(name, 'a dashboard uses it, Grafana does not have it'));
    else results.push(...(await attempt(name, () => datasourceHealth(api, ds, name))));
  }
  return results;
}

export async function checkDashboards(
  api: GrafanaApi,
  dashboards: DashboardJson[],
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const d of dashboards) {
    const name = `Grafana dashboard ${d.uid} loads by uid`;
    results.push(
      ...(await attempt(name, async () => {
        const got = await api.get<{
          dashboard?: { uid?: string; title?: string };
          meta?: { provisioned?: boolean };
        }>(`/api/dashboards/uid/${encodeURIComponent(d.uid)}`);
        if (got.dashboard?.title !== d.title)
          return fail(name, `Grafana has "${got.dashboard?.title}", the repo "${d.title}"`);
        return got.meta?.provisioned
          ? pass(name, `"${d.title}"`)
          : fail(name, `"${d.title}" is there but not provisioned from grafana/dashboards`);
      })),
    );
  }
  return results;
}

export async function checkPanelQueries(
  api: GrafanaApi,
  dashboards: DashboardJson[],
): Promise<CheckResult[]> {
  const queries = grafanaQueries(dashboards);
  return Promise.all(
    dashboards.map(async (d) => {
      const name = `Grafana dashboard ${d.uid}: every panel query returns data (/api/ds/query)`;
      const mine = queries.filter((q) => q.dashboard === d.uid);
      const problems: string[] = [];
      for (const q of mine) {
        const where = `"${q.panel}" [${q.refId}]`;
        try {
          const outcome = queryOutcome(
            await api.post<QueryResponse>('/api/ds/query', q.body),
            q.refId,
          );
          if (outcome !== 'data')
            problems.push(`${where}: ${outcome === 'empty' ? 'no data' : outcome}`);
        } catch (err) {
          problems.push(`${where}: ${(err as Error).message}`);
        }
      }
      return problems.length
        ? fail(name, `${problems.length} of ${mine.length}: ${problems.join('; ')}`)
        : pass(name, `${mine.length} queries`);
    }),
  );
}

/** Every Grafana check, in the order a reader wants them. */
export async function grafanaChecks(
  url: string,
  auth: GrafanaAuth | undefined,
  dashboards: DashboardJson[],
): Promise<CheckResult[]> {
  const api = new GrafanaApi(url, auth);
  const health = await attempt('service grafana healthy', async () => {
    await call(`${url}/api/health`);
    return pass('service grafana healthy', `${url}/api/health answers`);
  });
  if (health[0]?.outcome === 'fail') return health;
  return [
    ...health,
    ...(await attempt('Grafana datasources', () => checkDatasources(api, dashboards))),
    ...(await checkDashboards(api, dashboards)),
    ...(await checkPanelQueries(api, dashboards)),
  ];
}
