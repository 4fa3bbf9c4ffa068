// Containers and host: what the service runs on. The host's CPU, memory and disks (job node:
// the node exporter, natively and in compose's host-metrics profile) and each container's
// memory against its limit, CPU and throttling, restarts and OOM kills (jobs containers and
// container-events: compose only, docs/host-metrics.md). When the service is down or slow for
// no reason of its own, this dashboard says whether the machine or its container is to blame.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  GREEN,
  ORANGE,
  RED,
  agentDashboard,
  finish,
  promQuery,
  thresholds,
  timeseriesPanel,
  withLimits,
} from './common.ts';
import { UIDS, runbook } from './links.ts';

const NODE = 'job="node"';
const CONTAINERS = 'job="containers"';
const EVENTS = 'job="container-events"';

export const containersHost = (): dashboard.Dashboard =>
  finish(
    agentDashboard(
      UIDS.containersHost,
      'Agent service / Containers and host',
      'The host’s CPU, memory and disks, and each container’s memory against its limit, CPU throttling, restarts and OOM kills (compose’s host-metrics profile).',
    )
      .withRow(new dashboard.RowBuilder('Host'))
      .withPanel(hostCpu().span(8).height(8))
      .withPanel(hostMemoryAvailable().span(8).height(8))
      .withPanel(hostMemoryStall().span(8).height(8))
      .withPanel(hostDiskFree().span(8).height(8))
      .withPanel(hostDiskForecast().span(8).height(8))
      .withPanel(hostDiskBusy().span(8).height(8))
      .withRow(new dashboard.RowBuilder('Containers'))
      .withPanel(containerMemoryOfLimit().span(8).height(8))
      .withPanel(containerMemory().span(8).height(8))
      .withPanel(containerCpu().span(8).height(8))
      .withPanel(containerThrottled().span(8).height(8))
      .withPanel(containerRestarts().span(8).height(8))
      .withPanel(containerOomKills().span(8).height(8)),
  );

export const hostCpu = () =>
  timeseriesPanel()
    .title('Host CPU busy')
    .description(
      'Share of the host’s CPU time not idle, by mode (user, system, iowait …), over all its cores: 100 % = every core busy.',
    )
    .unit('percentunit')
    .max(1)
    .withTarget(
      promQuery(
        `sum by (instance, mode) (rate(node_cpu_seconds_total{${NODE}, mode!="idle"}[$__rate_interval])) / on(instance) group_left count by (instance) (node_cpu_seconds_total{${NODE}, mode="idle"})`,
        '{{mode}} {{instance}}',
      ),
    );

export const hostMemoryAvailable = () =>
  withLimits(
    timeseriesPanel()
      .title('Host memory available')
      .description(
        'Share of the host’s RAM the kernel can hand out without swapping or killing (MemAvailable: free memory plus reclaimable cache). The dashed line is the memory-pressure alert’s limit.',
      )
      .unit('percentunit')
      .max(1)
      .withTarget(
        promQuery(
          `node_memory_MemAvailable_bytes{${NODE}} / node_memory_MemTotal_bytes{${NODE}}`,
          'available {{instance}}',
          'A',
        ),
      )
      .links([runbook('HostMemoryPressure')]),
    { refId: 'B', expr: 'threshold:host_memory_available_ratio', legend: 'limit' },
  );

export const hostMemoryStall = () =>
  timeseriesPanel()
    .title('Host memory stall')
    .description(
      'Share of time tasks waited for memory (pressure stall information: “some” = at least one task, “full” = all of them at once). Anything lasting above a few percent means the host reclaims or swaps under memory pressure.',
    )
    .unit('percentunit')
    .withTarget(
      promQuery(
        `rate(node_pressure_memory_waiting_seconds_total{${NODE}}[$__rate_interval])`,
        'some {{instance}}',
        'A',
      ),
    )
    .withTarget(
      promQuery(
        `rate(node_pressure_memory_stalled_seconds_total{${NODE}}[$__rate_interval])`,
        'full {{instance}}',
        'B',
      ),
    )
    .links([runbook('HostMemoryPressure')]);

export const hostDiskFree = () =>
  withLimits(
    timeseriesPanel()
      .title('Host disk free')
      .description(
        'Free share of each of the host’s file systems (disks only: no tmpfs, overlay or pseudo file systems). The dashed lines are the disk alert’s floors, below which it fires whatever the trend.',
      )
      .unit('percentunit')
      .max(1)
      .thresholds(thresholds([null, RED], [0.05, ORANGE], [0.2, GREEN]))
      .withTarget(
        promQuery(
          `node_filesystem_avail_bytes{${NODE}} / node_filesystem_size_bytes{${NODE}}`,
          '{{mountpoint}} ({{device}})',
          'A',
        ),
      )
      .links([runbook('HostDiskFillingUp')]),
    { refId: 'B', expr: 'threshold:host_disk_free_floor_warning_ratio', legend: 'warning floor' },
    { refId: 'C', expr: 'threshold:host_disk_free_floor_critical_ratio', legend: 'critical floor' },
  );

