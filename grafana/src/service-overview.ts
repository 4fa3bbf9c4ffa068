// Service overview: is the API answering, how fast, how much of the error budget is left.
// RED (rate, errors, duration) per route, saturation, and the service's own dependencies.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  APP,
  GREEN,
  ORANGE,
  RED,
  YELLOW,
  agentDashboard,
  finish,
  hideColumns,
  labelVariable,
  promQuery,
  stateTimelinePanel,
  statPanel,
  tablePanel,
  tableQuery,
  thresholds,
  timeseriesPanel,
  valueMappings,
  withLimits,
} from './common.ts';
import { UIDS, jaegerSearch, runbook, toDashboard, withTraceWindow } from './links.ts';
import { serviceLogs } from './logs.ts';

// The SLI's routes: only the API under /v1/ counts (docs/alerting.md), not health, metrics or admin.
const API_ROUTES = 'route=~"/v1/.*"';
const ROUTES = `${APP}, route=~"$route"`;

export const serviceOverview = (): dashboard.Dashboard =>
  finish(
    agentDashboard(
      UIDS.serviceOverview,
      'Agent service / Overview',
      'RED metrics per route, saturation, error budget and the health of the service’s dependencies.',
    )
      .withVariable(labelVariable('route', 'Route', `http_requests_total{${APP}}`))
      .withRow(new dashboard.RowBuilder('Service level'))
      .withPanel(errorBudgetRemaining().span(5).height(5))
      .withPanel(burnRate1h().span(5).height(5))
      .withPanel(requestRate().span(5).height(5))
      .withPanel(apiLatencyP95().span(5).height(5))
      .withPanel(inFlightNow().span(4).height(5))
      .withRow(new dashboard.RowBuilder('Requests by route'))
      .withPanel(requestRateByRoute().span(8).height(8))
      .withPanel(errorRatioByRoute().span(8).height(8))
      .withPanel(latencyByRoute().span(8).height(8))
      .withPanel(responsesByStatus().span(8).height(8))
      .withPanel(latencyAsAlerted().span(8).height(8))
      .withPanel(inFlightOverTime().span(8).height(8))
      .withRow(new dashboard.RowBuilder('Rejected requests'))
      .withPanel(rateLimitRejections().span(12).height(7))
      .withPanel(authFailures().span(12).height(7))
      .withRow(new dashboard.RowBuilder('Dependencies and health'))
      .withPanel(dbLatency().span(8).height(8))
      .withPanel(dbErrors().span(8).height(8))
      .withPanel(healthChecks().span(8).height(8))
      .withPanel(buildInfo().span(24).height(4))
      .withRow(new dashboard.RowBuilder('Logs'))
      .withPanel(serviceLogs().span(24).height(10)),
  );

export const errorBudgetRemaining = () =>
  statPanel()
    .title('Error budget remaining')
    .description(
      'Share of the 30-day error budget not yet spent (recording rule slo:error_budget_remaining:ratio): 100 % = no errors, 0 % = spent, negative = the SLO is broken.',
    )
    .unit('percentunit')
    .decimals(1)
    .thresholds(thresholds([null, RED], [0, ORANGE], [0.25, YELLOW], [0.5, GREEN]))
    .withTarget(promQuery('slo:error_budget_remaining:ratio', 'budget remaining'))
    .links([toDashboard(UIDS.sloAlerts, 'SLO and alerts'), runbook('ErrorBudgetBurn')]);

export const burnRate1h = () =>
  statPanel()
    .title('Budget burn rate (1h)')
    .description(
      'API 5xx ratio over the last hour divided by the ratio the SLO allows: 1× spends the budget exactly in 30 days, 14.4× (red) pages when the last 5 minutes agree.',
    )
    .unit('suffix:×')
    .decimals(2)
    .thresholds(thresholds([null, GREEN], [1, YELLOW], [6, ORANGE], [14.4, RED]))
    .withTarget(
      promQuery('slo:api_request_errors:ratio_rate1h / slo:error_budget:ratio', 'burn rate'),
    )
    .links([toDashboard(UIDS.sloAlerts, 'SLO and alerts'), runbook('ErrorBudgetBurn')]);

