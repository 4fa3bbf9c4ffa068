// Executes agent runs: a plan of 2–4 LLM steps with a tool call after the first, each step
// traced (GenAI semantic conventions) and measured, the result cached and stored.
import { hash, randomUUID } from 'node:crypto';
import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import type { Tier } from '../config';
import {
  boundChildren,
  metrics,
  observeWithExemplar,
  type LlmStatus,
  type RunStatus,
} from '../telemetry/metrics';
import { recordSpanError, sampledTraceContext, tracer } from '../telemetry/spans';
import { logger } from '../telemetry/logger';
import { ResponseCache } from './cache';
import { PROVIDER, type AgentSpec, type ModelName, type ToolName } from './catalog';
import { CircuitOpenError, type CircuitBreaker } from './circuit-breaker';
import { ProviderError, type Completion, type SimulatedProvider } from './provider';
import {
  RunCancelledError,
  RunFailedError,
  RunTimeoutError,
  type RunRecord,
  type RunStep,
} from './run';
import type { RunStore } from './storage';
import { chooseTool, runTool, ToolError } from './tools';

// GenAI semantic-convention attribute names (development status, hence spelled out here).
const GEN_AI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  agentName: 'gen_ai.agent.name',
  agentId: 'gen_ai.agent.id',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  finishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  toolName: 'gen_ai.tool.name',
  toolType: 'gen_ai.tool.type',
  toolCallId: 'gen_ai.tool.call.id',
} as const;

const SYSTEM_PROMPT =
  'You are a careful assistant. Plan the task, use the tools you are given when they help, ' +
  'and answer briefly with the facts you found.';

export interface RunRequest {
  agent: AgentSpec;
  model: ModelName;
  input: string;
  tier: Tier;
  owner: string;
  /** Aborted when a shutdown cancels the run (Admission). */
  cancel?: AbortSignal;
}

/** What the response cache keeps of a run: a cached run copies only its steps and output. */
export interface CachedAnswer {
  steps: RunStep[];
  output: string | null;
}

/** Bytes an answer takes in memory, about: JavaScript strings take up to 2 bytes a character. */
export function answerBytes(answer: CachedAnswer): number {
  return 2 * JSON.stringify(answer).length;
}

function statusOf(error: unknown): 'timeout' | 'cancelled' | 'error' {
  if (error instanceof RunTimeoutError) return 'timeout';
  return error instanceof RunCancelledError ? 'cancelled' : 'error';
}

export interface RunnerDeps {
  provider: SimulatedProvider;
  breaker: CircuitBreaker;
  store: RunStore;
  cache: ResponseCache<CachedAnswer>;
  runTimeoutMs: number;
}

/** 2, 3 or 4 LLM steps, the same for the same input (so a plan is reproducible). */
export function planLength(input: string): number {
  return 2 + (hash('sha256', input, 'buffer')[0]! % 3);
}

const roundUsd = (usd: number) => Math.round(usd * 1e9) / 1e9;

export class AgentRunner {
  private readonly runs = boundChildren(metrics.agentRuns);
  private readonly inProgress = boundChildren(metrics.agentRunsInProgress);
  private readonly toolCalls = boundChildren(metrics.agentToolCalls);
  private readonly llmRequests = boundChildren(metrics.llmRequests);
  private readonly llmDuration = boundChildren(metrics.llmRequestDuration);
  private readonly llmTokens = boundChildren(metrics.llmTokens);
  private readonly llmCost = boundChildren(metrics.llmCost);
  private readonly cacheHit = metrics.cacheRequests.labels('response', 'hit');
  private readonly cacheMiss = metrics.cacheRequests.labels('response', 'miss');

  constructor(private readonly deps: RunnerDeps) {}

  /** Counts a run the rate limiter refused before it started. */
  recordRejected(agent: AgentSpec, tier: Tier): void {
    this.runs(agent.name, tier, 'rejected').inc();
  }

  async run(request: RunRequest): Promise<RunRecord> {
    const { agent, model, input, tier } = request;
    const started = performance.now();
    const span = tracer.startSpan(`invoke_agent ${agent.name}`, {
      kind: SpanKind.INTERNAL,
      attributes: {
        [GEN_AI.operation]: 'invoke_agent',
        [GEN_AI.provider]: PROVIDER,
        [GEN_AI.agentName]: agent.name,
        [GEN_AI.requestModel]: model,
        'app.tier': tier,
      },
    });
    const spanContext = span.spanContext();
    const record: RunRecord = {
      id: randomUUID(),
      agent: agent.name,
      model,
      tier,
      status: 'error',
      cached: false,
      input,
      output: null,
      error: null,
      steps: [],
      usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
      cost_usd: 0,
      duration_ms: 0,
      trace_id: trace.isSpanContextValid(spanContext) ? spanContext.traceId : null,
      created_at: new Date().toISOString(),
    };
    span.setAttribute(GEN_AI.agentId, record.id);
    // Everything the run does, its final log line included, happens inside its span.
    return context.with(trace.setSpan(context.active(), span), () =>
      this.track(request, record, span, started),
    );
  }

