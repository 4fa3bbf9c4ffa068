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
  timeseriesWithLimits,
  valueMappings,
} from './common.ts';
import { UIDS, jaegerSearch, runbook, toDashboard } from './links.ts';

// The SLI's routes: only the API under /v1/ counts (SPEC 6), not health, metrics or admin.
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
      .withPanel(errorBudgetRemaining().span(6).height(5))
      .withPanel(apiErrorRatio().span(6).height(5))
      .withPanel(requestRateTotal().span(4).height(5))
      .withPanel(apiLatencyP95().span(4).height(5))
      .withPanel(inFlightNow().span(4).height(5))
      .withRow(new dashboard.RowBuilder('Requests by route'))
      .withPanel(requestRateByRoute().span(8).height(8))
      .withPanel(errorRatioByRoute().span(8).height(8))
      .withPanel(latencyByRoute().span(8).height(8))
      .withPanel(responsesByStatus().span(8).height(8))
      .withPanel(latencyP95AsAlerted().span(8).height(8))
      .withPanel(inFlightOverTime().span(8).height(8))
      .withRow(new dashboard.RowBuilder('Rejected requests'))
      .withPanel(rateLimitRejections().span(12).height(7))
      .withPanel(authFailures().span(12).height(7))
      .withRow(new dashboard.RowBuilder('Dependencies and health'))
      .withPanel(dbLatency().span(8).height(8))
      .withPanel(dbErrors().span(8).height(8))
      .withPanel(healthChecks().span(8).height(8))
      .withPanel(buildInfo().span(24).height(4)),
  );

export const errorBudgetRemaining = () =>
  statPanel()
    .title('Error budget remaining')
    .description(
      'Share of the SLO’s error budget not yet spent in the SLO window (recording rule slo:error_budget_remaining:ratio). ' +
        '100 % = no errors; 0 % = budget spent; negative = the SLO is broken.',
    )
    .unit('percentunit')
    .decimals(1)
    .thresholds(thresholds([null, RED], [0, ORANGE], [0.25, YELLOW], [0.5, GREEN]))
    .withTarget(promQuery('slo:error_budget_remaining:ratio', 'budget remaining'))
    .links([
      toDashboard(UIDS.sloAlerts, 'SLO and alerts'),
      runbook('ErrorBudgetBurn.md', 'error budget burn'),
    ]);

export const apiErrorRatio = () =>
  statPanel()
    .title('API error ratio (5m)')
    .description(
      'Share of API requests (routes under /v1/) answered with a 5xx over the last 5 minutes: the SLI as the alerts see it ' +
        '(recording rule slo:api_request_errors:ratio_rate5m). Orange from 0.5 % (the whole budget of a 99.5 % SLO), red from 7.2 % (14.4× burn).',
    )
    .unit('percentunit')
    .decimals(2)
    .thresholds(thresholds([null, GREEN], [0.005, ORANGE], [0.072, RED]))
    .withTarget(promQuery('slo:api_request_errors:ratio_rate5m', '5xx ratio'))
    .links([runbook('ErrorBudgetBurn.md', 'error budget burn')]);

export const requestRateTotal = () =>
  statPanel()
    .title('Requests')
    .description('Requests per second on every route, health checks and scrapes included.')
    .unit('reqps')
    .withTarget(promQuery(`sum(rate(http_requests_total{${APP}}[$__rate_interval]))`, 'requests'));

export const apiLatencyP95 = () =>
  statPanel()
    .title('API latency p95')
    .description(
      '95th percentile of API request duration across every /v1/ route (agent runs included, which take seconds).',
    )
    .unit('s')
    .thresholds(thresholds([null, GREEN], [2, ORANGE], [10, RED]))
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
      'Requests per second per route template (never raw paths; unknown paths count as "unmatched").',
    )
    .unit('reqps')
    .withTarget(
      promQuery(
        `sum by (route) (rate(http_requests_total{${ROUTES}}[$__rate_interval]))`,
        '{{route}}',
      ),
    );

