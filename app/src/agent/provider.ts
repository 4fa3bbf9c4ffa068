// A simulated LLM provider: log-normal latency per model (scaled by LLM_LATENCY_SCALE, 0 means
// answer at once), token counts from the prompt length, cost from the price table, and
// occasional errors; chaos can take it down (llm_outage), make it expensive (cost_multiplier) or
// slow (llm_latency), for every caller or for one named caller (agent/chaos.ts).
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Chaos } from './chaos';
import { MODELS, type ModelName } from './catalog';

export type ProviderErrorKind = 'server_error' | 'unavailable';

export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface CompletionRequest {
  model: ModelName;
  prompt: string;
  signal: AbortSignal;
  /** Who calls, for faults aimed at one caller; the service's own runs name none. */
  caller?: string;
  /** At most this many output tokens; a longer answer is cut (finish reason `length`). */
  maxOutputTokens?: number;
}

export interface Completion {
  id: string;
  model: ModelName;
  text: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  finishReason: 'stop' | 'length';
}

export interface ProviderOptions {
  latencyScale: number;
  errorRate: number;
  chaos: Chaos;
  random?: () => number;
}

// Latency never exceeds this multiple of the median, however unlucky the draw.
const MAX_LATENCY_FACTOR = 20;
// An outage answers fast (connection refused), not after a full generation.
const OUTAGE_LATENCY_FACTOR = 0.05;

export function estimateTokens(text: string): number {
  // About four characters per token for English text, the usual rule of thumb.
  return Math.max(1, Math.ceil(text.length / 4));
}

export class SimulatedProvider {
  private readonly random: () => number;

  constructor(private readonly options: ProviderOptions) {
    this.random = options.random ?? Math.random;
  }

  async complete(request: CompletionRequest): Promise<Completion> {
    const spec = MODELS[request.model];
    const latencyMs =
      this.latencyMs(spec.medianLatencyMs, spec.latencySigma) +
      (this.options.chaos.value('llm_latency', request.caller) ?? 0);
    if (this.options.chaos.isActive('llm_outage', request.caller)) {
      await this.wait(latencyMs * OUTAGE_LATENCY_FACTOR, request.signal);
      throw new ProviderError('unavailable', `provider unavailable: ${request.model} (503)`);
    }
    await this.wait(latencyMs, request.signal);
    if (this.random() < this.options.errorRate) {
      throw new ProviderError('server_error', `provider error: ${request.model} (500)`);
    }
    const inputTokens = estimateTokens(request.prompt);
    const { min, max } = spec.outputTokens;
    const drawn = min + Math.floor(this.random() * (max - min + 1));
    const outputTokens = Math.min(drawn, request.maxOutputTokens ?? drawn);
    const multiplier = this.options.chaos.value('cost_multiplier') ?? 1;
    const costUsd =
      ((inputTokens * spec.inputUsdPerMillion + outputTokens * spec.outputUsdPerMillion) /
        1_000_000) *
      multiplier;
    return {
      id: `cmpl-${randomUUID()}`,
      model: request.model,
      text: `${request.model} considered ${inputTokens} tokens and wrote ${outputTokens}.`,
      inputTokens,
      outputTokens,
      costUsd,
      finishReason: outputTokens < drawn ? 'length' : 'stop',
    };
  }

  private latencyMs(medianMs: number, sigma: number): number {
    if (this.options.latencyScale === 0) return 0;
    // Box-Muller: a standard normal draw, exponentiated into a log-normal factor.
    const u = 1 - this.random();
    const v = this.random();
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    const factor = Math.min(Math.exp(sigma * normal), MAX_LATENCY_FACTOR);
    return medianMs * factor * this.options.latencyScale;
  }

  private async wait(ms: number, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    // At zero latency there is nothing to wait for: not even a timer turn.
    if (ms >= 1) await sleep(ms, undefined, { signal });
  }
}
