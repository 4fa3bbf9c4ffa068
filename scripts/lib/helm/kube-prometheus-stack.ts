// What the Helm chart leaves to kube-prometheus-stack, and the names the chart's objects must
// share with the repo's rules. docs/kubernetes.md has the same mapping as a table (a test keeps
// the two in step).

/**
 * Alerts of prometheus/rules/ that the chart does not render, because kube-prometheus-stack's
 * default rules already have an alert for the same condition (same name in its
 * `general.rules`, `prometheus` and `alertmanager` groups). Rendering ours too would page twice.
 */
export const LEFT_TO_KUBE_PROMETHEUS_STACK: Readonly<Record<string, string>> = {
  Watchdog: 'Watchdog (general.rules)',
  TargetDown: 'TargetDown (general.rules)',
  PrometheusRuleFailures: 'PrometheusRuleFailures (prometheus)',
  PrometheusBadConfig: 'PrometheusBadConfig (prometheus)',
  PrometheusNotConnectedToAlertmanagers: 'PrometheusNotConnectedToAlertmanagers (prometheus)',
  PrometheusErrorSendingAlertsToAnyAlertmanager:
    'PrometheusErrorSendingAlertsToAnyAlertmanager (prometheus)',
  AlertmanagerFailedReload: 'AlertmanagerFailedReload (alertmanager.rules)',
  AlertmanagerFailedToSendAlerts: 'AlertmanagerFailedToSendAlerts (alertmanager.rules)',
  PrometheusMissedRuleEvaluations: 'PrometheusMissingRuleEvaluations (prometheus)',
  PrometheusTSDBFailing:
    'PrometheusTSDBCompactionsFailing (prometheus; with PrometheusTSDBReloadsFailing)',
};

/**
 * Alerts about the stack's own Prometheus that have no counterpart in kube-prometheus-stack's
 * default rules and that the chart cannot render (it does not scrape that Prometheus), with
 * what replaces them there. docs/kubernetes.md lists them too.
 */
export const NOT_RENDERED_ON_KUBERNETES: Readonly<Record<string, string>> = {
  VictoriaLogsRejectingLogs:
    'the chart runs no log store (logs.otlpEndpoint points at yours); alert on its own metrics where it runs',
  VictoriaLogsReadOnly:
    'the chart runs no log store (logs.otlpEndpoint points at yours); alert on its own metrics where it runs',
  PrometheusSizeRetentionCutting:
    'kube-prometheus-stack sizes its Prometheus with prometheusSpec.retentionSize; alert on its prometheus_tsdb_size_retentions_total in your own rules if you set one',
};

/**
 * The `job` label of every scrape endpoint the chart renders (its ServiceMonitors set it by
 * relabelling, its Probe by jobName), which is the job name prometheus/prometheus.yml gives the
 * same target.
 */
export const CHART_JOBS = ['app', 'otel-collector', 'spanmetrics', 'jaeger', 'blackbox'] as const;

/** Stands for the release namespace in generated files; the chart's templates replace it. */
export const NAMESPACE_PLACEHOLDER = '__RELEASE_NAMESPACE__';
