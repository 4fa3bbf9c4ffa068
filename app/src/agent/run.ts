// The shape of a run as the API returns it and the database stores it.
import type { Tier } from '../config';
import type { AgentName, ModelName, ToolName } from './catalog';

export interface LlmStep {
  index: number;
  type: 'llm';
  model: ModelName;
  status: 'success' | 'error';
  duration_ms: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  output: string | null;
  error: string | null;
}

export interface ToolStep {
  index: number;
  type: 'tool';
  tool: ToolName;
  status: 'success' | 'error';
  duration_ms: number;
  input: string;
  output: string | null;
  error: string | null;
}

export type RunStep = LlmStep | ToolStep;

/** `cancelled`: stopped before it finished, by a shutdown (the client got a 503) or because its client went away. */
export type StoredRunStatus = 'success' | 'error' | 'timeout' | 'cancelled';

export interface RunRecord {
  id: string;
  agent: AgentName;
  model: ModelName;
  tier: Tier;
  status: StoredRunStatus;
  /** Served from the response cache: no LLM call was made, so tokens and cost are 0. */
  cached: boolean;
  input: string;
  output: string | null;
  error: string | null;
  steps: RunStep[];
  usage: { input_tokens: number; output_tokens: number; total_tokens: number };
  cost_usd: number;
  duration_ms: number;
  /** The trace of the request that made the run (look it up in Jaeger). */
  trace_id: string | null;
  created_at: string;
}

export class RunTimeoutError extends Error {
  override name = 'RunTimeoutError';
  constructor(timeoutMs: number) {
    super(`run did not finish within ${timeoutMs} ms`);
  }
}

/** Why a run was cancelled: a shutdown, or its client closed the connection before the answer. */
export type CancelReason = 'shutting_down' | 'client_closed';

const CANCEL_MESSAGES: Record<CancelReason, string> = {
  shutting_down: 'run cancelled: the service is shutting down',
  client_closed: 'run cancelled: the client closed the connection',
};

export class RunCancelledError extends Error {
  override name = 'RunCancelledError';
  constructor(readonly reason: CancelReason = 'shutting_down') {
    super(CANCEL_MESSAGES[reason]);
  }
}

/** The reason a cancelled run's signal was aborted with (Admission tickets abort with one). */
export function cancelReasonOf(signal: AbortSignal | undefined): CancelReason {
  return signal?.reason === 'client_closed' ? 'client_closed' : 'shutting_down';
}

/** A run that ended in error or timeout; `cause` says why, `run` is what was recorded. */
export class RunFailedError extends Error {
  override name = 'RunFailedError';
  constructor(
    readonly run: RunRecord,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}