export const requestRate = () =>
  statPanel()
    .title('Requests')
    .description('Requests per second on every route, health checks and scrapes included.')
    .unit('reqps')
    .withTarget(promQuery(`sum(rate(http_requests_total{${APP}}[$__rate_interval]))`, 'requests'))
    .links([runbook('ServiceDown')]);

export const apiLatencyP95 = () =>
  statPanel()
    .title('API latency p95')
    .description(
      '95th percentile duration of API requests (every /v1/ route, agent runs included, which take seconds).',
    )
    .unit('s')
    .withTarget(
      promQuery(
        `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${APP}, ${API_ROUTES}}[$__rate_interval])))`,
        'p95',
      ),
    );

export const inFlightNow = () =>
  statPanel()
    .title('In flight')
    .description(
      'Requests being served right now: a queue building up shows here before latency rises.',
    )
    .unit('short')
    .decimals(0)
    .withTarget(promQuery(`sum(http_requests_in_flight{${APP}})`, 'in flight'));

export const requestRateByRoute = () =>
  timeseriesPanel()
    .title('Request rate by route')
    .description(
      'Requests per second per route template (never raw paths; paths no route matches count as "unmatched").',
    )
    .unit('reqps')
    .withTarget(
      promQuery(
        `sum by (route) (rate(http_requests_total{${ROUTES}}[$__rate_interval]))`,
        '{{route}}',
      ),
    );

export const errorRatioByRoute = () =>
  withLimits(
    timeseriesPanel()
      .title('5xx ratio by route (5m)')
      .description(
        'Share of each route’s requests answered with a 5xx over 5 minutes (recording rule route:http_request_errors:ratio_rate5m). The dashed line is the share the SLO allows over 30 days; 4xx (bad input, auth, rate limits) are the caller’s errors and do not count.',
      )
      .unit('percentunit')
      .max(1)
      .withTarget(promQuery('route:http_request_errors:ratio_rate5m{route=~"$route"}', '{{route}}'))
      .links([
        runbook('ErrorBudgetBurn'),
        jaegerSearch('failed requests', { tags: '{"error":"true"}' }),
      ]),
    { refId: 'B', expr: 'slo:error_budget:ratio', legend: 'SLO budget' },
  );

export const latencyByRoute = () =>
  timeseriesPanel()
    .title('Latency p95 by route, with exemplars')
    .description(
      withTraceWindow(
        '95th percentile request duration per route. The dots are exemplars: sampled requests with their trace id; click one to open its trace. With tail sampling on (COLLECTOR_TAIL_SAMPLING=on), Jaeger keeps failed and slow requests and a tenth of the rest, so the trace of an ordinary request may be missing.',
      ),
    )
    .unit('s')
    .withTarget(
      promQuery(
        `histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{${ROUTES}}[$__rate_interval])))`,
        '{{route}}',
      ).exemplar(true),
    )
    .links([jaegerSearch('requests slower than 2 s', { minDuration: '2s' })]);

export const responsesByStatus = () =>
  timeseriesPanel()
    .title('Responses by status code')
    .description(
      'Responses per second by HTTP status code, stacked: 4xx are rejected input, 5xx are the service’s failures.',
    )
    .unit('reqps')
    .fillOpacity(40)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
    .withTarget(
      promQuery(
        `sum by (status_code) (rate(http_requests_total{${ROUTES}}[$__rate_interval]))`,
        '{{status_code}}',
      ),
    );

export const latencyAsAlerted = () =>
  withLimits(
    timeseriesPanel()
      .title('Latency p95 by route (5m, as alerted)')
      .description(
        'The recording rule route:http_request_duration_seconds:p95_rate5m that the latency alerts compare with their limits (dashed): one for the API routes, a higher one for agent runs.',
      )
      .unit('s')
      .withTarget(
        promQuery('route:http_request_duration_seconds:p95_rate5m{route=~"$route"}', '{{route}}'),
      )
      .links([runbook('HighLatencyP95'), runbook('HighAgentRunLatencyP95')]),
    { refId: 'B', expr: 'threshold:api_latency_p95_seconds', legend: 'API limit' },
    { refId: 'C', expr: 'threshold:agent_run_latency_p95_seconds', legend: 'agent run limit' },
  );