  /** Executes the run and records its outcome in metrics, span and log, whatever it is. */
  private async track(
    request: RunRequest,
    record: RunRecord,
    span: Span,
    started: number,
  ): Promise<RunRecord> {
    const { agent, model, tier } = request;
    const inProgress = this.inProgress(agent.name);
    inProgress.inc();
    let status: RunStatus = 'error';
    try {
      await this.execute(request, record, span);
      status = 'success';
      return record;
    } catch (error) {
      status = statusOf(error);
      record.status = status;
      record.error = error instanceof Error ? error.message : String(error);
      recordSpanError(span, error);
      throw new RunFailedError(record, error);
    } finally {
      inProgress.dec();
      const seconds = (performance.now() - started) / 1000;
      this.runs(agent.name, tier, status).inc();
      const exemplar = sampledTraceContext(span);
      if (exemplar) {
        observeWithExemplar(
          metrics.agentRunDuration,
          { agent: agent.name, status },
          seconds,
          exemplar,
        );
      } else {
        metrics.agentRunDuration.labels(agent.name, status).observe(seconds);
      }
      logger.log(status === 'success' ? 'info' : 'warn', 'agent run finished', {
        run_id: record.id,
        agent: agent.name,
        model,
        tier,
        status,
        cached: record.cached,
        steps: record.steps.length,
        cost_usd: record.cost_usd,
        duration_ms: Math.round(seconds * 1000),
        error: record.error ?? undefined,
      });
      if (span.isRecording()) {
        span.setAttributes({
          'app.run.status': status,
          'app.run.cached': record.cached,
          [GEN_AI.inputTokens]: record.usage.input_tokens,
          [GEN_AI.outputTokens]: record.usage.output_tokens,
        });
      }
      span.end();
    }
  }

