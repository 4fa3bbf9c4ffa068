// Agents and LLM: what the agents do (runs, outcome, duration, tools) and what the LLM
// calls behind them cost (tokens, dollars, errors, cache, circuit breaker).
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  APP,
  BLUE,
  GREEN,
  ORANGE,
  RED,
  YELLOW,
  agentDashboard,
  finish,
  labelVariable,
  promQuery,
  stateTimelinePanel,
  statOverRange,
  thresholds,
  timeseriesPanel,
  valueMappings,
  withLimits,
} from './common.ts';
import { UIDS, jaegerSearch, runbook, withTraceWindow } from './links.ts';

const AGENTS = `${APP}, agent=~"$agent"`;
const MODELS = `${APP}, model=~"$model"`;

export const agentsLlm = (): dashboard.Dashboard =>
  finish(
    agentDashboard(
      UIDS.agentsLlm,
      'Agent service / Agents and LLM',
      'Agent runs (volume, outcome, duration, tool calls) and the LLM calls behind them (tokens, cost, errors, cache, circuit breaker).',
    )
      .withVariable(labelVariable('agent', 'Agent', `agent_runs_total{${APP}}`))
      .withVariable(labelVariable('model', 'Model', `llm_requests_total{${APP}}`))
      .withRow(new dashboard.RowBuilder('Agent runs'))
      .withPanel(runSuccessRatio().span(6).height(5))
      .withPanel(runsInRange().span(6).height(5))
      .withPanel(costInRange().span(6).height(5))
      .withPanel(cacheHitRatio().span(6).height(5))
      .withPanel(runsByStatus().span(8).height(8))
      .withPanel(runFailureRatio().span(8).height(8))
      .withPanel(runDuration().span(8).height(8))
      .withPanel(runsInProgress().span(8).height(7))
      .withPanel(runsRefused().span(8).height(7))
      .withPanel(toolCalls().span(8).height(7))
      .withRow(new dashboard.RowBuilder('LLM calls'))
      .withPanel(llmRequests().span(8).height(8))
      .withPanel(llmErrorRatio().span(8).height(8))
      .withPanel(llmLatency().span(8).height(8))
      .withPanel(tokens().span(8).height(8))
      .withPanel(costPerHour().span(8).height(8))
      .withPanel(circuitBreaker().span(8).height(8)),
  );

export const runSuccessRatio = () =>
  statOverRange()
    .title('Run success ratio')
    .description(
      'Share of the started agent runs that ended in success over the dashboard’s time range (errors and timeouts are the rest; runs rejected before they started count on neither side, as in the run-failure alert). Red below 90 %: that alert fires above 10 % failures.',
    )
    .unit('percentunit')
    .decimals(1)
    .thresholds(thresholds([null, RED], [0.9, ORANGE], [0.97, GREEN]))
    .withTarget(
      promQuery(
        `sum(increase(agent_runs_total{${AGENTS}, status="success"}[$__range]))\n` +
          `/ sum(increase(agent_runs_total{${AGENTS}, status!="rejected"}[$__range]))`,
        'success',
      ).instant(),
    )
    .links([runbook('AgentRunFailureRatioHigh')]);

export const runsInRange = () =>
  statOverRange()
    .title('Runs')
    .description('Agent runs started in the dashboard’s time range, all outcomes.')
    .unit('short')
    .decimals(0)
    .withTarget(
      promQuery(`sum(increase(agent_runs_total{${AGENTS}}[$__range]))`, 'runs').instant(),
    );

export const costInRange = () =>
  statOverRange()
    .title('LLM cost')
    .description(
      'Dollars spent on LLM calls in the dashboard’s time range (simulated price table).',
    )
    .unit('currencyUSD')
    .decimals(2)
    .withTarget(
      promQuery(`sum(increase(llm_cost_usd_total{${MODELS}}[$__range]))`, 'cost').instant(),
    )
    .links([runbook('LLMCostSpike')]);

export const cacheHitRatio = () =>
  statOverRange()
    .title('Response cache hit ratio')
    .description(
      'Share of identical prompts answered from the response cache instead of an LLM call, over the time range. Higher is cheaper.',
    )
    .unit('percentunit')
    .decimals(1)
    .thresholds(thresholds([null, BLUE]))
    .withTarget(
      promQuery(
        `sum(increase(cache_requests_total{${APP}, cache="response", result="hit"}[$__range]))\n` +
          `/ sum(increase(cache_requests_total{${APP}, cache="response"}[$__range]))`,
        'hit ratio',
      ).instant(),
    );

export const runsByStatus = () =>
  timeseriesPanel()
    .title('Runs by outcome')
    .description('Agent runs per second by outcome: success, error, timeout, rejected.')
    .unit('suffix: runs/s')
    .withTarget(
      promQuery(
        `sum by (status) (rate(agent_runs_total{${AGENTS}}[$__rate_interval]))`,
        '{{status}}',
      ),
    );

export const runFailureRatio = () =>
  withLimits(
    timeseriesPanel()
      .title('Run failure ratio by agent (5m, as alerted)')
      .description(
        'Share of each agent’s started runs that ended in error or timeout over 5 minutes (recording rule agent:agent_run_failures:ratio_rate5m). The dashed line is the alert limit.',
      )
      .unit('percentunit')
      .max(1)
      .withTarget(promQuery('agent:agent_run_failures:ratio_rate5m{agent=~"$agent"}', '{{agent}}'))
      .links([
        runbook('AgentRunFailureRatioHigh'),
        jaegerSearch('failed agent runs', { tags: '{"error":"true"}' }),
      ]),
    { refId: 'B', expr: 'threshold:agent_run_failure_ratio', legend: 'limit' },
  );

