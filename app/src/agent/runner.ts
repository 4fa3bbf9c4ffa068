// Executes agent runs: a plan of 2–4 LLM steps with a tool call after the first, each step
// traced (GenAI semantic conventions) and measured, the result cached and stored.
import { hash, randomUUID } from 'node:crypto';
import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import type { Histogram, LabelValues } from 'prom-client';
import type { Tier } from '../config';
import {
  boundChildren,
  genAiLabels,
  metrics,
  observeWithExemplar,
  type Exemplar,
  type LlmStatus,
  type RunStatus,
} from '../telemetry/metrics';
import { recordSpanError, sampledTraceContext, tracer } from '../telemetry/spans';
import { GEN_AI_ATTR as GEN_AI, GEN_AI_OPERATION } from '../telemetry/genai';
import { recordMessages, type ContentCapture } from '../telemetry/genai-content';
import { logger } from '../telemetry/logger';
import { ResponseCache } from './cache';
import { RUNAWAY_LLM_STEPS, type Chaos } from './chaos';
import { PROVIDER, type AgentSpec, type ModelName, type ToolName } from './catalog';
import { CircuitOpenError, type CircuitBreaker } from './circuit-breaker';
import { ProviderError, type Completion, type SimulatedProvider } from './provider';
import {
  cancelReasonOf,
  RunCancelledError,
  RunFailedError,
  RunTimeoutError,
  type LlmStep,
  type RunRecord,
  type RunStep,
} from './run';
import type { RunStore } from './storage';
import { chooseTool, runTool, ToolError } from './tools';

const SYSTEM_PROMPT =
  'You are a careful assistant. Plan the task, use the tools you are given when they help, ' +
  'and answer briefly with the facts you found.';

export interface RunRequest {
  agent: AgentSpec;
  model: ModelName;
  input: string;
  tier: Tier;
  owner: string;
  /** Aborted when a shutdown or the client's going away cancels the run (Admission). */
  cancel?: AbortSignal;
  /** The conversation (session, thread) the run belongs to, when the client names one. */
  conversationId?: string;
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
  /** Faults that act on the agent loop itself (runaway); the provider reads its own. */
  chaos?: Chaos;
  /** Prompt and completion capture on chat spans: off unless configured. */
  capture?: ContentCapture;
  random?: () => number;
}

/** 2, 3 or 4 LLM steps, the same for the same input (so a plan is reproducible). */
export function planLength(input: string): number {
  return 2 + (hash('sha256', input, 'buffer')[0]! % 3);
}

const roundUsd = (usd: number) => Math.round(usd * 1e9) / 1e9;

/** error.type of a failed LLM call: low-cardinality, the same on the span and the metric. */
function llmErrorType(error: unknown): string {
  if (error instanceof CircuitOpenError) return 'circuit_open';
  if (error instanceof ProviderError) return error.kind;
  return error instanceof Error ? error.name : '_OTHER';
}

/** Observes a histogram, with an exemplar when the span is sampled. */
function observe<Label extends string>(
  histogram: Histogram<Label>,
  labels: LabelValues<Label>,
  value: number,
  exemplar: Exemplar | undefined,
): void {
  if (exemplar) observeWithExemplar(histogram, labels, value, exemplar);
  // labels().observe: a histogram with exemplars enabled takes only the object form itself.
  else histogram.labels(labels).observe(value);
}

const NO_CAPTURE: ContentCapture = { enabled: false, maxChars: 0 };

/** What a cache hit saved: the tokens and cost of the LLM steps of the run it copies. */
function savedBy(steps: readonly RunStep[]) {
  const saved = new Map<ModelName, { input: number; output: number; usd: number }>();
  for (const step of steps) {
    if (step.type !== 'llm' || step.status !== 'success') continue;
    const sum = saved.get(step.model) ?? { input: 0, output: 0, usd: 0 };
    sum.input += step.input_tokens;
    sum.output += step.output_tokens;
    sum.usd += step.cost_usd;
    saved.set(step.model, sum);
  }
  return saved;
}