export const errorRatioByRoute = () =>
  timeseriesWithLimits()
    .title('5xx ratio by route')
    .description(
      'Share of each route’s requests answered with a 5xx. The dashed line is the 99.5 % SLO’s whole budget (0.5 %); 4xx (bad input, auth, rate limits) are the caller’s errors and do not count.',
    )
    .unit('percentunit')
    .max(1)
    .thresholds(thresholds([null, GREEN], [0.005, RED]))
    .withTarget(
      promQuery(
        `sum by (route) (rate(http_requests_total{${ROUTES}, status_code=~"5.."}[$__rate_interval]))\n` +
          `/ sum by (route) (rate(http_requests_total{${ROUTES}}[$__rate_interval]))`,
        '{{route}}',
      ),
    )
    .links([
      runbook('ErrorBudgetBurn.md', 'error budget burn'),
      jaegerSearch('find failing requests'),
    ]);

export const latencyByRoute = () =>
  timeseriesPanel()
    .title('Latency p95 by route, with exemplars')
    .description(
      '95th percentile request duration per route. The dots are exemplars: sampled requests with their trace id; click one to open its trace in Jaeger.',
    )
    .unit('s')
    .withTarget(
      promQuery(
        `histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{${ROUTES}}[$__rate_interval])))`,
        '{{route}}',
      ).exemplar(true),
    )
    .links([runbook('HighLatencyP95.md', 'high latency'), jaegerSearch('slow requests')]);

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

export const latencyP95AsAlerted = () =>
  timeseriesPanel()
    .title('Latency p95 by route (5m, as alerted)')
    .description(
      'The recording rule route:http_request_duration_seconds:p95_rate5m that the latency alerts compare against their per-route thresholds (agent runs have their own).',
    )
    .unit('s')
    .withTarget(
      promQuery('route:http_request_duration_seconds:p95_rate5m{route=~"$route"}', '{{route}}'),
    )
    .links([runbook('HighLatencyP95.md', 'high latency')]);

export const inFlightOverTime = () =>
  timeseriesPanel()
    .title('Requests in flight')
    .description('Concurrent requests over time, per app instance.')
    .unit('short')
    .decimals(0)
    .withTarget(promQuery(`sum by (instance) (http_requests_in_flight{${APP}})`, '{{instance}}'));

export const rateLimitRejections = () =>
  timeseriesPanel()
    .title('Rate-limit rejections by tier')
    .description('Requests answered 429 because the API key’s tier was over its rate.')
    .unit('reqps')
    .withTarget(
      promQuery(
        `sum by (tier) (rate(rate_limit_rejections_total{${APP}}[$__rate_interval]))`,
        '{{tier}}',
      ),
    )
    .links([runbook('RateLimitRejectionsSpike.md', 'rate-limit rejections spike')]);

export const authFailures = () =>
  timeseriesPanel()
    .title('Authentication failures by reason')
    .description(
      'Requests refused for a missing or wrong API key, or a wrong admin token: a spike can be an attack.',
    )
    .unit('reqps')
    .withTarget(
      promQuery(
        `sum by (reason) (rate(auth_failures_total{${APP}}[$__rate_interval]))`,
        '{{reason}}',
      ),
    )
    .links([runbook('AuthFailureSpike.md', 'authentication failure spike')]);

export const dbLatency = () =>
  timeseriesWithLimits()
    .title('Database query p95 by operation')
    .description(
      '95th percentile SQLite query duration. The dashed line is the slow-query alert threshold (500 ms).',
    )
    .unit('s')
    .thresholds(thresholds([null, GREEN], [0.5, RED]))
    .withTarget(
      promQuery(
        `histogram_quantile(0.95, sum by (le, operation) (rate(db_query_duration_seconds_bucket{${APP}}[$__rate_interval])))`,
        '{{operation}}',
      ),
    )
    .links([runbook('DatabaseSlowQueries.md', 'slow database queries')]);

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
    .links([runbook('DatabaseDown.md', 'database down')]);

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
    .withTarget(promQuery(`min by (check) (health_check_status{${APP}})`, '{{check}}'));

export const buildInfo = () =>
  tablePanel()
    .title('Running version')
    .description('Version, commit and Node.js version of each app instance (app_build_info).')
    .unit('short')
    .withTarget(tableQuery(`app_build_info{${APP}}`))
    .withTransformation(hideColumns('Time', 'Value', '__name__'));
