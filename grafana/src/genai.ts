// GenAI: the LLM side in the OpenTelemetry GenAI conventions' own metrics (gen_ai_client_*,
// v1.41.0, app/src/telemetry/genai.ts), and what the Agents and LLM dashboard does not show:
// cost by agent, tier and model against the 30-day budget and its forecast, tokens per run
// and runaway runs with exemplars into Jaeger, tool failures, cache savings and saturation,
// each beside the limit its alert compares with (docs/alerting.md).
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as heatmap from '@grafana/grafana-foundation-sdk/heatmap';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import {
  APP,
  BLUE,
  GREEN,
  ORANGE,
  PROMETHEUS,
  RED,
  agentDashboard,
  finish,
  hideColumns,
  labelVariable,
  promQuery,
  statOverRange,
  tablePanel,
  tableQuery,
  thresholds,
  timeseriesPanel,
  withLimits,
} from './common.ts';
import { toolCalls } from './agents-llm.ts';
import { UIDS, jaegerSearch, runbook, withTraceWindow } from './links.ts';

const GEN_AI = `${APP}, gen_ai_request_model=~"$model"`;
const COST = `${APP}, agent=~"$agent", model=~"$model"`;
const AGENTS = `${APP}, agent=~"$agent"`;
const RUNS_OF_AGENTS = jaegerSearch('agent runs', {
  tags: '{"gen_ai.operation.name":"invoke_agent"}',
});

export const genAi = (): dashboard.Dashboard =>
  finish(
    agentDashboard(
      UIDS.genAi,
      'Agent service / GenAI',
      'LLM calls in the OpenTelemetry GenAI conventions (v1.41.0): requests, tokens, latency and error types by model; cost by agent, tier and model against the budget; tokens per run, runaway runs, tools, cache savings and saturation.',
    )
      .withVariable(labelVariable('agent', 'Agent', `agent_runs_total{${APP}}`))
      .withVariable(labelVariable('model', 'Model', `llm_requests_total{${APP}}`))
      .withRow(new dashboard.RowBuilder('Spend'))
      .withPanel(spendInRange().span(6).height(5))
      .withPanel(forecastStat().span(6).height(5))
      .withPanel(savedInRange().span(6).height(5))
      .withPanel(tokensInRange().span(6).height(5))
      .withPanel(spendAgainstBudget().span(12).height(8))
      .withPanel(costByAgent().span(12).height(8))
      .withPanel(costTable().span(24).height(8))
      .withRow(new dashboard.RowBuilder('LLM calls by model (gen_ai_client_*)'))
      .withPanel(requestsByModel().span(8).height(8))
      .withPanel(tokensByModel().span(8).height(8))
      .withPanel(latencyPercentiles().span(8).height(8))
      .withPanel(callsByErrorType().span(12).height(8))
      .withPanel(latencyAsAlerted().span(12).height(8))
      .withRow(new dashboard.RowBuilder('Runs, tools and cache'))
      .withPanel(tokensPerRun().span(12).height(8))
      .withPanel(runawayRuns().span(12).height(8))
      .withPanel(toolCalls().span(8).height(8))
      .withPanel(toolFailureRatio().span(8).height(8))
      .withPanel(saturation().span(8).height(8))
      .withPanel(cacheSavings().span(24).height(7)),
  );

export const spendInRange = () =>
  statOverRange()
    .title('LLM spend')
    .description(
      'US dollars spent on LLM calls in the time range, for the selected agents and models.',
    )
    .unit('currencyUSD')
    .decimals(2)
    .withTarget(
      promQuery(`sum(increase(llm_cost_usd_total{${COST}}[$__range]))`, 'spend').instant(),
    );

