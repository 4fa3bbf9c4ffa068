// Runtime and stack health: the Node.js process behind the service, and the programs that
// watch it (Collector, Jaeger, Prometheus, Alertmanager). When a panel elsewhere is empty or
// wrong, this dashboard says whether the pipeline or the service is to blame.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  APP,
  GREEN,
  ORANGE,
  RED,
  agentDashboard,
  finish,
  promQuery,
  stateTimelinePanel,
  statPanel,
  thresholds,
  timeseriesPanel,
  timeseriesWithLimits,
  valueMappings,
  withLimits,
} from './common.ts';
import { UIDS, runbook } from './links.ts';

// Jaeger v2 is built on the Collector and both expose their own metrics with the same
// names (otel-collector/config.yaml and jaeger/config.yaml set without_type_suffix and
// without_units: otelcol_receiver_accepted_spans, not …_total). Reading both jobs shows
// spans leaving the Collector and arriving in Jaeger.
const PIPELINE = 'job=~"otel-collector|jaeger"';

export const runtimeStack = (): dashboard.Dashboard =>
  finish(
    agentDashboard(
      UIDS.runtimeStack,
      'Agent service / Runtime and stack health',
      'Node.js runtime of the service (event loop, heap, GC, CPU, disk) and the health of the Collector, Jaeger, Prometheus and Alertmanager.',
    )
      .withRow(new dashboard.RowBuilder('Node.js runtime (app)'))
      .withPanel(eventLoopLag().span(8).height(8))
      .withPanel(memory().span(8).height(8))
      .withPanel(gcTime().span(8).height(8))
      .withPanel(appCpu().span(8).height(8))
      .withPanel(activeHandles().span(8).height(8))
      .withPanel(diskFree().span(8).height(8))
      .withPanel(databaseSize().span(8).height(8))
      .withPanel(protocolErrors().span(8).height(8))
      .withPanel(suppressedLogLines().span(8).height(8))
      .withRow(new dashboard.RowBuilder('Telemetry pipeline'))
      .withPanel(telemetryExportFailures().span(8).height(8))
      .withPanel(spansReceived().span(8).height(8))
      .withPanel(spansExported().span(8).height(8))
      .withPanel(exporterQueue().span(8).height(8))
      .withPanel(spanMetrics().span(16).height(8))
      .withRow(new dashboard.RowBuilder('Prometheus and Alertmanager'))
      .withPanel(scrapeTargets().span(12).height(8))
      .withPanel(ruleFailures().span(12).height(8))
      .withPanel(prometheusNotifications().span(8).height(8))
      .withPanel(alertmanagerNotifications().span(8).height(8))
      .withPanel(headSeries().span(8).height(8))
      .withRow(new dashboard.RowBuilder('Every process'))
      .withPanel(stackCpu().span(12).height(8))
      .withPanel(stackMemory().span(12).height(8)),
  );

export const eventLoopLag = () =>
  withLimits(
    timeseriesPanel()
      .title('Event loop lag p99')
      .description(
        'How late timers fire on the service’s event loop (99th percentile, prom-client). Lag delays every request. The dashed line is the alert limit, which the alert compares with the 5-minute average.',
      )
      .unit('s')
      .withTarget(
        promQuery(`max by (instance) (nodejs_eventloop_lag_p99_seconds{${APP}})`, '{{instance}}'),
      )
      .links([runbook('EventLoopLagHigh')]),
    { refId: 'B', expr: 'threshold:event_loop_lag_p99_seconds', legend: 'limit' },
  );

export const memory = () =>
  withLimits(
    timeseriesPanel()
      .title('Memory')
      .description(
        'V8 heap used and allocated, and the resident set size of the whole process; the dashed line is the memory alert limit (on the resident set).',
      )
      .unit('bytes')
      .withTarget(
        promQuery(
          `sum by (instance) (nodejs_heap_size_used_bytes{${APP}})`,
          'heap used {{instance}}',
          'A',
        ),
      )
      .withTarget(
        promQuery(
          `sum by (instance) (nodejs_heap_size_total_bytes{${APP}})`,
          'heap total {{instance}}',
          'B',
        ),
      )
      .withTarget(
        promQuery(
          `sum by (instance) (process_resident_memory_bytes{${APP}})`,
          'resident {{instance}}',
          'C',
        ),
      )
      .links([runbook('HighMemoryUsage')]),
    { refId: 'D', expr: 'threshold:memory_resident_bytes', legend: 'limit' },
  );

