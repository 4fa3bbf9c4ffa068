// Static checks of the generated dashboards: Grafana cannot run here, so everything it would
// complain about (or silently show wrong) is checked on the JSON. The live counterpart, every
// panel query returning data from a real Prometheus, is in the whole-stack test.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { dashboards, fileName, render } from '../../grafana/src/dashboards.ts';
import { JAEGER_UI, RUNBOOKS_URL, TAG, UIDS } from '../../grafana/src/links.ts';
import {
  DASHBOARDS_DIR,
  expandQuery,
  metricNames,
  paddingIn,
  panelQueries,
  panelsOf,
  readDashboards,
  syntaxErrors,
  type DashboardJson,
} from '../lib/panel-queries.ts';
import {
  appFamilies,
  externalNames,
  knownMetrics,
  rules,
  seriesNames,
} from '../lib/known-metrics.ts';

const DATASOURCES = join(REPO_ROOT, 'grafana/provisioning/datasources/datasources.yml');
const provisionedUids = (): string[] =>
  (parse(readFileSync(DATASOURCES, 'utf8')) as { datasources: { uid: string }[] }).datasources.map(
    (datasource) => datasource.uid,
  );

// Grafana's own datasource for the built-in "Annotations & Alerts"; it always exists.
const GRAFANA_BUILT_IN = '-- Grafana --';

/** Every `datasource` object anywhere in a dashboard (panels, targets, variables, annotations). */
const datasourceRefs = (node: unknown, found: { uid?: string }[] = []): { uid?: string }[] => {
  if (Array.isArray(node)) for (const item of node) datasourceRefs(item, found);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'datasource' && value && typeof value === 'object') found.push(value);
      else datasourceRefs(value, found);
    }
  }
  return found;
};

type Panel = ReturnType<typeof panelsOf>[number] & {
  id?: number;
  description?: string;
  links?: { url?: string }[];
  options?: { legend?: { showLegend?: boolean } };
  fieldConfig?: { defaults?: { unit?: string; thresholds?: { steps?: unknown[] } } };
};

/** Every PromQL text on a dashboard: panel targets, annotations, variable selectors. */
const promqlOf = (dashboard: DashboardJson): { where: string; expr: string }[] => [
  ...panelQueries({ scrapeIntervalSeconds: 15 })
    .filter((query) => query.dashboard === dashboard.uid)
    .map((query) => ({ where: `${query.panel} ${query.refId}`, expr: query.expanded })),
  ...(dashboard.annotations?.list ?? [])
    .filter((annotation) => annotation.expr !== undefined)
    .map((annotation) => ({
      where: `annotation ${annotation.name}`,
      expr: expandQuery(annotation.expr as string, [], { scrapeIntervalSeconds: 15 }),
    })),
  // (A custom variable lists its values, no PromQL: the service names of services.yml.)
  ...(dashboard.templating?.list ?? [])
    .filter((variable) => variable.type !== 'custom')
    .map((variable) => {
      const query = String((variable as { query?: unknown }).query);
      const selector = /^label_values\((.+),\s*\w+\)$/.exec(query)?.[1];
      assert.ok(
        selector,
        `variable $${variable.name}: expected label_values(<selector>, <label>), got ${query}`,
      );
      return { where: `variable $${variable.name}`, expr: selector };
    }),
];

const committed = readDashboards();

describe('generated dashboards', () => {
  it('are committed exactly as grafana/src generates them (run `make dashboards`)', () => {
    const generated = dashboards();
    const files = readdirSync(DASHBOARDS_DIR)
      .filter((name) => name.endsWith('.json'))
      .sort();
    assert.deepEqual(files, generated.map(fileName).sort(), 'files in grafana/dashboards/');
    for (const built of generated) {
      const onDisk = readFileSync(join(DASHBOARDS_DIR, fileName(built)), 'utf8');
      assert.ok(onDisk === render(built), `${fileName(built)} is stale: run make dashboards`);
    }
  });

  it('are the dashboards of UIDS, which the runbooks link to, all tagged for the link menu', () => {
    assert.deepEqual(committed.map((d) => d.uid).sort(), Object.values(UIDS).sort());
    for (const dashboard of committed) {
      assert.ok((dashboard as { tags?: string[] }).tags?.includes(TAG), dashboard.uid);
    }
  });

  it('reference only provisioned datasources, and every panel names its own', () => {
    const allowed = new Set([...provisionedUids(), GRAFANA_BUILT_IN]);
    for (const dashboard of committed) {
      for (const ref of datasourceRefs(dashboard)) {
        assert.ok(allowed.has(ref.uid ?? ''), `${dashboard.uid}: datasource uid ${ref.uid}`);
      }
      for (const panel of panelsOf(dashboard).filter((p) => p.type !== 'row')) {
        assert.ok(panel.datasource?.uid, `${dashboard.uid} / ${panel.title}: no datasource`);
      }
    }
  });

  it('give every panel a unique id, a description, a unit, thresholds and a visible legend', () => {
    for (const dashboard of committed) {
      const panels = panelsOf(dashboard) as Panel[];
      const ids = panels.map((panel) => panel.id);
      assert.equal(new Set(ids).size, ids.length, `${dashboard.uid}: duplicate panel ids`);
      for (const panel of panels.filter((p) => p.type !== 'row')) {
        const where = `${dashboard.uid} / ${panel.title}`;
        assert.ok(panel.description && panel.description.length > 20, `${where}: description`);
        // Log lines have no unit and no thresholds; every panel of numbers has both.
        if (panel.type !== 'logs') {
          assert.ok(panel.fieldConfig?.defaults?.unit, `${where}: unit`);
          assert.ok(panel.fieldConfig?.defaults?.thresholds?.steps?.length, `${where}: thresholds`);
        }
        // Where colours are the only key to the series (bar gauges and stats name theirs inline).
        if (panel.type === 'timeseries' || panel.type === 'state-timeline') {
          assert.equal(panel.options?.legend?.showLegend, true, `${where}: legend`);
        }
        assert.ok((panel.targets ?? []).length > 0, `${where}: no query`);
      }
    }
  });
});