export const forecastStat = () =>
  statOverRange()
    .title('30-day forecast')
    .description(
      'What 30 days at the last 6 hours’ pace would cost (recording rule job:llm_cost_usd:forecast_30d_rate6h), as a share of the rolling 30-day budget. Orange from 80 %, red above 100 %, where LLMBudgetForecastExceeded fires after an hour.',
    )
    .unit('percentunit')
    .decimals(0)
    .thresholds(thresholds([null, GREEN], [0.8, ORANGE], [1, RED]))
    .withTarget(
      promQuery(
        'sum(job:llm_cost_usd:forecast_30d_rate6h) / scalar(threshold:llm_cost_budget_usd_per_30d)',
        'of budget',
      ).instant(),
    )
    .links([runbook('LLMBudgetForecastExceeded')]);

export const savedInRange = () =>
  statOverRange()
    .title('Saved by the response cache')
    .description(
      'US dollars the response cache saved in the time range: every hit counts what the run it copies cost when it was made.',
    )
    .unit('currencyUSD')
    .decimals(2)
    .thresholds(thresholds([null, BLUE]))
    .withTarget(
      promQuery(
        `sum(increase(llm_cache_saved_cost_usd_total{${APP}, model=~"$model"}[$__range]))`,
        'saved',
      ).instant(),
    );

export const tokensInRange = () =>
  statOverRange()
    .title('Tokens used')
    .description(
      'Input and output tokens of all LLM calls in the time range (gen_ai_client_token_usage).',
    )
    .unit('short')
    .decimals(0)
    .withTarget(
      promQuery(
        `sum(increase(gen_ai_client_token_usage_sum{${GEN_AI}}[$__range]))`,
        'tokens',
      ).instant(),
    );

export const spendAgainstBudget = () =>
  withLimits(
    timeseriesPanel()
      .title('Spend against the 30-day budget, with the forecast')
      .description(
        'The forecast: 30 days at the last 6 hours’ pace (job:llm_cost_usd:forecast_30d_rate6h); the spend of the last 30 days so far (job:llm_cost_usd:increase30d, recorded once a minute from the 5-minute spends); the rolling 30-day budget (dashed) that the forecast alert compares with.',
      )
      .unit('currencyUSD')
      .withTarget(promQuery('sum(job:llm_cost_usd:forecast_30d_rate6h)', 'forecast, 30 days'))
      .withTarget(promQuery('sum(job:llm_cost_usd:increase30d)', 'spent, last 30 days', 'B'))
      .links([runbook('LLMBudgetForecastExceeded'), runbook('LLMCostSpike')]),
    { refId: 'C', expr: 'threshold:llm_cost_budget_usd_per_30d', legend: 'budget' },
  );

export const costByAgent = () =>
  timeseriesPanel()
    .title('Cost per hour by agent')
    .description(
      'US dollars per hour each agent’s LLM calls cost, at the pace of the last hour (llm_cost_usd_total by agent).',
    )
    .unit('currencyUSD')
    .withTarget(
      promQuery(`sum by (agent) (rate(llm_cost_usd_total{${COST}}[1h])) * 3600`, '{{agent}}'),
    )
    .links([runbook('LLMCostSpike')]);

export const costTable = () =>
  tablePanel()
    .title('Cost by agent, tier and model')
    .description(
      'US dollars spent in the time range per agent, tier and model: who spends, on which model, for which customers.',
    )
    .unit('currencyUSD')
    .decimals(4)
    .withTarget(
      tableQuery(`sum by (agent, tier, model) (increase(llm_cost_usd_total{${COST}}[$__range]))`),
    )
    .withTransformation(hideColumns('Time'));

export const requestsByModel = () =>
  timeseriesPanel()
    .title('Requests by model')
    .description(
      'LLM calls per second by requested model (gen_ai_client_operation_duration_seconds count, chat operations), failed calls included.',
    )
    .unit('reqps')
    .withTarget(
      promQuery(
        `sum by (gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_count{${GEN_AI}}[$__rate_interval]))`,
        '{{gen_ai_request_model}}',
      ),
    );

