// Where the dashboards link to: each other, Jaeger, Alertmanager and the runbooks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import YAML from 'yaml';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { DEMO_RUNBOOKS_URL, DEMO_SERVICE_NAME } from './demo.ts';

// Dashboard uids: fixed, because the runbooks link to /d/<uid>.
export const UIDS = {
  serviceOverview: 'agent-service-overview',
  agentsLlm: 'agent-llm',
  sloAlerts: 'agent-slo-alerts',
  runtimeStack: 'agent-runtime-stack',
  genAi: 'agent-genai',
  containersHost: 'agent-containers-host',
} as const;

// Every dashboard carries this tag; the "Agent service" link menu lists the tagged ones.
export const TAG = 'agent-service';

/** A link shown in a panel's header menu, opened in a new tab. */
export const panelLink = (title: string, url: string): cog.Builder<dashboard.DashboardLink> =>
  dashboardLink({ title, url, type: dashboard.DashboardLinkType.Link, targetBlank: true });

/**
 * A dashboard or panel link. Built by hand rather than with DashboardLinkBuilder because the
 * builder's default placement ("inControlsMenu") would tuck the links away in Grafana 12's
 * controls menu instead of showing them beside the time picker.
 */
export const dashboardLink = (
  link: Pick<dashboard.DashboardLink, 'title' | 'type'> & Partial<dashboard.DashboardLink>,
): cog.Builder<dashboard.DashboardLink> => ({
  build: () => ({
    icon: link.type === dashboard.DashboardLinkType.Dashboards ? 'dashboard' : 'external link',
    tooltip: '',
    tags: [],
    asDropdown: false,
    targetBlank: false,
    includeVars: false,
    keepTime: false,
    ...link,
  }),
});

// UIs as the browser reaches them: the host ports `make up` and `make native` publish
// (docs/architecture.md). A fork that serves them elsewhere changes them here.
export const JAEGER_UI = 'http://localhost:16686';
export const ALERTMANAGER_UI = 'http://localhost:9093';

// Runbooks are Markdown files in the repo, docs/runbooks/<AlertName>.md, the same URLs as
// the runbook_url annotations of the alert rules (prometheus/rules/alerts.yml), which a
// test checks: both take the base from the demo's runbook_base in services.yml.
export const RUNBOOKS_URL = DEMO_RUNBOOKS_URL;

/** Panel link to the runbook of the alert that watches what the panel shows. */
export const runbook = (alert: string): cog.Builder<dashboard.DashboardLink> =>
  panelLink(`Runbook: ${alert}`, `${RUNBOOKS_URL}/${alert}.md`);

/** Panel link to another of these dashboards, keeping the time range on display. */
export const toDashboard = (uid: string, title: string): cog.Builder<dashboard.DashboardLink> =>
  dashboardLink({
    title,
    type: dashboard.DashboardLinkType.Link,
    // A data-link macro Grafana fills with from=…&to=… when the link is clicked.
    url: `/d/${uid}?\${__url_time_range}`,
  });

/**
 * How far back a trace link (an exemplar, a log line's trace id) reaches: Jaeger deletes each
 * span this long after it was written, the ttl of its Badger store in jaeger/config.yaml, read
 * when the dashboards are generated.
 */
function traceRetention(): string {
  const config = YAML.parse(readFileSync(join(REPO_ROOT, 'jaeger/config.yaml'), 'utf8')) as {
    extensions: {
      jaeger_storage: { backends: Record<string, { badger?: { ttl?: { spans?: string } } }> };
    };
  };
  const ttls = Object.values(config.extensions.jaeger_storage.backends).flatMap(
    (b) => b.badger?.ttl?.spans ?? [],
  );
  if (ttls.length !== 1)
    throw new Error('jaeger/config.yaml: expected one Badger store with a ttl');
  return ttls[0].replace(/^(\d+)h$/, '$1 hours');
}

/** A panel description, with how far back its trace links reach. */
export const withTraceWindow = (description: string): string =>
  `${description} Trace links reach back ${traceRetention()}: Jaeger keeps spans that long (jaeger/config.yaml).`;

// The app's service.name (its entry's name, its OTEL_SERVICE_NAME default in app/src/config.ts):
// the service Jaeger lists its spans under.
const SERVICE = DEMO_SERVICE_NAME;

/**
 * Panel link to Jaeger's trace search for the service. `filters` are Jaeger UI search
 * parameters, e.g. { tags: '{"error":"true"}' } (spans with error status) or
 * { minDuration: '2s' }.
 */
export const jaegerSearch = (
  title: string,
  filters: Record<string, string> = {},
): cog.Builder<dashboard.DashboardLink> => {
  const query = new URLSearchParams({ service: SERVICE, lookback: '1h', ...filters });
  return panelLink(`Jaeger: ${title}`, `${JAEGER_UI}/search?${query}`);
};

/** The links beside every dashboard's time picker. */
export const dashboardLinks = (): cog.Builder<dashboard.DashboardLink>[] => [
  dashboardLink({
    title: 'Agent service',
    type: dashboard.DashboardLinkType.Dashboards,
    tags: [TAG],
    asDropdown: true,
    keepTime: true,
  }),
  dashboardLink({
    title: 'Jaeger',
    type: dashboard.DashboardLinkType.Link,
    url: JAEGER_UI,
    targetBlank: true,
    tooltip: 'Trace search and Service Performance Monitoring',
  }),
  dashboardLink({
    title: 'Alertmanager',
    type: dashboard.DashboardLinkType.Link,
    url: ALERTMANAGER_UI,
    targetBlank: true,
    tooltip: 'Active alerts, silences and inhibitions',
  }),
  dashboardLink({
    title: 'Runbooks',
    type: dashboard.DashboardLinkType.Link,
    url: RUNBOOKS_URL,
    targetBlank: true,
    icon: 'doc',
  }),
];
