// Where the dashboards link to: each other, Jaeger, Alertmanager and the runbooks.
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';

// Dashboard uids: fixed, because the runbooks link to /d/<uid>.
export const UIDS = {
  serviceOverview: 'agent-service-overview',
  agentsLlm: 'agent-llm',
  sloAlerts: 'agent-slo-alerts',
  runtimeStack: 'agent-runtime-stack',
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

// Runbooks are Markdown files in the repo (docs/runbooks/<alert>.md), the same files the
// alert rules' runbook_url annotations name (prometheus/rules/*.yml).
export const RUNBOOKS_URL =
  'https://github.com/agent-observability/agent-observability-stack/blob/main/docs/runbooks';

/** Panel link to the runbook for the alert that watches what the panel shows. */
export const runbook = (file: string, what: string): cog.Builder<dashboard.DashboardLink> =>
  panelLink(`Runbook: ${what}`, `${RUNBOOKS_URL}/${file}`);

/** Panel link to a Grafana dashboard, keeping the time range and the variables. */
export const toDashboard = (uid: string, title: string): cog.Builder<dashboard.DashboardLink> =>
  dashboardLink({
    title,
    type: dashboard.DashboardLinkType.Link,
    url: `/d/${uid}`,
    keepTime: true,
    includeVars: true,
  });

/** Panel link to Jaeger's search for this service's traces. */
export const jaegerSearch = (what: string): cog.Builder<dashboard.DashboardLink> =>
  panelLink(`Traces in Jaeger: ${what}`, `${JAEGER_UI}/search`);

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