export const tokensByModel = () =>
  timeseriesPanel()
    .title('Tokens in and out by model')
    .description(
      'Tokens per second by model and gen_ai_token_type: input (the prompt) and output (the completion).',
    )
    .unit('suffix: tokens/s')
    .withTarget(
      promQuery(
        `sum by (gen_ai_request_model, gen_ai_token_type) (rate(gen_ai_client_token_usage_sum{${GEN_AI}}[$__rate_interval]))`,
        '{{gen_ai_request_model}} {{gen_ai_token_type}}',
      ),
    );

const durationQuantile = (q: number, refId: string) =>
  promQuery(
    `histogram_quantile(${q}, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_bucket{${GEN_AI}}[$__rate_interval])))`,
    `{{gen_ai_request_model}} p${Math.round(q * 100)}`,
    refId,
  );

export const latencyPercentiles = () =>
  timeseriesPanel()
    .title('Latency p50, p95, p99 by model, with exemplars')
    .description(
      withTraceWindow(
        'Percentiles of gen_ai_client_operation_duration_seconds by model, on the conventions’ buckets (0.01 … 81.92 s, doubling): coarser near the alert limit than llm_request_duration_seconds. The dots are exemplars: click one for the call’s trace.',
      ),
    )
    .unit('s')
    .withTarget(durationQuantile(0.5, 'A'))
    .withTarget(durationQuantile(0.95, 'B').exemplar(true))
    .withTarget(durationQuantile(0.99, 'C'));

export const callsByErrorType = () =>
  timeseriesPanel()
    .title('LLM calls by error type')
    .description(
      'LLM calls per second by error_type (server_error, unavailable, …; "none" for calls answered). Calls refused by the open circuit breaker never reach the provider and are in the Agents and LLM dashboard.',
    )
    .unit('reqps')
    .withTarget(
      promQuery(
        `label_replace(sum by (gen_ai_request_model, error_type) (rate(gen_ai_client_operation_duration_seconds_count{${GEN_AI}}[$__rate_interval])), "error_type", "none", "error_type", "")`,
        '{{gen_ai_request_model}} {{error_type}}',
      ),
    )
    .links([
      runbook('LLMProviderDown'),
      jaegerSearch('failed LLM calls', { tags: '{"error":"true"}' }),
    ]);

export const latencyAsAlerted = () =>
  withLimits(
    timeseriesPanel()
      .title('LLM latency p95 by model (5m, as alerted)')
      .description(
        withTraceWindow(
          'p95 of one LLM call by model over 5 minutes (model:llm_request_duration_seconds:p95_rate5m, on buckets that hold the limit), with exemplars of slow calls, and the limit LLMLatencyHigh compares with (dashed).',
        ),
      )
      .unit('s')
      .withTarget(
        promQuery('model:llm_request_duration_seconds:p95_rate5m{model=~"$model"}', '{{model}}'),
      )
      .withTarget(
        promQuery(
          `histogram_quantile(0.95, sum by (le, model) (rate(llm_request_duration_seconds_bucket{${APP}, model=~"$model"}[$__rate_interval])))`,
          '{{model}} exemplars',
          'B',
        ).exemplar(true),
      )
      .links([runbook('LLMLatencyHigh')]),
    { refId: 'C', expr: 'threshold:llm_latency_p95_seconds', legend: 'limit' },
  );

export const tokensPerRun = () =>
  new heatmap.PanelBuilder()
    .datasource(PROMETHEUS)
    .title('Tokens per run')
    .description(
      'How many tokens one uncached run spends (agent_run_tokens), as a heatmap of its buckets: they grow with the input’s length and the run’s steps (a 4-step run over a long input spends about 5,000); runaway runs climb into the top rows.',
    )
    .unit('short')
    .thresholds(thresholds([null, GREEN]))
    .calculate(false)
    .color(
      new heatmap.HeatmapColorOptionsBuilder()
        .mode(heatmap.HeatmapColorMode.Scheme)
        .scheme('Oranges'),
    )
    .rowsFrame(new heatmap.RowsHeatmapOptionsBuilder().layout(common.HeatmapCellLayout.Le))
    .withTarget(
      promQuery(
        `sum by (le) (increase(agent_run_tokens_bucket{${AGENTS}}[$__rate_interval]))`,
        '{{le}}',
      ).format(prometheus.PromQueryFormat.Heatmap),
    )
    .links([runbook('AgentRunawayRuns')]);

