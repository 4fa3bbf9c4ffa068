// The telemetry around the agent's calls, written once so that the runner (runner.ts) reads as
// the agent's logic. A chat call: its `chat {model}` span (GenAI conventions), the request
// counter, the latency histograms with an exemplar of the span when it is sampled, tokens and
// cost. A tool call: its `execute_tool {tool}` span and counter. The response cache: its
// lookups, and what a hit saved.
import { SpanKind, type Span } from '@opentelemetry/api';
import type { Tier } from '../config';
import { GEN_AI_ATTR as GEN_AI, GEN_AI_OPERATION } from '../telemetry/genai';
import { recordMessages, type ContentCapture } from '../telemetry/genai-content';
import {
  boundChildren,
  genAiLabels,
  metrics,
  observe,
  observeWithExemplar,
  type LlmStatus,
} from '../telemetry/metrics';
import { recordSpanError, sampledTraceContext, tracer } from '../telemetry/spans';
import { PROVIDER, type AgentSpec, type ModelName, type ToolName } from './catalog';
import { CircuitOpenError } from './circuit-breaker';
import { ProviderError, type Completion } from './provider';
import type { RunStep } from './run';
import type { ToolError } from './tools';

const llmRequests = boundChildren(metrics.llmRequests);
const llmDuration = boundChildren(metrics.llmRequestDuration);
const llmTokens = boundChildren(metrics.llmTokens);
const llmCost = boundChildren(metrics.llmCost);
const toolCalls = boundChildren(metrics.agentToolCalls);
const savedTokens = boundChildren(metrics.llmCacheSavedTokens);
const savedCost = boundChildren(metrics.llmCacheSavedCost);
const cacheHit = metrics.cacheRequests.labels('response', 'hit');
const cacheMiss = metrics.cacheRequests.labels('response', 'miss');

const NO_CAPTURE: ContentCapture = { enabled: false, maxChars: 0 };

/** Who makes a chat call, for its span and its metrics' labels. */
export interface ChatCaller {
  agent: AgentSpec;
  model: ModelName;
  tier: Tier;
  conversationId?: string;
  /** Aborted when the run is cancelled: a call it gave up is not the provider's doing. */
  cancel?: AbortSignal;
}

/** error.type of a failed LLM call: low-cardinality, the same on the span and the metric. */
function llmErrorType(error: unknown): string {
  if (error instanceof CircuitOpenError) return 'circuit_open';
  if (error instanceof ProviderError) return error.kind;
  return error instanceof Error ? error.name : '_OTHER';
}

/**
 * One call to the LLM provider, observed from its start (the span) to `end()`: `succeeded`
 * or `failed` in between says how it went.
 */
export class ChatCall {
  private readonly started = performance.now();
  private readonly span: Span;
  private status: LlmStatus = 'error';
  private errorType: string | undefined;