export const gcTime = () =>
  timeseriesPanel()
    .title('Time in garbage collection')
    .description(
      'Share of wall-clock time spent in GC pauses, by kind (minor = scavenge, major = mark-sweep-compact, incremental).',
    )
    .unit('percentunit')
    .withTarget(
      promQuery(
        `sum by (kind) (rate(nodejs_gc_duration_seconds_sum{${APP}}[$__rate_interval]))`,
        '{{kind}}',
      ),
    );

export const appCpu = () =>
  timeseriesPanel()
    .title('CPU')
    .description('CPU time the service uses per second: 100 % = one full core.')
    .unit('percentunit')
    .withTarget(
      promQuery(
        `sum by (instance) (rate(process_cpu_seconds_total{${APP}}[$__rate_interval]))`,
        '{{instance}}',
      ),
    );

export const activeHandles = () =>
  timeseriesPanel()
    .title('Active resources')
    .description(
      'Open sockets, timers, files and requests keeping the process busy (process.getActiveResourcesInfo): steady growth under steady load is a leak.',
    )
    .unit('short')
    .decimals(0)
    .withTarget(
      promQuery(`sum by (instance) (nodejs_active_resources_total{${APP}})`, '{{instance}}'),
    );

export const diskFree = () =>
  withLimits(
    timeseriesPanel()
      .title('Data disk free')
      .description(
        'Free share of the file system holding the SQLite database. The dashed lines are the warning and critical limits.',
      )
      .unit('percentunit')
      .max(1)
      .withTarget(
        promQuery(
          `min by (instance) (app_data_disk_free_bytes{${APP}} / app_data_disk_size_bytes{${APP}})`,
          '{{instance}}',
        ),
      )
      .links([runbook('DiskSpaceLow'), runbook('DiskSpaceCritical')]),
    { refId: 'B', expr: 'threshold:disk_free_warning_ratio', legend: 'warning' },
    { refId: 'C', expr: 'threshold:disk_free_critical_ratio', legend: 'critical' },
  );

export const databaseSize = () =>
  timeseriesPanel()
    .title('Database size on disk')
    .description(
      'The SQLite file plus its write-ahead log. Retention keeps the rows under RETENTION_MAX_BYTES and the file follows (app/README.md, Limits).',
    )
    .unit('bytes')
    .withTarget(promQuery(`max by (instance) (app_db_size_bytes{${APP}})`, '{{instance}}'));

export const protocolErrors = () =>
  timeseriesPanel()
    .title('Requests and connections refused')
    .description(
      'Requests refused for how they were sent (malformed framing or header names, headers too large, too slow, a body not in time, bogus Expect), connections reset mid-request, and connections closed at once: one address past MAX_CONNECTIONS_PER_ADDRESS, the listener past MAX_CONNECTIONS (docs/operations.md).',
    )
    .unit('ops')
    .withTarget(
      promQuery(
        `sum by (reason) (rate(http_protocol_errors_total{${APP}}[$__rate_interval]))`,
        'request: {{reason}}',
      ),
    )
    .withTarget(
      promQuery(
        `sum by (reason) (rate(http_connections_refused_total{${APP}}[$__rate_interval]))`,
        'connection: {{reason}}',
        'B',
      ),
    );

export const suppressedLogLines = () =>
  timeseriesPanel()
    .title('Log lines left out')
    .description(
      'Lines a budget left out, with their spans: requests nobody vouches for (unknown paths, probes, failed authentication; 20 a second per listener) and protocol errors (10 per 10 s). Each next line says how many were left out before it.',
    )
    .unit('suffix: lines/s')
    .withTarget(
      promQuery(
        `sum by (source) (rate(log_lines_suppressed_total{${APP}}[$__rate_interval]))`,
        '{{source}}',
      ),
    );

