// The service's log lines, from VictoriaLogs (docs/decisions/0011-log-store.md): a logs panel
// for the dashboards, querying the datasource provisioned with uid `victorialogs`
// (plugin victoriametrics-logs-datasource) in LogsQL.
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as logs from '@grafana/grafana-foundation-sdk/logs';
import { DEMO_SERVICE_NAME } from './demo.ts';
import { withTraceWindow } from './links.ts';

export const VICTORIALOGS: dashboard.DataSourceRef = {
  type: 'victoriametrics-logs-datasource',
  uid: 'victorialogs',
};

// The app's stream: the Collector makes service.name the stream field
// (otel-collector/config.yaml, VL-Stream-Fields), so this selects the stream, not every line.
export const APP_STREAM = `{service.name="${DEMO_SERVICE_NAME}"}`;

/**
 * A LogsQL query target (the plugin's query model: expr, queryType "instant" = the lines,
 * /select/logsql/query). Plain object: the SDK has no builder for this plugin's queries.
 */
export const logsQuery = (expr: string, refId = 'A'): cog.Builder<cog.Dataquery> => ({
  build: () => ({
    refId,
    datasource: VICTORIALOGS,
    expr,
    queryType: 'instant',
    // The SDK's marker for "a query of some datasource"; not serialised (JSON drops functions).
    _implementsDataqueryVariant: () => {},
  }),
});

/**
 * The request lines of the routes the dashboard's `route` variable selects, with every other
 * line of the service when it is "All". `${route:pipe}` is Grafana's own format (the plugin
 * leaves explicitly formatted variables alone): one route as it is, several as a|b, All as the
 * variable's allValue `.*`, which also matches the lines without a route field (LogsQL reads a
 * missing field as ""). Not `:regex`: it escapes "/" as "\/", which a LogsQL quoted string
 * refuses; route templates hold no regexp metacharacters. Anchored: LogsQL regexps match
 * anywhere in a value.
 */
export const SERVICE_LOGS_EXPR = `${APP_STREAM} route:~"^(\${route:pipe})$"`;

export const serviceLogs = (): logs.PanelBuilder =>
  new logs.PanelBuilder()
    .title('Service logs')
    .description(
      withTraceWindow(
        'The log lines of the agent service (OTLP log records, through the Collector into VictoriaLogs), for the selected routes. Each line carries its request_id, trace_id and span_id: “View trace” on a line opens its trace in Jaeger; Jaeger links a span back to these lines.',
      ),
    )
    .datasource(VICTORIALOGS)
    .withTarget(logsQuery(SERVICE_LOGS_EXPR))
    .showTime(true)
    .wrapLogMessage(true)
    .enableLogDetails(true)
    .sortOrder(common.LogsSortOrder.Descending)
    .dedupStrategy(common.LogsDedupStrategy.None);