  constructor(
    private readonly caller: ChatCaller,
    private readonly prompt: string,
    private readonly capture: ContentCapture = NO_CAPTURE,
  ) {
    const { model, agent, conversationId } = caller;
    this.span = tracer.startSpan(`chat ${model}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        [GEN_AI.operationName]: GEN_AI_OPERATION.chat,
        [GEN_AI.providerName]: PROVIDER,
        [GEN_AI.requestModel]: model,
        [GEN_AI.agentName]: agent.name,
        ...(conversationId ? { [GEN_AI.conversationId]: conversationId } : {}),
      },
    });
  }

  /** Tokens and cost on the counters, the response (and the messages, if captured) on the span. */
  succeeded(completion: Completion): void {
    const { model, tier, agent } = this.caller;
    this.status = 'success';
    llmTokens(PROVIDER, model, 'input').inc(completion.inputTokens);
    llmTokens(PROVIDER, model, 'output').inc(completion.outputTokens);
    llmCost(PROVIDER, model, tier, agent.name).inc(completion.costUsd);
    metrics.genAiTokenUsage.observe(genAiLabels(PROVIDER, model, 'input'), completion.inputTokens);
    metrics.genAiTokenUsage.observe(
      genAiLabels(PROVIDER, model, 'output'),
      completion.outputTokens,
    );
    recordMessages(this.span, this.capture, this.prompt, completion);
    if (this.span.isRecording()) {
      this.span.setAttributes({
        [GEN_AI.responseModel]: completion.model,
        [GEN_AI.responseId]: completion.id,
        [GEN_AI.finishReasons]: [completion.finishReason],
        [GEN_AI.inputTokens]: completion.inputTokens,
        [GEN_AI.outputTokens]: completion.outputTokens,
        'app.llm.cost_usd': completion.costUsd,
      });
    }
  }

  /** The error on the span, with its low-cardinality type (also the metric's error_type). */
  failed(error: unknown): void {
    if (error instanceof CircuitOpenError) this.status = 'circuit_open';
    this.errorType = llmErrorType(error);
    recordMessages(this.span, this.capture, this.prompt);
    recordSpanError(this.span, error, this.errorType);
  }

  /** Counts the call, observes its latency and ends its span; returns its milliseconds. */
  end(): number {
    const elapsed = performance.now() - this.started;
    const { model, cancel } = this.caller;
    // A call the run gave up (cancelled: a shutdown, a client gone) is not the provider's
    // doing: it counts neither as a call nor as an error (the run counts as cancelled).
    const cancelled = this.status !== 'success' && cancel?.aborted === true;
    if (!cancelled) llmRequests(PROVIDER, model, this.status).inc();
    // A refused call never reached the provider: it has no provider latency.
    if (this.status !== 'circuit_open' && !cancelled) {
      const seconds = elapsed / 1000;
      const exemplar = sampledTraceContext(this.span);
      // The bound child when there is no exemplar: an unsampled call hashes no labels here.
      if (exemplar) {
        const llmLabels = { provider: PROVIDER, model };
        observeWithExemplar(metrics.llmRequestDuration, llmLabels, seconds, exemplar);
      } else llmDuration(PROVIDER, model).observe(seconds);
      const genAi = genAiLabels(PROVIDER, model, undefined, this.errorType);
      observe(metrics.genAiOperationDuration, genAi, seconds, exemplar);
    }
    this.span.end();
    return elapsed;
  }
}

/** One tool call, observed from its start (the span) to `end()`. */
export class ToolCall {
  private readonly started = performance.now();
  private readonly span: Span;

  constructor(
    private readonly agent: string,
    private readonly tool: ToolName,
    callId: string,
  ) {
    this.span = tracer.startSpan(`execute_tool ${tool}`, {
      kind: SpanKind.INTERNAL,
      attributes: {
        [GEN_AI.operationName]: GEN_AI_OPERATION.executeTool,
        [GEN_AI.toolName]: tool,
        [GEN_AI.toolType]: 'function',
        [GEN_AI.toolCallId]: callId,
      },
    });
  }

  failed(error: ToolError): void {
    recordSpanError(this.span, error, 'tool_error');
  }

  /** Counts the call by its outcome and ends its span; returns its milliseconds. */
  end(status: 'success' | 'error'): number {
    const elapsed = performance.now() - this.started;
    toolCalls(this.agent, this.tool, status).inc();
    this.span.end();
    return elapsed;
  }
}

/** A lookup in the response cache, by its result. */
export function countCacheLookup(hit: boolean): void {
  (hit ? cacheHit : cacheMiss).inc();
}

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

/** A cache hit saved what the run it copies spent (at that run's prices). */
export function countCacheSavings(steps: readonly RunStep[], tier: Tier): void {
  for (const [model, saved] of savedBy(steps)) {
    savedTokens(PROVIDER, model, 'input').inc(saved.input);
    savedTokens(PROVIDER, model, 'output').inc(saved.output);
    savedCost(PROVIDER, model, tier).inc(saved.usd);
  }
}