export const hostDiskForecast = () =>
  timeseriesPanel()
    .title('Host disk free in 24 hours')
    .description(
      'Free bytes each file system would have in 24 hours at the trend of the last 6 hours, as the disk alert predicts it. Below zero: full within the day.',
    )
    .unit('bytes')
    .withTarget(
      promQuery(
        `predict_linear(node_filesystem_avail_bytes{${NODE}}[6h], 24 * 3600)`,
        '{{mountpoint}} ({{device}})',
      ),
    )
    .links([runbook('HostDiskFillingUp')]);

export const hostDiskBusy = () =>
  timeseriesPanel()
    .title('Host disk busy')
    .description(
      'Share of time each disk had I/O in flight. Near 100 % the disk is the bottleneck: writes of Prometheus, VictoriaLogs and SQLite wait.',
    )
    .unit('percentunit')
    .withTarget(
      promQuery(
        `rate(node_disk_io_time_seconds_total{${NODE}}[$__rate_interval])`,
        '{{device}} {{instance}}',
      ),
    );

export const containerMemoryOfLimit = () =>
  withLimits(
    timeseriesPanel()
      .title('Container memory of its limit')
      .description(
        'Each container’s working set (memory the kernel cannot drop: usage without the inactive page cache) as a share of its memory limit. At 100 % the kernel OOM-kills it. The dashed line is the alert’s limit.',
      )
      .unit('percentunit')
      .withTarget(
        promQuery(
          `container_memory_usage_total_bytes{${CONTAINERS}} / (container_memory_usage_limit_bytes{${CONTAINERS}} > 0)`,
          '{{container_name}}',
          'A',
        ),
      )
      .links([runbook('ContainerMemoryNearLimit')]),
    { refId: 'B', expr: 'threshold:container_memory_working_set_ratio', legend: 'limit' },
  );

export const containerMemory = () =>
  timeseriesPanel()
    .title('Container memory working set')
    .description(
      'Each container’s working set in bytes: compare with its limit in docker-compose.yml, and watch for a steady climb (a leak).',
    )
    .unit('bytes')
    .withTarget(
      promQuery(`container_memory_usage_total_bytes{${CONTAINERS}}`, '{{container_name}}'),
    )
    .links([runbook('ContainerMemoryNearLimit')]);

export const containerCpu = () =>
  timeseriesPanel()
    .title('Container CPU')
    .description('CPU time each container uses per second: 100 % = one full core.')
    .unit('percentunit')
    .withTarget(
      promQuery(
        `sum by (container_name) (rate(container_cpu_usage_nanoseconds_total{${CONTAINERS}}[$__rate_interval])) / 1e9`,
        '{{container_name}}',
      ),
    );

export const containerThrottled = () =>
  withLimits(
    timeseriesPanel()
      .title('Container CPU throttled')
      .description(
        'Share of each container’s CPU periods (100 ms) in which its `cpus` limit stopped it. Only containers with a limit have periods; the others show nothing. The dashed line is the alert’s limit.',
      )
      .unit('percentunit')
      .max(1)
      .withTarget(
        promQuery(
          `sum by (container_name) (rate(container_cpu_throttling_data_throttled_periods_total{${CONTAINERS}}[$__rate_interval])) / sum by (container_name) (rate(container_cpu_throttling_data_periods_total{${CONTAINERS}}[$__rate_interval]) > 0)`,
          '{{container_name}}',
          'A',
        ),
      )
      .links([runbook('ContainerCPUThrottled')]),
    { refId: 'B', expr: 'threshold:container_cpu_throttled_ratio', legend: 'limit' },
  );

export const containerRestarts = () =>
  timeseriesPanel()
    .title('Container restarts')
    .description(
      'Restarts of each container by its restart policy in the window (the Engine’s RestartCount). A steady staircase is a crash loop.',
    )
    .unit('short')
    .decimals(0)
    .withTarget(
      promQuery(
        `sum by (container_name) (increase(container_restarts_total{${EVENTS}}[$__rate_interval]))`,
        '{{container_name}}',
      ),
    )
    .links([runbook('ContainerRestarting')]);

export const containerOomKills = () =>
  timeseriesPanel()
    .title('OOM kills')
    .description(
      'Processes the kernel killed in each container because it reached its memory limit (the Engine’s oom events), and on the whole host for any reason (the kernel’s own count), in the window.',
    )
    .unit('short')
    .decimals(0)
    .thresholds(thresholds([null, GREEN], [1, RED]))
    .withTarget(
      promQuery(
        `sum by (container_name) (increase(container_oom_events_total{${EVENTS}}[$__rate_interval]))`,
        '{{container_name}}',
        'A',
      ),
    )
    .withTarget(
      promQuery(
        `increase(node_vmstat_oom_kill{${NODE}}[$__rate_interval])`,
        'host {{instance}}',
        'B',
      ),
    )
    .links([runbook('ContainerOOMKilled')]);