export const inFlightOverTime = () =>
  timeseriesPanel()
    .title('Requests in flight')
    .description('Concurrent requests over time, per app instance.')
    .unit('short')
    .decimals(0)
    .withTarget(promQuery(`sum by (instance) (http_requests_in_flight{${APP}})`, '{{instance}}'));

export const rateLimitRejections = () =>
  withLimits(
    timeseriesPanel()
      .title('Rate-limit rejections by tier')
      .description(
        'Requests answered 429 because the API key’s tier was over its rate. The dashed line is the alert limit, per tier.',
      )
      .unit('reqps')
      .withTarget(
        promQuery(
          `sum by (tier) (rate(rate_limit_rejections_total{${APP}}[$__rate_interval]))`,
          '{{tier}}',
        ),
      )
      .links([runbook('RateLimitRejectionsSpike')]),
    { refId: 'B', expr: 'threshold:rate_limit_rejections_per_second', legend: 'limit' },
  );

export const authFailures = () =>
  withLimits(
    timeseriesPanel()
      .title('Authentication failures by reason')
      .description(
        'Requests refused for a missing or wrong API key or admin token: a spike can be an attack. The dashed line is the alert limit, per reason.',
      )
      .unit('reqps')
      .withTarget(
        promQuery(
          `sum by (reason) (rate(auth_failures_total{${APP}}[$__rate_interval]))`,
          '{{reason}}',
        ),
      )
      .links([runbook('AuthFailureSpike')]),
    { refId: 'B', expr: 'threshold:auth_failures_per_second', legend: 'limit' },
  );

export const dbLatency = () =>
  withLimits(
    timeseriesPanel()
      .title('Database query p95 by operation')
      .description(
        '95th percentile SQLite query duration. The dashed line is the slow-query alert limit.',
      )
      .unit('s')
      .withTarget(
        promQuery(
          `histogram_quantile(0.95, sum by (le, operation) (rate(db_query_duration_seconds_bucket{${APP}}[$__rate_interval])))`,
          '{{operation}}',
        ),
      )
      .links([runbook('DatabaseSlowQueries')]),
    { refId: 'B', expr: 'threshold:db_query_latency_p95_seconds', legend: 'limit' },
  );

export const dbErrors = () =>
  timeseriesPanel()
    .title('Database errors by operation')
    .description('Failed SQLite queries per second.')
    .unit('ops')
    .withTarget(
      promQuery(
        `sum by (operation) (rate(db_errors_total{${APP}}[$__rate_interval]))`,
        '{{operation}}',
      ),
    )
    .links([runbook('DatabaseDown')]);

export const healthChecks = () =>
  stateTimelinePanel()
    .title('Health checks')
    .description(
      'The checks behind GET /health: database, LLM provider (circuit), disk, memory, event loop.',
    )
    .unit('short')
    .mappings(
      valueMappings({ '1': { text: 'ok', color: GREEN }, '0': { text: 'failing', color: RED } }),
    )
    .thresholds(thresholds([null, RED], [1, GREEN]))
    .withTarget(promQuery(`min by (check) (health_check_status{${APP}})`, '{{check}}'))
    // Disk, memory and a restarting or OOM-killed container: the machine under the service.
    .links([runbook('DatabaseDown'), toDashboard(UIDS.containersHost, 'Containers and host')]);

export const buildInfo = () =>
  tablePanel()
    .title('Running version')
    .description('Version, commit and Node.js version of each app instance (app_build_info).')
    .unit('short')
    .withTarget(tableQuery(`app_build_info{${APP}}`))
    .withTransformation(hideColumns('Time', 'Value', '__name__'));
