// Shared panel defaults and small helpers for every dashboard, so each panel factory only
// says what is particular to it (title, description, unit, thresholds, query).
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { DEMO_SELECTOR } from './demo.ts';
import { dashboardLinks, TAG } from './links.ts';

// Datasource uids fixed in grafana/provisioning/datasources/datasources.yml.
export const PROMETHEUS: dashboard.DataSourceRef = { type: 'prometheus', uid: 'prometheus' };

// The demo's scrape job (its services.yml entry: grafana/src/demo.ts). Every app query carries
// it so a fork that scrapes more Node services into the same Prometheus does not mix them in.
export const APP = DEMO_SELECTOR;

// Colours Grafana's own panels use, named once so thresholds read as intent.
export const GREEN = 'green';
export const YELLOW = 'yellow';
export const ORANGE = 'orange';
export const RED = 'red';
export const BLUE = 'blue';

/** One Prometheus query. Grafana shows the refId in the editor and in errors. */
export const promQuery = (expr: string, legend: string, refId = 'A'): prometheus.DataqueryBuilder =>
  new prometheus.DataqueryBuilder()
    .datasource(PROMETHEUS)
    .expr(expr)
    .legendFormat(legend)
    .refId(refId);

/** An instant query returned as a table: one row per series with its labels as columns. */
export const tableQuery = (expr: string, refId = 'A'): prometheus.DataqueryBuilder =>
  new prometheus.DataqueryBuilder()
    .datasource(PROMETHEUS)
    .expr(expr)
    .instant()
    .format(prometheus.PromQueryFormat.Table)
    .refId(refId);

/**
 * Absolute thresholds from [lowest bound, colour] pairs; the first bound is null (−∞).
 * Every panel sets them: without any, Grafana applies its own default (red from 80),
 * which would paint a request rate of 100/s red.
 */
export const thresholds = (
  ...steps: [number | null, string][]
): dashboard.ThresholdsConfigBuilder =>
  new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps.map(([value, color]) => ({ value, color })));

const NEUTRAL = (): dashboard.ThresholdsConfigBuilder => thresholds([null, GREEN]);

/** Value → text and colour, e.g. 0/1/2 for the circuit breaker's states. */
export const valueMappings = (
  texts: Record<string, { text: string; color: string }>,
): dashboard.ValueMapping[] => [
  {
    type: dashboard.MappingType.ValueToText,
    options: Object.fromEntries(
      Object.entries(texts).map(([value, result], index) => [value, { ...result, index }]),
    ),
  },
];

const legendBottom = (): common.VizLegendOptionsBuilder =>
  new common.VizLegendOptionsBuilder()
    .showLegend(true)
    .placement(common.LegendPlacement.Bottom)
    .displayMode(common.LegendDisplayMode.List);

/**
 * Time series: lines with a light fill, every series in the tooltip (sorted, so the worst
 * route or model is on top) and a legend under the graph.
 */
export const timeseriesPanel = (): timeseries.PanelBuilder =>
  new timeseries.PanelBuilder()
    .datasource(PROMETHEUS)
    .lineWidth(1)
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    // A soft minimum keeps 0 on the axis (a flat line at 5 errors/s must not look like a
    // spike) yet lets values below 0 show, e.g. an error budget that is overspent.
    .axisSoftMin(0)
    .legend(legendBottom())
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    )
    .thresholds(NEUTRAL())
    .thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Off),
    );

/**
 * Time series that draws its thresholds as dashed lines: for limits that are constants of
 * the method rather than tunables (the SRE workbook's burn-rate multipliers).
 */
export const timeseriesWithLimits = (): timeseries.PanelBuilder =>
  timeseriesPanel().thresholdsStyle(
    new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
  );

/** A limit to draw on a time series: a query of one recorded threshold. */
export interface Limit {
  refId: string;
  expr: string;
  legend: string;
}

/**
 * Adds alert limits to a time series as dashed red lines. Each limit is a query of the
 * constant that prometheus/rules/thresholds.yml records (e.g. threshold:llm_error_ratio)
 * and the alert compares against, so the line moves when a fork tunes the alert: nothing
 * to keep in step by hand.
 */
