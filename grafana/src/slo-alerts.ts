// SLO and alerts: the availability SLO (objective, budget, burn rates over the windows the
// multi-window alerts use) and what is firing right now.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  GREEN,
  ORANGE,
  RED,
  YELLOW,
  agentDashboard,
  barGaugePanel,
  finish,
  hideColumns,
  promQuery,
  statPanel,
  tablePanel,
  tableQuery,
  thresholds,
  timeseriesPanel,
  timeseriesWithLimits,
  withLimits,
} from './common.ts';
import { UIDS, runbook } from './links.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { loadServices, serviceNames } from '../../scripts/lib/services.ts';

// Burn rate = error ratio over a window ÷ the error ratio the SLO allows (1 − objective).
// 1 spends the budget exactly over the SLO window; 14.4 spends 2 % of it in an hour.
// Both recorded series are label-free, so they divide one to one.
const burnRate = (window: string): string =>
  `slo:api_request_errors:ratio_rate${window} / slo:error_budget:ratio`;

// SRE workbook thresholds, the same as the burn-rate alerts (prometheus/rules/):
// page at 14.4× (1h and 5m) and 6× (6h and 30m), ticket at 3× (1d and 2h) and 1× (3d and 6h).
const BURN_THRESHOLDS = thresholds([null, GREEN], [1, YELLOW], [6, ORANGE], [14.4, RED]);

export const sloAlerts = (): dashboard.Dashboard =>
  finish(
    agentDashboard(
      UIDS.sloAlerts,
      'Agent service / SLO and alerts',
      'Availability SLO of the API (share of /v1/ requests answered without a 5xx), the synthetic probe of the public API beside it: budgets, burn rates per alert window, and the alerts firing now.',
    )
      .withRow(new dashboard.RowBuilder('Error budget'))
      .withPanel(objective().span(6).height(6))
      .withPanel(budgetRemaining().span(6).height(6))
      .withPanel(budgetOverTime().span(12).height(6))
      .withRow(new dashboard.RowBuilder('Burn rate'))
      .withPanel(burnRateByWindow().span(8).height(8))
      .withPanel(fastBurn().span(8).height(8))
      .withPanel(slowBurn().span(8).height(8))
      .withRow(new dashboard.RowBuilder('Synthetic probe and scrapes'))
      .withPanel(probeSuccess().span(12).height(8))
      .withPanel(probeBudgetRemaining().span(4).height(8))
      .withPanel(scrapeFailures().span(8).height(8))
      .withVariable(serviceVariable())
      .withRow(new dashboard.RowBuilder('Services (services.yml)'))
      .withPanel(serviceErrorRatio().span(8).height(8))
      .withPanel(serviceSlowRatio().span(8).height(8))
      .withPanel(serviceGenAiErrorRatio().span(8).height(8))
      .withRow(new dashboard.RowBuilder('Alerts'))
      .withPanel(firingAlerts().span(24).height(8))
      .withPanel(alertsByState().span(12).height(8))
      .withPanel(alertmanagerAlerts().span(12).height(8)),
  );

export const objective = () =>
  statPanel()
    .title('Objective')
    .description(
      'Target share of API requests answered without a 5xx over the SLO window (recording rule slo:objective:ratio).',
    )
    .unit('percentunit')
    .decimals(2)
    .withTarget(promQuery('slo:objective:ratio', 'objective'));

export const budgetRemaining = () =>
  statPanel()
    .title('Error budget remaining')
    .description(
      'Share of the error budget not yet spent in the SLO window (slo:error_budget_remaining:ratio). Negative means the SLO is already broken for this window.',
    )
    .unit('percentunit')
    .decimals(1)
    .thresholds(thresholds([null, RED], [0, ORANGE], [0.25, YELLOW], [0.5, GREEN]))
    .withTarget(promQuery('slo:error_budget_remaining:ratio', 'remaining'))
    .links([runbook('ErrorBudgetBurn')]);

export const budgetOverTime = () =>
  timeseriesPanel()
    .title('Error budget remaining over time')
    .description(
      'How the remaining budget moved: a steep drop is a burn the alerts should have caught.',
    )
    .unit('percentunit')
    .max(1)
    .thresholds(thresholds([null, RED], [0, ORANGE], [0.25, YELLOW], [0.5, GREEN]))
    .withTarget(promQuery('slo:error_budget_remaining:ratio', 'remaining'));

