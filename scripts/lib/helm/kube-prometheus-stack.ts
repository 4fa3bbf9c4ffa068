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

/**
 * Rule files the chart does not render at all: the host and its containers
 * (prometheus/rules/host.yml, with its thresholds), which read the compose stack's own
 * exporters. On Kubernetes, kube-prometheus-stack watches nodes and containers with its own
 * node exporter, the kubelet's cAdvisor and kube-state-metrics, and alerts with its own rules:
 * HOST_ALERTS_ON_KUBERNETES maps ours to those, and docs/kubernetes.md has the same table.
 */
export const RULE_FILES_LEFT_TO_KUBE_PROMETHEUS_STACK = ['host.yml', 'host-thresholds.yml'];

/**
 * Each alert of host.yml → kube-prometheus-stack's alert for the same failure (name, then its
 * group), or, where it has none, `none:` and what to alert on there instead.
 */
export const HOST_ALERTS_ON_KUBERNETES: Readonly<Record<string, string>> = {
  HostDiskFillingUp:
    'NodeFilesystemSpaceFillingUp (node-exporter; with NodeFilesystemAlmostOutOfSpace)',
  HostMemoryPressure: 'NodeMemoryHighUtilization (node-exporter)',
  ContainerRestarting: 'KubePodCrashLooping (kubernetes-apps)',
  ContainerCPUThrottled: 'CPUThrottlingHigh (kubernetes-resources)',
  ContainerOOMKilled:
    'none: alert on kube-state-metrics’ kube_pod_container_status_last_terminated_reason{reason="OOMKilled"} or cAdvisor’s container_oom_events_total',
  ContainerMemoryNearLimit:
    'none: alert on cAdvisor’s container_memory_working_set_bytes over kube-state-metrics’ kube_pod_container_resource_limits{resource="memory"}',
};

/**
 * Dashboards the chart does not ship: "Containers and host" reads the compose exporters' jobs;
 * kube-prometheus-stack ships its own node and compute-resources dashboards.
 */
export const DASHBOARDS_LEFT_TO_KUBE_PROMETHEUS_STACK = ['agent-containers-host.json'];