export const telemetryExportFailures = () =>
  timeseriesPanel()
    .title('App telemetry export failures')
    .description(
      'Failed exports from the service: span batches to the Collector (traces) and events to Sentry (errors).',
    )
    .unit('ops')
    .withTarget(
      promQuery(
        `sum by (signal) (rate(telemetry_export_failures_total{${APP}}[$__rate_interval]))`,
        '{{signal}}',
      ),
    )
    .links([runbook('TelemetryExportFailing')]);

export const spansReceived = () =>
  timeseriesPanel()
    .title('Spans received')
    .description(
      'Spans accepted and refused by the OTLP receivers of the Collector and of Jaeger. Refused spans are pushed back to the sender (the memory limiter is shedding load).',
    )
    .unit('suffix: spans/s')
    .withTarget(
      promQuery(
        `sum by (job) (rate(otelcol_receiver_accepted_spans{${PIPELINE}}[$__rate_interval]))`,
        '{{job}} accepted',
        'A',
      ),
    )
    .withTarget(
      promQuery(
        `sum by (job) (rate(otelcol_receiver_refused_spans{${PIPELINE}}[$__rate_interval]))`,
        '{{job}} refused',
        'B',
      ),
    )
    .links([runbook('CollectorRefusingSpans')]);

// The Collector creates its failure counters at the first failure, so a query of failures
// alone would be empty while all is well. One query labels each outcome and joins them:
// sent spans always exist, failures show up beside them once there are any.
const exportOutcome = (metric: string, outcome: string): string =>
  `label_replace(sum by (job, exporter) (rate(${metric}{${PIPELINE}}[$__rate_interval])), "outcome", "${outcome}", "", "")`;

export const spansExported = () =>
  timeseriesPanel()
    .title('Spans exported')
    .description(
      'Spans each exporter sent on, failed to send after retries, and dropped because its queue was full: the last two are lost spans.',
    )
    .unit('suffix: spans/s')
    .withTarget(
      promQuery(
        [
          exportOutcome('otelcol_exporter_sent_spans', 'sent'),
          exportOutcome('otelcol_exporter_send_failed_spans', 'failed'),
          exportOutcome('otelcol_exporter_enqueue_failed_spans', 'dropped'),
        ].join('\nor\n'),
        '{{job}} {{exporter}} {{outcome}}',
      ),
    )
    .links([runbook('CollectorExportFailing'), runbook('CollectorDroppingSpans')]);

export const exporterQueue = () =>
  timeseriesWithLimits()
    .title('Exporter queue fill')
    .description(
      'Share of each exporter’s sending queue in use. A full queue drops new data: the exporter’s destination is down or too slow. The dashed line is where the CollectorQueueNearlyFull alert starts counting (80 %).',
    )
    .unit('percentunit')
    .max(1)
    .thresholds(thresholds([null, GREEN], [0.8, RED]))
    .withTarget(
      promQuery(
        `max by (job, exporter) (otelcol_exporter_queue_size{${PIPELINE}} / otelcol_exporter_queue_capacity{${PIPELINE}})`,
        '{{job}} {{exporter}}',
      ),
    )
    .links([runbook('CollectorQueueNearlyFull'), runbook('CollectorDroppingSpans')]);

export const spanMetrics = () =>
  timeseriesPanel()
    .title('Span metrics by service and kind')
    .description(
      'Spans per second counted by the Collector’s span-metrics connector: the data behind Jaeger’s Monitor tab and the trace-to-metrics links.',
    )
    .unit('suffix: spans/s')
    .withTarget(
      promQuery(
        'sum by (service_name, span_kind) (rate(traces_span_metrics_calls_total{job="spanmetrics"}[$__rate_interval]))',
        '{{service_name}} {{span_kind}}',
      ),
    );

export const scrapeTargets = () =>
  stateTimelinePanel()
    .title('Scrape targets')
    .description('Whether Prometheus could scrape each job (the worst instance of the job).')
    .unit('short')
    .mappings(
      valueMappings({ '1': { text: 'up', color: GREEN }, '0': { text: 'down', color: RED } }),
    )
    .thresholds(thresholds([null, RED], [1, GREEN]))
    .withTarget(promQuery('min by (job) (up)', '{{job}}'))
    .links([runbook('ServiceDown'), runbook('TargetDown')]);