  private async execute(request: RunRequest, record: RunRecord, span: Span): Promise<void> {
    const { agent, model, input, owner } = request;
    const { cache, store, runTimeoutMs } = this.deps;
    const started = performance.now();
    const cacheKey = ResponseCache.key(agent.name, model, input);
    const cached = cache.enabled ? cache.get(cacheKey) : undefined;
    if (cache.enabled) (cached ? this.cacheHit : this.cacheMiss).inc();
    if (cached) {
      record.cached = true;
      record.steps = cached.steps;
      record.output = cached.output;
    } else {
      // One controller for both ends of a run, the timeout and a shutdown's cancellation (not
      // AbortSignal.any, whose combined signal holds its sources only weakly).
      const stop = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        stop.abort();
      }, runTimeoutMs);
      const cancel = () => stop.abort();
      request.cancel?.addEventListener('abort', cancel, { once: true });
      try {
        if (request.cancel?.aborted) throw new RunCancelledError();
        await this.plan(request, record, stop.signal);
      } catch (error) {
        const failure = request.cancel?.aborted
          ? new RunCancelledError()
          : timedOut
            ? new RunTimeoutError(runTimeoutMs)
            : error;
        record.status = statusOf(failure);
        record.error = failure instanceof Error ? failure.message : String(failure);
        record.duration_ms = Math.round(performance.now() - started);
        this.storeFailedRun(record, owner);
        throw failure;
      } finally {
        clearTimeout(timer);
        request.cancel?.removeEventListener('abort', cancel);
      }
    }
    record.status = 'success';
    record.duration_ms = Math.round(performance.now() - started);
    span.setAttribute('app.run.id', record.id);
    try {
      store.insertRun(record, owner);
    } catch (error) {
      record.status = 'error';
      throw error;
    }
    if (!record.cached) {
      const answer = { steps: record.steps, output: record.output };
      cache.set(cacheKey, answer, answerBytes(answer));
    }
  }

  private async plan(request: RunRequest, record: RunRecord, signal: AbortSignal): Promise<void> {
    const { agent, model, input, tier } = request;
    const llmSteps = planLength(input);
    const tool = chooseTool(agent.tools, input);
    const context: string[] = [input];
    for (let step = 0; step < llmSteps; step++) {
      const prompt = `${SYSTEM_PROMPT}\n${context.join('\n')}`;
      const completion = await this.callModel(record, model, prompt, tier, signal);
      context.push(completion.text);
      if (step === 0 && tool !== undefined) {
        const result = this.callTool(record, agent, tool, input);
        if (result !== undefined) context.push(result);
      }
    }
    record.output = context.at(-1) ?? null;
  }

  /** Failed runs are stored too, so GET /v1/runs/:id says what went wrong. */
  private storeFailedRun(record: RunRecord, owner: string): void {
    try {
      this.deps.store.insertRun(record, owner);
    } catch {
      // Counted in db_errors_total by the store; the run's own error is what the client sees.
    }
  }

  private async callModel(
    record: RunRecord,
    model: ModelName,
    prompt: string,
    tier: Tier,
    signal: AbortSignal,
  ): Promise<Completion> {
    const started = performance.now();
    const span = tracer.startSpan(`chat ${model}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        [GEN_AI.operation]: 'chat',
        [GEN_AI.provider]: PROVIDER,
        [GEN_AI.requestModel]: model,
      },
    });
    const step: RunStep = {
      index: record.steps.length,
      type: 'llm',
      model,
      status: 'error',
      duration_ms: 0,
      input_tokens: 0,
      output_tokens: 0,
      cost_usd: 0,
      output: null,
      error: null,
    };
    record.steps.push(step);
    let status: LlmStatus = 'error';
    try {
      const completion = await this.deps.breaker.execute(() =>
        this.deps.provider.complete({ model, prompt, signal }),
      );
      status = 'success';
      step.status = 'success';
      step.input_tokens = completion.inputTokens;
      step.output_tokens = completion.outputTokens;
      step.cost_usd = roundUsd(completion.costUsd);
      step.output = completion.text;
      record.usage.input_tokens += completion.inputTokens;
      record.usage.output_tokens += completion.outputTokens;
      record.usage.total_tokens = record.usage.input_tokens + record.usage.output_tokens;
      record.cost_usd = roundUsd(record.cost_usd + completion.costUsd);
      this.llmTokens(PROVIDER, model, 'input').inc(completion.inputTokens);
      this.llmTokens(PROVIDER, model, 'output').inc(completion.outputTokens);
      this.llmCost(PROVIDER, model, tier).inc(completion.costUsd);
      if (span.isRecording()) {
        span.setAttributes({
          [GEN_AI.responseModel]: completion.model,
          [GEN_AI.responseId]: completion.id,
          [GEN_AI.finishReasons]: [completion.finishReason],
          [GEN_AI.inputTokens]: completion.inputTokens,
          [GEN_AI.outputTokens]: completion.outputTokens,
          'app.llm.cost_usd': completion.costUsd,
        });
      }
      return completion;
    } catch (error) {
      if (error instanceof CircuitOpenError) status = 'circuit_open';
      step.error = error instanceof Error ? error.message : String(error);
      recordSpanError(
        span,
        error,
        error instanceof CircuitOpenError
          ? 'circuit_open'
          : error instanceof ProviderError
            ? error.kind
            : undefined,
      );
      throw error;
    } finally {
      const elapsed = performance.now() - started;
      step.duration_ms = Math.round(elapsed);
      this.llmRequests(PROVIDER, model, status).inc();
      // A refused call never reached the provider: it has no provider latency.
      if (status !== 'circuit_open') this.llmDuration(PROVIDER, model).observe(elapsed / 1000);
      span.end();
    }
  }

  /** Runs a tool; its failure is recorded in the step and does not fail the run. */
  private callTool(
    record: RunRecord,
    agent: AgentSpec,
    tool: ToolName,
    input: string,
  ): string | undefined {
    const started = performance.now();
    const span = tracer.startSpan(`execute_tool ${tool}`, {
      kind: SpanKind.INTERNAL,
      attributes: {
        [GEN_AI.operation]: 'execute_tool',
        [GEN_AI.toolName]: tool,
        [GEN_AI.toolType]: 'function',
        [GEN_AI.toolCallId]: `call-${record.steps.length}`,
      },
    });
    const step: RunStep = {
      index: record.steps.length,
      type: 'tool',
      tool,
      status: 'error',
      duration_ms: 0,
      input: '',
      output: null,
      error: null,
    };
    record.steps.push(step);
    try {
      const result = runTool(tool, input);
      step.status = 'success';
      step.input = result.input;
      step.output = result.output;
      return result.output;
    } catch (error) {
      if (!(error instanceof ToolError)) throw error;
      step.error = error.message;
      recordSpanError(span, error, 'tool_error');
      return undefined;
    } finally {
      step.duration_ms = Math.round(performance.now() - started);
      this.toolCalls(agent.name, tool, step.status).inc();
      span.end();
    }
  }
}