export class AgentRunner {
  private readonly runs = boundChildren(metrics.agentRuns);
  private readonly inProgress = boundChildren(metrics.agentRunsInProgress);
  private readonly toolCalls = boundChildren(metrics.agentToolCalls);
  private readonly llmRequests = boundChildren(metrics.llmRequests);
  private readonly llmDuration = boundChildren(metrics.llmRequestDuration);
  private readonly llmTokens = boundChildren(metrics.llmTokens);
  private readonly llmCost = boundChildren(metrics.llmCost);
  private readonly savedTokens = boundChildren(metrics.llmCacheSavedTokens);
  private readonly savedCost = boundChildren(metrics.llmCacheSavedCost);
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
    const runId = randomUUID();
    const span = tracer.startSpan(`invoke_agent ${agent.name}`, {
      kind: SpanKind.INTERNAL,
      attributes: {
        [GEN_AI.operationName]: GEN_AI_OPERATION.invokeAgent,
        [GEN_AI.providerName]: PROVIDER,
        [GEN_AI.agentName]: agent.name,
        // The agent's stable id is its name in the catalog; the run's own id is app.run.id.
        [GEN_AI.agentId]: agent.name,
        [GEN_AI.requestModel]: model,
        ...(request.conversationId ? { [GEN_AI.conversationId]: request.conversationId } : {}),
        'app.run.id': runId,
        'app.tier': tier,
      },
    });
    const spanContext = span.spanContext();
    const record: RunRecord = {
      id: runId,
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
      await this.execute(request, record);
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
      observe(metrics.agentRunDuration, { agent: agent.name, status }, seconds, exemplar);
      // A cached run spent nothing; a failed one spent what its calls used up to the failure.
      if (!record.cached && record.steps.length > 0) {
        const tokens = record.usage.input_tokens + record.usage.output_tokens;
        observe(metrics.agentRunTokens, { agent: agent.name }, tokens, exemplar);
        const calls = record.steps.filter((step) => step.type === 'llm').length;
        observe(metrics.agentRunLlmCalls, { agent: agent.name }, calls, exemplar);
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

  private async execute(request: RunRequest, record: RunRecord): Promise<void> {
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
      this.countSavings(cached.steps, request.tier);
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
        if (request.cancel?.aborted) throw new RunCancelledError(cancelReasonOf(request.cancel));
        await this.plan(request, record, stop.signal);
      } catch (error) {
        const failure = request.cancel?.aborted
          ? new RunCancelledError(cancelReasonOf(request.cancel))
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

  /** A cache hit saved what the run it copies spent (at that run's prices). */
  private countSavings(steps: readonly RunStep[], tier: Tier): void {
    for (const [model, saved] of savedBy(steps)) {
      this.savedTokens(PROVIDER, model, 'input').inc(saved.input);
      this.savedTokens(PROVIDER, model, 'output').inc(saved.output);
      this.savedCost(PROVIDER, model, tier).inc(saved.usd);
    }
  }

  /** 2-4 steps by the input; a runaway fault makes a share of runs loop far longer. */
  private llmSteps(input: string): number {
    const runaway = this.deps.chaos?.value('runaway');
    const random = this.deps.random ?? Math.random;
    if (runaway !== undefined && random() < runaway) return RUNAWAY_LLM_STEPS;
    return planLength(input);
  }

  /** A runaway loop goes on past its plan only while the fault lasts. */
  private looping(step: number, input: string): boolean {
    return step < planLength(input) || this.deps.chaos?.isActive('runaway') === true;
  }

  private async plan(request: RunRequest, record: RunRecord, signal: AbortSignal): Promise<void> {
    const { agent, input } = request;
    const llmSteps = this.llmSteps(input);
    const tool = chooseTool(agent.tools, input);
    const context: string[] = [input];
    for (let step = 0; step < llmSteps && this.looping(step, input); step++) {
      const prompt = `${SYSTEM_PROMPT}\n${context.join('\n')}`;
      const completion = await this.callModel(record, request, prompt, signal);
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
    request: RunRequest,
    prompt: string,
    signal: AbortSignal,
  ): Promise<Completion> {
    const { model, agent } = request;
    const started = performance.now();
    const span = tracer.startSpan(`chat ${model}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        [GEN_AI.operationName]: GEN_AI_OPERATION.chat,
        [GEN_AI.providerName]: PROVIDER,
        [GEN_AI.requestModel]: model,
        [GEN_AI.agentName]: agent.name,
        ...(request.conversationId ? { [GEN_AI.conversationId]: request.conversationId } : {}),
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
    let errorType: string | undefined;
    try {
      const completion = await this.deps.breaker.execute(
        () => this.deps.provider.complete({ model, prompt, signal }),
        request.cancel,
      );
      status = 'success';
      this.recordCompletion(record, step, request, completion);
      recordMessages(span, this.deps.capture ?? NO_CAPTURE, prompt, completion);
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
      errorType = llmErrorType(error);
      step.error = error instanceof Error ? error.message : String(error);
      recordMessages(span, this.deps.capture ?? NO_CAPTURE, prompt);
      recordSpanError(span, error, errorType);
      throw error;
    } finally {
      const elapsed = performance.now() - started;
      step.duration_ms = Math.round(elapsed);
      // A call the run gave up (cancelled: a shutdown, a client gone) is not the provider's
      // doing: it counts neither as a call nor as an error (the run counts as cancelled).
      const cancelled = status !== 'success' && request.cancel?.aborted === true;
      if (!cancelled) this.llmRequests(PROVIDER, model, status).inc();
      // A refused call never reached the provider: it has no provider latency.
      if (status !== 'circuit_open' && !cancelled) {
        const seconds = elapsed / 1000;
        const exemplar = sampledTraceContext(span);
        // The bound child when there is no exemplar: an unsampled call hashes no labels here.
        if (exemplar) {
          const llmLabels = { provider: PROVIDER, model };
          observeWithExemplar(metrics.llmRequestDuration, llmLabels, seconds, exemplar);
        } else this.llmDuration(PROVIDER, model).observe(seconds);
        const genAi = genAiLabels(PROVIDER, model, undefined, errorType);
        observe(metrics.genAiOperationDuration, genAi, seconds, exemplar);
      }
      span.end();
    }
  }

  /** A successful call's tokens and cost: on its step, its run, and the counters. */
  private recordCompletion(
    record: RunRecord,
    step: LlmStep,
    request: RunRequest,
    completion: Completion,
  ): void {
    const { model, tier, agent } = request;
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
    this.llmCost(PROVIDER, model, tier, agent.name).inc(completion.costUsd);
    metrics.genAiTokenUsage.observe(genAiLabels(PROVIDER, model, 'input'), completion.inputTokens);
    metrics.genAiTokenUsage.observe(
      genAiLabels(PROVIDER, model, 'output'),
      completion.outputTokens,
    );
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
        [GEN_AI.operationName]: GEN_AI_OPERATION.executeTool,
        [GEN_AI.toolName]: tool,
        [GEN_AI.toolType]: 'function',
        [GEN_AI.toolCallId]: `call_${record.id}_${record.steps.length}`,
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