export const runDuration = () =>
  timeseriesPanel()
    .title('Run duration p95 by agent, with exemplars')
    .description(
      withTraceWindow(
        '95th percentile duration of an agent run (plan, LLM calls, tools). The dots are exemplars: click one to open that run’s trace. With tail sampling on (COLLECTOR_TAIL_SAMPLING=on), Jaeger keeps failed and slow runs and a tenth of the rest, so the trace of an ordinary run may be missing.',
      ),
    )
    .unit('s')
    .withTarget(
      promQuery(
        `histogram_quantile(0.95, sum by (le, agent) (rate(agent_run_duration_seconds_bucket{${AGENTS}}[$__rate_interval])))`,
        '{{agent}}',
      ).exemplar(true),
    )
    .links([jaegerSearch('agent runs slower than 10 s', { minDuration: '10s' })]);

export const runsInProgress = () =>
  timeseriesPanel()
    .title('Runs in progress')
    .description('Agent runs executing right now, per agent.')
    .unit('short')
    .decimals(0)
    .withTarget(promQuery(`sum by (agent) (agent_runs_in_progress{${AGENTS}})`, '{{agent}}'))
    // The cap is per instance: compare it with one instance's runs (MAX_CONCURRENT_RUNS).
    .withTarget(promQuery(`max(agent_runs_concurrency_limit{${APP}})`, 'cap per instance'));

export const runsRefused = () =>
  timeseriesPanel()
    .title('Runs refused with 503')
    .description(
      'Runs refused past MAX_CONCURRENT_RUNS (overloaded), and refused or cancelled by a shutdown (shutting_down). Both count against the availability SLO (ADR 0003).',
    )
    .unit('ops')
    .withTarget(
      promQuery(
        `sum by (reason) (rate(agent_runs_rejected_total{${APP}}[$__rate_interval]))`,
        '{{reason}}',
      ),
    );

export const toolCalls = () =>
  timeseriesPanel()
    .title('Tool calls by tool and outcome')
    .description('Tool calls per second made by the agents (search, calculator), by outcome.')
    .unit('ops')
    .withTarget(
      promQuery(
        `sum by (tool, status) (rate(agent_tool_calls_total{${AGENTS}}[$__rate_interval]))`,
        '{{tool}} {{status}}',
      ),
    );

export const llmRequests = () =>
  timeseriesPanel()
    .title('LLM requests by model and outcome')
    .description(
      'Calls to the LLM provider per second. circuit_open = refused by the circuit breaker without calling the provider.',
    )
    .unit('reqps')
    .withTarget(
      promQuery(
        `sum by (model, status) (rate(llm_requests_total{${MODELS}}[$__rate_interval]))`,
        '{{model}} {{status}}',
      ),
    );

export const llmErrorRatio = () =>
  withLimits(
    timeseriesPanel()
      .title('LLM error ratio by provider (5m, as alerted)')
      .description(
        'Share of LLM calls not answered with success (errors and calls refused by the open circuit) over 5 minutes (recording rule provider:llm_request_errors:ratio_rate5m). The dashed line is the provider-down limit.',
      )
      .unit('percentunit')
      .max(1)
      .withTarget(promQuery('provider:llm_request_errors:ratio_rate5m', '{{provider}}'))
      .links([runbook('LLMProviderDown')]),
    { refId: 'B', expr: 'threshold:llm_error_ratio', legend: 'limit' },
  );

export const llmLatency = () =>
  timeseriesPanel()
    .title('LLM call latency p95 by model')
    .description('95th percentile duration of one call to the (simulated) LLM provider.')
    .unit('s')
    .withTarget(
      promQuery(
        `histogram_quantile(0.95, sum by (le, model) (rate(llm_request_duration_seconds_bucket{${MODELS}}[$__rate_interval])))`,
        '{{model}}',
      ),
    );

export const tokens = () =>
  timeseriesPanel()
    .title('Tokens by model, in and out')
    .description('LLM tokens per second: input (prompt) and output (completion), per model.')
    .unit('suffix: tokens/s')
    .withTarget(
      promQuery(
        `sum by (model, type) (rate(llm_tokens_total{${MODELS}}[$__rate_interval]))`,
        '{{model}} {{type}}',
      ),
    );

export const costPerHour = () =>
  withLimits(
    timeseriesPanel()
      .title('LLM cost per hour by model and tier')
      .description(
        'US dollars per hour at the rate of the last hour (recording rule model_tier:llm_cost_usd:per_hour_rate1h), their total, and the hourly budget the cost alert compares the total with (dashed).',
      )
      .unit('currencyUSD')
      .withTarget(
        promQuery('model_tier:llm_cost_usd:per_hour_rate1h{model=~"$model"}', '{{model}} {{tier}}'),
      )
      .withTarget(
        promQuery('sum(model_tier:llm_cost_usd:per_hour_rate1h{model=~"$model"})', 'total', 'B'),
      )
      .links([runbook('LLMCostSpike')]),
    { refId: 'C', expr: 'threshold:llm_cost_budget_usd_per_hour', legend: 'budget' },
  );

export const circuitBreaker = () =>
  stateTimelinePanel()
    .title('Circuit breaker')
    .description(
      'State of the circuit breaker around the LLM provider: closed (calls pass), half-open (one trial call), open (calls refused at once).',
    )
    .unit('short')
    .mappings(
      valueMappings({
        '0': { text: 'closed', color: GREEN },
        '1': { text: 'half-open', color: YELLOW },
        '2': { text: 'open', color: RED },
      }),
    )
    .thresholds(thresholds([null, GREEN], [1, YELLOW], [2, RED]))
    .withTarget(promQuery(`max by (dependency) (circuit_breaker_state{${APP}})`, '{{dependency}}'))
    .links([runbook('LLMProviderDown')]);
