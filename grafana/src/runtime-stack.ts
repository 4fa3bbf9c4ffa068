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
} from './common.ts';
import { UIDS, runbook } from './links.ts';

// Jaeger v2 is built on the Collector, so both report the same otelcol_* metrics; reading
// them from both jobs shows spans leaving the Collector and arriving in Jaeger.
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
  timeseriesWithLimits()
    .title('Event loop lag p99')
    .description(
      'How late timers fire on the service’s event loop (99th percentile, prom-client). Lag delays every request; the dashed line is the alert threshold.',
    )
    .unit('s')
    .thresholds(thresholds([null, GREEN], [0.2, RED]))
    .withTarget(
      promQuery(`max by (instance) (nodejs_eventloop_lag_p99_seconds{${APP}})`, '{{instance}}'),
    )
    .links([runbook('EventLoopLagHigh.md', 'event-loop lag')]);

export const memory = () =>
  timeseriesPanel()
    .title('Memory')
    .description('V8 heap used and allocated, and the resident set size of the whole process.')
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
        'rss {{instance}}',
        'C',
      ),
    )
    .links([runbook('MemoryHigh.md', 'memory')]);

export const gcTime = () =>
  timeseriesPanel()
    .title('Time in garbage collection')
    .description(
      'Share of wall-clock time spent in GC pauses, by kind (minor = scavenge, major = mark-sweep-compact).',
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
    .description('CPU time the service uses per second of wall-clock time: 100 % = one full core.')
    .unit('percentunit')
    .withTarget(
      promQuery(
        `sum by (instance) (rate(process_cpu_seconds_total{${APP}}[$__rate_interval]))`,
        '{{instance}}',
      ),
    );

export const activeHandles = () =>
  timeseriesPanel()
    .title('Active handles')
    .description(
      'Open sockets, timers and files held by the process: steady growth under steady load is a leak.',
    )
    .unit('short')
    .decimals(0)
    .withTarget(
      promQuery(`sum by (instance) (nodejs_active_handles_total{${APP}})`, '{{instance}}'),
    );

export const diskFree = () =>
  timeseriesWithLimits()
    .title('Data disk free')
    .description(
      'Free share of the file system holding the SQLite database. The dashed line is the low-disk alert threshold.',
    )
    .unit('percentunit')
    .max(1)
    .thresholds(thresholds([null, RED], [0.1, GREEN]))
    .withTarget(
      promQuery(
        `min by (instance) (app_data_disk_free_bytes{${APP}} / app_data_disk_size_bytes{${APP}})`,
        '{{instance}}',
      ),
    )
    .links([runbook('DiskSpaceLow.md', 'disk space low')]);

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
    );

export const spansReceived = () =>
  timeseriesPanel()
    .title('Spans received')
    .description(
      'Spans accepted and refused by the receivers of the Collector and of Jaeger. Refused spans are lost (memory limiter or a full queue).',
    )
    .unit('suffix: spans/s')
    .withTarget(
      promQuery(
        `sum by (job) (rate(otelcol_receiver_accepted_spans_total{${PIPELINE}}[$__rate_interval]))`,
        '{{job}} accepted',
        'A',
      ),
    )
    .withTarget(
      promQuery(
        `sum by (job) (rate(otelcol_receiver_refused_spans_total{${PIPELINE}}[$__rate_interval]))`,
        '{{job}} refused',
        'B',
      ),
    )
    .links([runbook('CollectorDroppingSpans.md', 'Collector dropping spans')]);

export const spansExported = () =>
  timeseriesPanel()
    .title('Spans exported')
    .description(
      'Spans the exporters sent on and failed to send (after retries), per job and exporter.',
    )
    .unit('suffix: spans/s')
    .withTarget(
      promQuery(
        `sum by (job, exporter) (rate(otelcol_exporter_sent_spans_total{${PIPELINE}}[$__rate_interval]))`,
        '{{job}} {{exporter}} sent',
        'A',
      ),
    )
    .withTarget(
      promQuery(
        `sum by (job, exporter) (rate(otelcol_exporter_send_failed_spans_total{${PIPELINE}}[$__rate_interval]))`,
        '{{job}} {{exporter}} failed',
        'B',
      ),
    )
    .links([runbook('CollectorDroppingSpans.md', 'Collector dropping spans')]);

export const exporterQueue = () =>
  timeseriesWithLimits()
    .title('Exporter queue fill')
    .description(
      'Share of each exporter’s sending queue in use. A full queue refuses new data: the exporter’s destination is down or too slow.',
    )
    .unit('percentunit')
    .max(1)
    .thresholds(thresholds([null, GREEN], [0.8, RED]))
    .withTarget(
      promQuery(
        `max by (job, exporter) (otelcol_exporter_queue_size{${PIPELINE}} / otelcol_exporter_queue_capacity{${PIPELINE}})`,
        '{{job}} {{exporter}}',
      ),
    );

export const spanMetrics = () =>
  timeseriesPanel()
    .title('Span metrics by service and kind')
    .description(
      'Spans per second counted by the Collector’s spanmetrics connector: the data behind Jaeger’s Monitor tab and the trace-to-metrics links.',
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
    .description('Whether Prometheus could scrape each job (worst instance of the job).')
    .unit('short')
    .mappings(
      valueMappings({ '1': { text: 'up', color: GREEN }, '0': { text: 'down', color: RED } }),
    )
    .thresholds(thresholds([null, RED], [1, GREEN]))
    .withTarget(promQuery('min by (job) (up)', '{{job}}'))
    .links([runbook('TargetDown.md', 'scrape target down')]);

export const ruleFailures = () =>
  timeseriesPanel()
    .title('Rule evaluation failures')
    .description(
      'Failed evaluations of recording and alerting rules per second, by rule group. Anything above 0 means alerts may not fire.',
    )
    .unit('ops')
    .thresholds(thresholds([null, GREEN], [0.000001, RED]))
    .withTarget(
      promQuery(
        'sum by (rule_group) (rate(prometheus_rule_evaluation_failures_total{job="prometheus"}[$__rate_interval]))',
        '{{rule_group}}',
      ),
    )
    .links([runbook('PrometheusRuleFailures.md', 'rule evaluation failures')]);

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
      runbook(
        'PrometheusErrorSendingAlertsToAnyAlertmanager.md',
        'Prometheus cannot reach Alertmanager',
      ),
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
    .links([runbook('AlertmanagerFailedToSendAlerts.md', 'Alertmanager failing to notify')]);

export const headSeries = () =>
  statPanel()
    .title('Prometheus head series')
    .description(
      'Series in Prometheus’ in-memory head block: a jump means a new high-cardinality label.',
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
        `sum by (job) (rate(otelcol_process_cpu_seconds_total{${PIPELINE}}[$__rate_interval]))`,
        '{{job}}',
        'B',
      ),
    );

export const stackMemory = () =>
  timeseriesPanel()
    .title('Resident memory by job')
    .description(
      'Resident set size of every scraped process, against the containers’ memory limits in docker-compose.yml.',
    )
    .unit('bytes')
    .withTarget(promQuery('sum by (job) (process_resident_memory_bytes)', '{{job}}', 'A'))
    .withTarget(
      promQuery(`sum by (job) (otelcol_process_memory_rss_bytes{${PIPELINE}})`, '{{job}}', 'B'),
    );
