// Executes agent runs: a plan of 2–4 LLM steps with a tool call after the first, the result
// cached and stored. The run is traced and measured here (its span, with its metrics and its log
// line beside it); each call to the provider or a tool is observed by call-telemetry.ts.
import { hash, randomUUID } from 'node:crypto';
import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import type { Tier } from '../config';
import { boundChildren, metrics, observe, type RunStatus } from '../telemetry/metrics';
import { recordSpanError, sampledTraceContext, tracer } from '../telemetry/spans';
import { GEN_AI_ATTR as GEN_AI, GEN_AI_OPERATION } from '../telemetry/genai';
import type { ContentCapture } from '../telemetry/genai-content';
import { logger } from '../telemetry/logger';
import { ResponseCache } from './cache';
import { ChatCall, countCacheLookup, countCacheSavings, ToolCall } from './call-telemetry';
import { RUNAWAY_LLM_STEPS, type Chaos } from './chaos';
import { PROVIDER, type AgentSpec, type ModelName, type ToolName } from './catalog';
import type { CircuitBreaker } from './circuit-breaker';
import type { Completion, SimulatedProvider } from './provider';
import {
  cancelReasonOf,
  RunCancelledError,
  RunFailedError,
  RunTimeoutError,
  type LlmStep,
  type RunRecord,
  type RunStep,
  type ToolStep,
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

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An LLM step as it starts: an error until its call succeeds. */
function llmStep(index: number, model: ModelName): LlmStep {
  return {
    index,
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
}

/** A tool step as it starts: an error until the tool answers. */
function toolStep(index: number, tool: ToolName): ToolStep {
  return {
    index,
    type: 'tool',
    tool,
    status: 'error',
    duration_ms: 0,
    input: '',
    output: null,
    error: null,
  };
}

/** A successful call's tokens and cost, on its step and its run. */
function addUsage(record: RunRecord, step: LlmStep, completion: Completion): void {
  step.status = 'success';
  step.input_tokens = completion.inputTokens;
  step.output_tokens = completion.outputTokens;
  step.cost_usd = roundUsd(completion.costUsd);
  step.output = completion.text;
  record.usage.input_tokens += completion.inputTokens;
  record.usage.output_tokens += completion.outputTokens;
  record.usage.total_tokens = record.usage.input_tokens + record.usage.output_tokens;
  record.cost_usd = roundUsd(record.cost_usd + completion.costUsd);
}

export class AgentRunner {
  private readonly runs = boundChildren(metrics.agentRuns);
  private readonly inProgress = boundChildren(metrics.agentRunsInProgress);

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
      record.error = errorMessage(error);
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
    const { cache, store } = this.deps;
    const started = performance.now();
    const cacheKey = ResponseCache.key(agent.name, model, input);
    const cached = cache.enabled ? cache.get(cacheKey) : undefined;
    if (cache.enabled) countCacheLookup(cached !== undefined);
    if (cached) {
      record.cached = true;
      record.steps = cached.steps;
      record.output = cached.output;
      countCacheSavings(cached.steps, request.tier);
    } else {
      await this.planInTime(request, record, started);
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

  /**
   * The plan, stopped by the run's timeout or its cancellation; a run that fails is stored as
   * it ended, with the error that says why.
   */
  private async planInTime(request: RunRequest, record: RunRecord, started: number): Promise<void> {
    const { runTimeoutMs } = this.deps;
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
      record.error = errorMessage(failure);
      record.duration_ms = Math.round(performance.now() - started);
      this.storeFailedRun(record, request.owner);
      throw failure;
    } finally {
      clearTimeout(timer);
      request.cancel?.removeEventListener('abort', cancel);
    }
  }

  /** The `planned` steps; a runaway fault makes a share of runs loop far longer. */
  private llmSteps(planned: number): number {
    const runaway = this.deps.chaos?.value('runaway');
    const random = this.deps.random ?? Math.random;
    if (runaway !== undefined && random() < runaway) return RUNAWAY_LLM_STEPS;
    return planned;
  }

  /** A runaway loop goes on past its plan only while the fault lasts. */
  private looping(step: number, planned: number): boolean {
    return step < planned || this.deps.chaos?.isActive('runaway') === true;
  }

  private async plan(request: RunRequest, record: RunRecord, signal: AbortSignal): Promise<void> {
    const { agent, input } = request;
    // Once per run: a hash of an input of up to 64 KiB takes 60 µs of the event loop.
    const planned = planLength(input);
    const llmSteps = this.llmSteps(planned);
    const tool = chooseTool(agent.tools, input);
    const context: string[] = [input];
    for (let step = 0; step < llmSteps && this.looping(step, planned); step++) {
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

  /** One LLM step: the call through the circuit breaker, its usage on the step and the run. */
  private async callModel(
    record: RunRecord,
    request: RunRequest,
    prompt: string,
    signal: AbortSignal,
  ): Promise<Completion> {
    const { model } = request;
    const call = new ChatCall(request, prompt, this.deps.capture);
    const step = llmStep(record.steps.length, model);
    record.steps.push(step);
    try {
      const completion = await this.deps.breaker.execute(
        () => this.deps.provider.complete({ model, prompt, signal }),
        request.cancel,
      );
      addUsage(record, step, completion);
      call.succeeded(completion);
      return completion;
    } catch (error) {
      step.error = errorMessage(error);
      call.failed(error);
      throw error;
    } finally {
      step.duration_ms = Math.round(call.end());
    }
  }

  /** Runs a tool; its failure is recorded in the step and does not fail the run. */
  private callTool(
    record: RunRecord,
    agent: AgentSpec,
    tool: ToolName,
    input: string,
  ): string | undefined {
    const call = new ToolCall(agent.name, tool, `call_${record.id}_${record.steps.length}`);
    const step = toolStep(record.steps.length, tool);
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
      call.failed(error);
      return undefined;
    } finally {
      step.duration_ms = Math.round(call.end(step.status));
    }
  }
}