describe('generated dashboards', function () {
  // The first test that asks for the app's metric families loads (transpiles) its modules.
  this.timeout(15_000);
  it('have PromQL that parses, names only known metrics and pads nothing with constants', async () => {
    const known = await knownMetrics();
    const problems: string[] = [];
    for (const dashboard of committed) {
      for (const { where, expr } of promqlOf(dashboard)) {
        const at = `${dashboard.uid} / ${where}: ${expr}`;
        for (const error of syntaxErrors(expr)) problems.push(`${at}\n  syntax error at ${error}`);
        const { names, errors } = metricNames(expr);
        for (const error of errors) problems.push(`${at}\n  ${error}`);
        for (const name of names) {
          if (!known.has(name)) problems.push(`${at}\n  unknown metric ${name}`);
        }
        for (const padding of paddingIn(expr)) problems.push(`${at}\n  padding: ${padding}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('show every metric family the app defines (add a panel when you add a metric)', async () => {
    const used = new Set(
      committed.flatMap((dashboard) =>
        promqlOf(dashboard).flatMap(({ expr }) => metricNames(expr).names),
      ),
    );
    const missing = (await appFamilies())
      .filter((family) => !seriesNames(family).some((name) => used.has(name)))
      .map((family) => family.name);
    assert.deepEqual(missing, []);
  });

  it('use every name in external-metrics.yml (drop the ones no panel reads)', () => {
    const used = new Set(
      committed.flatMap((dashboard) =>
        promqlOf(dashboard).flatMap(({ expr }) => metricNames(expr).names),
      ),
    );
    const datasourceQueries = readFileSync(DATASOURCES, 'utf8');
    const unused = Object.values(externalNames())
      .flat()
      .filter((name) => !used.has(name) && !datasourceQueries.includes(name));
    assert.deepEqual(unused, []);
  });

  it('ask for exemplars on the service overview’s latency panel', () => {
    const overview = panelQueries({ scrapeIntervalSeconds: 15 }).filter(
      (query) => query.dashboard === UIDS.serviceOverview && query.exemplar,
    );
    assert.ok(
      overview.some((query) => query.expr.includes('http_request_duration_seconds_bucket')),
      'no exemplar query on http_request_duration_seconds',
    );
  });
});

describe('generated dashboards', () => {
  it('link to the other dashboards and to Jaeger', () => {
    for (const dashboard of committed) {
      const links =
        (dashboard as { links?: { type: string; url?: string; tags?: string[] }[] }).links ?? [];
      assert.ok(
        links.some((link) => link.type === 'dashboards' && link.tags?.includes(TAG)),
        `${dashboard.uid}: no link menu of the ${TAG} dashboards`,
      );
      assert.ok(
        links.some((link) => link.url === JAEGER_UI),
        `${dashboard.uid}: no Jaeger link`,
      );
    }
  });

  it('link panels only to runbooks that alert rules name as their runbook_url', () => {
    const alertRunbooks = new Set(
      rules().flatMap((rule) =>
        rule.annotations?.runbook_url ? [rule.annotations.runbook_url] : [],
      ),
    );
    const panelRunbooks = committed.flatMap((dashboard) =>
      (panelsOf(dashboard) as Panel[]).flatMap((panel) =>
        (panel.links ?? [])
          .map((link) => link.url ?? '')
          .filter((url) => url.startsWith(RUNBOOKS_URL))
          .map((url) => ({ where: `${dashboard.uid} / ${panel.title}`, url })),
      ),
    );
    assert.ok(panelRunbooks.length > 10, 'expected runbook links on the panels');
    const orphans = panelRunbooks.filter(({ url }) => !alertRunbooks.has(url));
    assert.deepEqual(orphans, []);
  });

  // The run-failure alert (recording.yml: agent:agent_run_failures:ratio_rate5m) leaves
  // rejected runs out of its denominator: they never started. The stat must count the same.
  it('Run success ratio divides by started runs, as the run-failure alert does', () => {
    const llm = committed.find((dashboard) => dashboard.uid === 'agent-llm');
    assert.ok(llm, 'the agent-llm dashboard');
    const [query] = promqlOf(llm).filter(({ where }) => where.startsWith('Run success ratio '));
    assert.ok(query, 'a query on the Run success ratio panel');
    const denominator = query.expr.slice(query.expr.lastIndexOf('/'));
    assert.match(denominator, /agent_runs_total\{[^}]*status!="rejected"/, query.expr);
  });
});
