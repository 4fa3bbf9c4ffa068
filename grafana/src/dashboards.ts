// The dashboards this repo provisions, and how each is written to disk. Shared by the
// generator (index.ts) and the test that the committed JSON is what the code generates.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { agentsLlm } from './agents-llm.ts';
import { containersHost } from './containers-host.ts';
import { genAi } from './genai.ts';
import { runtimeStack } from './runtime-stack.ts';
import { serviceOverview } from './service-overview.ts';
import { sloAlerts } from './slo-alerts.ts';

export const dashboards = (): dashboard.Dashboard[] => [
  serviceOverview(),
  agentsLlm(),
  sloAlerts(),
  runtimeStack(),
  genAi(),
  containersHost(),
];

/** File name under grafana/dashboards/: the uid, so a runbook's /d/<uid> link names the file. */
export const fileName = (built: dashboard.Dashboard): string => `${built.uid}.json`;

/** The exact bytes committed: stable key order from the builders, two-space indent, final newline. */
export const render = (built: dashboard.Dashboard): string => `${JSON.stringify(built, null, 2)}\n`;