export const burnRateByWindow = () =>
  barGaugePanel()
    .title('Burn rate by window')
    .description(
      'Current burn rate over each window the alerts use. Yellow from 1× (spending faster than the budget allows), orange from 6×, red from 14.4× (the paging thresholds).',
    )
    .unit('suffix:×')
    .decimals(2)
    .min(0)
    .thresholds(BURN_THRESHOLDS)
    .withTarget(promQuery(burnRate('5m'), '5m', 'A'))
    .withTarget(promQuery(burnRate('30m'), '30m', 'B'))
    .withTarget(promQuery(burnRate('1h'), '1h', 'C'))
    .withTarget(promQuery(burnRate('2h'), '2h', 'D'))
    .withTarget(promQuery(burnRate('6h'), '6h', 'E'))
    .withTarget(promQuery(burnRate('1d'), '1d', 'F'))
    .withTarget(promQuery(burnRate('3d'), '3d', 'G'))
    .links([runbook('ErrorBudgetBurn')]);

export const fastBurn = () =>
  timeseriesWithLimits()
    .title('Fast burn (pages)')
    .description(
      'Burn rate over the paging windows. A page needs both windows of a pair above its line: 1h and 5m above 14.4×, or 6h and 30m above 6×.',
    )
    .unit('suffix:×')
    .thresholds(thresholds([null, GREEN], [6, ORANGE], [14.4, RED]))
    .withTarget(promQuery(burnRate('5m'), '5m', 'A'))
    .withTarget(promQuery(burnRate('1h'), '1h', 'B'))
    .withTarget(promQuery(burnRate('30m'), '30m', 'C'))
    .withTarget(promQuery(burnRate('6h'), '6h', 'D'))
    .links([runbook('ErrorBudgetBurn')]);

export const slowBurn = () =>
  timeseriesWithLimits()
    .title('Slow burn (tickets)')
    .description(
      'Burn rate over the ticket windows: 1d and 2h above 3×, or 3d and 6h above 1×. Slow leaks that would still spend the budget before the window ends.',
    )
    .unit('suffix:×')
    .thresholds(thresholds([null, GREEN], [1, YELLOW], [3, ORANGE]))
    .withTarget(promQuery(burnRate('2h'), '2h', 'A'))
    .withTarget(promQuery(burnRate('1d'), '1d', 'B'))
    .withTarget(promQuery(burnRate('6h'), '6h', 'C'))
    .withTarget(promQuery(burnRate('3d'), '3d', 'D'))
    .links([runbook('ErrorBudgetBurn')]);

// The synthetic probe (blackbox/blackbox.yml) calls the public API as a client does; its
// SLO (recording rules service_name:probe_*) sees what the server-side one cannot, by service.
export const probeSuccess = () =>
  withLimits(
    timeseriesPanel()
      .title('Synthetic probe success')
      .description(
        'Share of the synthetic probes of each service (GET /v1/agents on the public port, with the probe key, one per scrape) that succeeded over 5 minutes, and the probe SLO’s objective (dashed). It falls when clients cannot reach the service even though Prometheus still scrapes it: readiness failing, the API listener dead, no pod in the Service.',
      )
      .unit('percentunit')
      .max(1)
      .withTarget(promQuery('1 - service_name:probe_failures:ratio_avg5m', '{{service_name}}'))
      .links([runbook('ProbeErrorBudgetBurn'), runbook('ServiceDown')]),
    { refId: 'B', expr: 'slo:probe_objective:ratio', legend: 'objective' },
  );

export const probeBudgetRemaining = () =>
  statPanel()
    .title('Probe error budget remaining')
    .description(
      'Share of the probe SLO’s 30-day error budget not yet spent, by service (service_name:probe_error_budget_remaining:ratio).',
    )
    .unit('percentunit')
    .decimals(1)
    .thresholds(thresholds([null, RED], [0, ORANGE], [0.25, YELLOW], [0.5, GREEN]))
    .withTarget(promQuery('service_name:probe_error_budget_remaining:ratio', '{{service_name}}'))
    .links([runbook('ProbeErrorBudgetBurn')]);

export const scrapeFailures = () =>
  timeseriesPanel()
    .title('App scrape failures and downtime')
    .description(
      'Share of the scrapes of each app instance that failed over 5 minutes, and the part the SLI counts as downtime (lost requests): all of it once a quarter of the window failed, none below. Failures that are not downtime open ServiceScrapesFailing.',
    )
    .unit('percentunit')
    .max(1)
    .withTarget(promQuery('instance:scrape_failures:ratio_avg5m', 'failed {{instance}}', 'A'))
    .withTarget(promQuery('instance:downtime:ratio_avg5m', 'downtime {{instance}}', 'B'))
    .links([runbook('ServiceScrapesFailing'), runbook('ServiceDown')]);