export const runawayRuns = () =>
  withLimits(
    timeseriesPanel()
      .title('Runaway runs: LLM calls per run p99 by agent, with exemplars')
      .description(
        withTraceWindow(
          'p99 of the LLM calls one run makes, by agent, over 5 minutes (agent:agent_run_llm_calls:p99_rate5m), and the limit AgentRunawayRuns compares with (dashed); a healthy plan makes 2–4. The dots are exemplars: click one to open a runaway run’s trace in Jaeger.',
        ),
      )
      .unit('short')
      .withTarget(promQuery('agent:agent_run_llm_calls:p99_rate5m{agent=~"$agent"}', '{{agent}}'))
      .withTarget(
        promQuery(
          `histogram_quantile(0.99, sum by (le, agent) (rate(agent_run_llm_calls_bucket{${AGENTS}}[$__rate_interval])))`,
          '{{agent}} exemplars',
          'B',
        ).exemplar(true),
      )
      .links([runbook('AgentRunawayRuns'), RUNS_OF_AGENTS]),
    { refId: 'C', expr: 'threshold:agent_run_llm_calls_p99', legend: 'limit' },
  );

export const toolFailureRatio = () =>
  withLimits(
    timeseriesPanel()
      .title('Tool failure ratio (5m, as alerted)')
      .description(
        'Share of each tool’s calls that failed over 5 minutes (tool:agent_tool_call_failures:ratio_rate5m), and the limit ToolCallFailureRatioHigh compares with (dashed).',
      )
      .unit('percentunit')
      .max(1)
      .withTarget(promQuery('tool:agent_tool_call_failures:ratio_rate5m', '{{tool}}'))
      .links([runbook('ToolCallFailureRatioHigh')]),
    { refId: 'B', expr: 'threshold:tool_call_failure_ratio', legend: 'limit' },
  );

export const saturation = () =>
  withLimits(
    timeseriesPanel()
      .title('Runs in flight, share of the cap')
      .description(
        'Runs in flight on each instance as a share of MAX_CONCURRENT_RUNS (agent_runs_concurrency_limit), and the limit AgentRunsNearConcurrencyLimit compares with (dashed). Past 100 %, runs get 503.',
      )
      .unit('percentunit')
      .withTarget(
        promQuery(
          `sum without (agent) (agent_runs_in_progress{${APP}}) / on(job, instance) agent_runs_concurrency_limit{${APP}}`,
          '{{instance}}',
        ),
      )
      .links([runbook('AgentRunsNearConcurrencyLimit')]),
    { refId: 'B', expr: 'threshold:agent_runs_saturation_ratio', legend: 'limit' },
  );

export const cacheSavings = () =>
  timeseriesPanel()
    .title('Cache savings: tokens per second and dollars per hour')
    .description(
      'What the response cache saves: the tokens (by type) and the US dollars per hour that cache hits did not spend, counted at the price of the run each hit copies.',
    )
    .unit('short')
    .withTarget(
      promQuery(
        `sum by (type) (rate(llm_cache_saved_tokens_total{${APP}, model=~"$model"}[$__rate_interval]))`,
        '{{type}} tokens/s',
      ),
    )
    .withTarget(
      promQuery(
        `sum(rate(llm_cache_saved_cost_usd_total{${APP}, model=~"$model"}[$__rate_interval])) * 3600`,
        'USD/h',
        'B',
      ),
    )
    .overrideByQuery('B', [
      { id: 'unit', value: 'currencyUSD' },
      { id: 'custom.axisPlacement', value: 'right' },
    ]);