export const withLimits = (
  panel: timeseries.PanelBuilder,
  ...limits: Limit[]
): timeseries.PanelBuilder =>
  limits.reduce(
    (built, limit) =>
      built
        .withTarget(promQuery(limit.expr, limit.legend, limit.refId))
        .overrideByQuery(limit.refId, [
          { id: 'color', value: { mode: 'fixed', fixedColor: RED } },
          { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
          { id: 'custom.fillOpacity', value: 0 },
        ]),
    panel,
  );

/** A single big number: the last value, coloured by its thresholds, with a sparkline. */
export const statPanel = (): stat.PanelBuilder =>
  new stat.PanelBuilder()
    .datasource(PROMETHEUS)
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(NEUTRAL());

/** A state over time (up/down, closed/open): coloured bands, one row per series. */
export const stateTimelinePanel = (): statetimeline.PanelBuilder =>
  new statetimeline.PanelBuilder()
    .datasource(PROMETHEUS)
    .showValue(common.VisibilityMode.Auto)
    .mergeValues(true)
    .legend(legendBottom())
    .thresholds(NEUTRAL());

/**
 * A single number for the whole time range on display (e.g. increase over $__range): one
 * instant query, and no sparkline, since every point of one would repeat the same window.
 */
export const statOverRange = (): stat.PanelBuilder =>
  statPanel().graphMode(common.BigValueGraphMode.None);

/** Horizontal bars, one per series, coloured by thresholds: values that compare side by side. */
export const barGaugePanel = (): bargauge.PanelBuilder =>
  new bargauge.PanelBuilder()
    .datasource(PROMETHEUS)
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Basic)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(NEUTRAL());

/** A table of an instant query's series. */
export const tablePanel = (): table.PanelBuilder =>
  new table.PanelBuilder().datasource(PROMETHEUS).thresholds(NEUTRAL());

/**
 * Hides the columns an instant table query always returns but nobody reads here (the
 * timestamp, the metric name and, where the value is a constant 1, the value).
 */
export const hideColumns = (...columns: string[]): dashboard.DataTransformerConfig => ({
  id: 'organize',
  options: { excludeByName: Object.fromEntries(columns.map((column) => [column, true])) },
});

/**
 * A query variable over one label of the app's metrics: multi-select with "All", which
 * Grafana expands to the regex `.*` (allValue) rather than a list of every value, so the
 * selector matches series that appear later too. Queries use it with `=~"$name"`.
 */
export const labelVariable = (
  name: string,
  label: string,
  series: string,
): dashboard.QueryVariableBuilder =>
  new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(PROMETHEUS)
    .query(`label_values(${series}, ${name})`)
    .definition(`label_values(${series}, ${name})`)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: ['All'], value: ['$__all'] });

/**
 * Builds the dashboard and numbers its panels. The SDK leaves panel ids unset (rows get 0);
 * Grafana needs unique ids for panel links (viewPanel=<id>) and would otherwise assign
 * them at load time, differently after every change.
 */
export const finish = (builder: dashboard.DashboardBuilder): dashboard.Dashboard => {
  const built = builder.build();
  let id = 0;
  for (const panel of built.panels ?? []) {
    panel.id = ++id;
    for (const nested of 'panels' in panel ? panel.panels : []) {
      nested.id = ++id;
    }
  }
  return built;
};

/**
 * Annotations on every dashboard: Grafana's built-in one (annotations users add by hand) and
 * the alerts Prometheus fires, drawn as regions on every time series so a latency bump and
 * the alert it caused line up. Watchdog is left out: it fires all the time on purpose.
 * Plain objects, not AnnotationQueryBuilder: its default placement would hide the toggles
 * in the controls menu (as with dashboardLink).
 */
const annotations = (): cog.Builder<dashboard.AnnotationQuery>[] =>
  [
    {
      name: 'Annotations & Alerts',
      builtIn: 1,
      type: 'dashboard',
      datasource: { type: 'grafana', uid: '-- Grafana --' },
      enable: true,
      hide: true,
      iconColor: 'rgba(0, 211, 255, 1)',
    },
    {
      name: 'Firing alerts',
      datasource: PROMETHEUS,
      enable: true,
      iconColor: RED,
      expr: 'ALERTS{alertstate="firing", alertname!="Watchdog"}',
      titleFormat: '{{alertname}}',
      textFormat: '{{severity}}',
      tagKeys: 'severity',
      step: '$__interval',
    },
  ].map((annotation) => ({ build: () => annotation }));

/** Settings shared by every dashboard. */
export const agentDashboard = (
  uid: string,
  title: string,
  description: string,
): dashboard.DashboardBuilder =>
  new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags([TAG, 'generated'])
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .annotations(annotations())
    .links(dashboardLinks());