// The services of services.yml, by name (their service_name): written from the file by
// `make dashboards`, so a new entry is in the list without a hand edit. "All" is `.*`, which
// also matches a service that pushes series before its entry exists.
export const serviceVariable = (services = loadServices(REPO_ROOT)) =>
  new dashboard.CustomVariableBuilder('service')
    .label('Service')
    .description('The services declared in services.yml (their OpenTelemetry service.name).')
    .values(serviceNames(services).join(','))
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: ['All'], value: ['$__all'] });

// The SLIs services.yml generates (prometheus/rules/services.yml) for the services whose rules
// are generated, on the OpenTelemetry HTTP and GenAI conventions. The demo's own SLO is above.
const SERVICE = 'service_name=~"$service"';

/** A service SLI's share over 5 minutes and 1 hour (recorded `<series>:ratio_rate5m`, `…1h`). */
const serviceRatio = (title: string, description: string, series: string, alert: string) =>
  timeseriesPanel()
    .title(title)
    .description(description)
    .unit('percentunit')
    .max(1)
    .withTarget(promQuery(`${series}:ratio_rate5m{${SERVICE}}`, '{{service_name}} 5m', 'A'))
    .withTarget(promQuery(`${series}:ratio_rate1h{${SERVICE}}`, '{{service_name}} 1h', 'B'))
    .links([runbook(alert)]);

export const serviceErrorRatio = () =>
  serviceRatio(
    'Service 5xx ratio',
    'Share of each service’s API requests (http.server.request.duration, its SLI routes) answered with a 5xx over 5 minutes and 1 hour, for the services whose rules services.yml generates.',
    'service_name:http_server_request_errors',
    'ServiceErrorBudgetBurn',
  );

export const serviceSlowRatio = () =>
  serviceRatio(
    'Service slow-request ratio',
    'Share of each service’s API requests slower than its latency threshold (services.yml) over 5 minutes and 1 hour.',
    'service_name:http_server_requests_slow',
    'ServiceLatencyBudgetBurn',
  );

export const serviceGenAiErrorRatio = () =>
  timeseriesPanel()
    .title('Service GenAI client error ratio')
    .description(
      'Share of each service’s GenAI client calls (gen_ai.client.operation.duration with error.type) that failed over 5 minutes.',
    )
    .unit('percentunit')
    .max(1)
    .withTarget(
      promQuery(
        `service_name:gen_ai_client_operation_errors:ratio_rate5m{${SERVICE}}`,
        '{{service_name}}',
      ),
    )
    .links([runbook('GenAIClientErrorRatioHigh')]);

// ALERTS is the series Prometheus writes for every pending or firing alert. It is never
// empty: the Watchdog alert fires all the time to prove the pipeline works, so this table
// always has at least that row (and an empty table would mean Prometheus' rules are broken).
export const firingAlerts = () =>
  tablePanel()
    .title('Firing alerts')
    .description(
      'Alerts firing now according to Prometheus (the ALERTS series), with their labels. Watchdog always fires on purpose: if it is missing, alerting itself is broken.',
    )
    .unit('short')
    .withTarget(tableQuery('ALERTS{alertstate="firing"}'))
    .withTransformation(hideColumns('Time', 'Value', '__name__', 'alertstate'))
    .links([runbook('Watchdog')]);

export const alertsByState = () =>
  timeseriesPanel()
    .title('Alerts by state and severity')
    .description(
      'Number of pending and firing alerts over time (Watchdog counts as one firing alert at all times).',
    )
    .unit('short')
    .decimals(0)
    .withTarget(
      promQuery('count by (alertstate, severity) (ALERTS)', '{{alertstate}} {{severity}}'),
    );

export const alertmanagerAlerts = () =>
  timeseriesPanel()
    .title('Alerts in Alertmanager')
    .description(
      'Alerts Alertmanager holds, by state: active (notified), suppressed (silenced or inhibited), unprocessed.',
    )
    .unit('short')
    .decimals(0)
    .withTarget(promQuery('sum by (state) (alertmanager_alerts{job="alertmanager"})', '{{state}}'))
    .links([runbook('AlertmanagerFailedToSendAlerts')]);