export const ruleFailures = () =>
  timeseriesPanel()
    .title('Rule evaluation failures')
    .description(
      'Failed evaluations of recording and alerting rules per second, by rule group. Anything above 0 means alerts may stay silent.',
    )
    .unit('ops')
    .withTarget(
      promQuery(
        'sum by (rule_group) (rate(prometheus_rule_evaluation_failures_total{job="prometheus"}[$__rate_interval]))',
        '{{rule_group}}',
      ),
    )
    .links([runbook('PrometheusRuleFailures')]);

export const prometheusNotifications = () =>
  timeseriesPanel()
    .title('Prometheus → Alertmanager')
    .description(
      'Alert notifications Prometheus sent to Alertmanager, and those that failed or were dropped.',
    )
    .unit('ops')
    .withTarget(
      promQuery(
        'sum(rate(prometheus_notifications_sent_total{job="prometheus"}[$__rate_interval]))',
        'sent',
        'A',
      ),
    )
    .withTarget(
      promQuery(
        'sum(rate(prometheus_notifications_errors_total{job="prometheus"}[$__rate_interval]))',
        'errors',
        'B',
      ),
    )
    .withTarget(
      promQuery(
        'sum(rate(prometheus_notifications_dropped_total{job="prometheus"}[$__rate_interval]))',
        'dropped',
        'C',
      ),
    )
    .links([
      runbook('PrometheusErrorSendingAlertsToAnyAlertmanager'),
      runbook('PrometheusNotConnectedToAlertmanagers'),
    ]);

export const alertmanagerNotifications = () =>
  timeseriesPanel()
    .title('Alertmanager → receivers')
    .description(
      'Notifications Alertmanager sent per integration (webhook, Slack, PagerDuty, e-mail), and those that failed.',
    )
    .unit('ops')
    .withTarget(
      promQuery(
        'sum by (integration) (rate(alertmanager_notifications_total{job="alertmanager"}[$__rate_interval]))',
        '{{integration}} sent',
        'A',
      ),
    )
    .withTarget(
      promQuery(
        'sum by (integration) (rate(alertmanager_notifications_failed_total{job="alertmanager"}[$__rate_interval]))',
        '{{integration}} failed',
        'B',
      ),
    )
    .links([runbook('AlertmanagerFailedToSendAlerts')]);

export const headSeries = () =>
  statPanel()
    .title('Prometheus head series')
    .description(
      'Series in Prometheus’ in-memory head block. A jump means a new high-cardinality label; orange from one million.',
    )
    .unit('short')
    .decimals(0)
    .thresholds(thresholds([null, GREEN], [1000000, ORANGE]))
    .withTarget(promQuery('prometheus_tsdb_head_series{job="prometheus"}', 'series'));

export const stackCpu = () =>
  timeseriesPanel()
    .title('CPU by job')
    .description(
      'CPU of every scraped process: 100 % = one core. The Collector and Jaeger report theirs as otelcol_process_cpu_seconds.',
    )
    .unit('percentunit')
    .withTarget(
      promQuery('sum by (job) (rate(process_cpu_seconds_total[$__rate_interval]))', '{{job}}', 'A'),
    )
    .withTarget(
      promQuery(
        `sum by (job) (rate(otelcol_process_cpu_seconds{${PIPELINE}}[$__rate_interval]))`,
        '{{job}}',
        'B',
      ),
    );

export const stackMemory = () =>
  timeseriesPanel()
    .title('Resident memory by job')
    .description(
      'Resident set size of every scraped process, to compare with the containers’ memory limits in docker-compose.yml.',
    )
    .unit('bytes')
    .withTarget(promQuery('sum by (job) (process_resident_memory_bytes)', '{{job}}', 'A'))
    .withTarget(
      promQuery(`sum by (job) (otelcol_process_memory_rss{${PIPELINE}})`, '{{job}}', 'B'),
    );
