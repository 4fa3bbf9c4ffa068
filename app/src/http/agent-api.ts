// The handlers of the agent API (/v1): the catalog of agents and models, a run started and
// answered, a stored run read back by its owner.
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Admission, Ticket } from '../agent/admission';
import { AGENTS, AGENT_NAMES, isAgentName, MODEL_NAMES, MODELS, PROVIDER } from '../agent/catalog';
import { CircuitOpenError } from '../agent/circuit-breaker';
import { ProviderError } from '../agent/provider';
import { RunCancelledError, RunFailedError, RunTimeoutError, type RunRecord } from '../agent/run';
import type { AgentRunner } from '../agent/runner';
import { DatabaseError, type RunStore } from '../agent/storage';
import { metrics } from '../telemetry/metrics';
import { requestContext, type RequestContext } from './context';
import { knownPathParam, pathParam } from './middleware';
import { ProblemError, RETRY_AFTER_SECONDS, shuttingDown } from './problem';
import { parseBody } from './validation';

const runBody = z.strictObject({
  input: z
    .string()
    .refine((input) => input.trim().length > 0, 'must not be empty or only whitespace'),
  model: z.enum(MODEL_NAMES).optional(),
  // gen_ai.conversation.id on the run's spans: an opaque id, short and printable.
  conversation_id: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 letters, digits or . _ : -')
    .optional(),
});

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const agentsBody = JSON.stringify({
  agents: AGENT_NAMES.map((name) => ({
    name,
    description: AGENTS[name].description,
    default_model: AGENTS[name].defaultModel,
    tools: AGENTS[name].tools,
  })),
  models: MODEL_NAMES.map((name) => ({
    name,
    provider: PROVIDER,
    input_usd_per_million_tokens: MODELS[name].inputUsdPerMillion,
    output_usd_per_million_tokens: MODELS[name].outputUsdPerMillion,
  })),
});

/** GET /v1/agents: the same body for everyone, rendered once. */
export const listAgents: RequestHandler = (_req, res) => {
  res.type('application/json').send(agentsBody);
};

/** The agent a run names, on the request's context; a 404 that lists them for any other. */
export const knownAgent: RequestHandler = (req, res, next) => {
  requestContext(res).agent = knownPathParam(req, 'agent', isAgentName, AGENT_NAMES);
  next();
};

/** Counts a run the rate limiter refused as a rejected run of its agent. */
export function countRejectedRun(runner: AgentRunner): (req: Request, res: Response) => void {
  return (_req, res) => {
    const ctx = requestContext(res);
    runner.recordRejected(AGENTS[ctx.agent as keyof typeof AGENTS], ctx.tier!);
  };
}

function runProblem(error: RunFailedError): ProblemError {
  const { cause, run } = error;
  const members = { run_id: run.id, run_status: run.status };
  if (cause instanceof RunTimeoutError) {
    return new ProblemError('run_timeout', cause.message, { members, cause });
  }
  if (cause instanceof RunCancelledError && cause.reason === 'client_closed') {
    return new ProblemError('client_closed_request', cause.message, { members, cause });
  }
  if (cause instanceof RunCancelledError) {
    metrics.agentRunsRejected.labels('shutting_down').inc();
    return shuttingDown(
      'The service is shutting down; the run was cancelled and stored so.',
      members,
    );
  }
  if (cause instanceof CircuitOpenError) {
    const retryAfter = Math.max(1, Math.ceil(cause.retryAfterMs / 1000));
    return new ProblemError(
      'circuit_open',
      'The LLM provider failed repeatedly; calls are paused while it recovers.',
      { members, cause, headers: { 'Retry-After': String(retryAfter) } },
    );
  }
  if (cause instanceof ProviderError) {
    return new ProblemError('llm_provider_error', cause.message, { members, cause });
  }
  if (cause instanceof DatabaseError) {
    return new ProblemError('database_unavailable', 'The run could not be stored.', {
      members,
      cause,
    });
  }
  return new ProblemError('internal_error', 'The run failed unexpectedly.', { members, cause });
}

/** A run slot for the request's key, or the problem that refuses it. */
function admitRun(admission: Admission, ctx: RequestContext): Ticket {
  const tier = ctx.tier!;
  const ticket = admission.admitRun(ctx.owner!, tier);
  if (typeof ticket !== 'string') return ticket;
  metrics.agentRunsRejected.labels(ticket).inc();
  const retry = { headers: { 'Retry-After': String(RETRY_AFTER_SECONDS.overloaded) } };
  if (ticket === 'shutting_down') throw shuttingDown('The service is shutting down.');
  if (ticket === 'key_limit') {
    throw new ProblemError(
      'too_many_runs',
      `This key has ${admission.perKey[tier]} runs in progress, the most the ${tier} tier may run at once.`,
      retry,
    );
  }
  throw new ProblemError(
    'overloaded',
    `${admission.maxConcurrentRuns} runs are in progress, the most this instance takes.`,
    retry,
  );
}

/**
 * POST /v1/agents/:agent/runs once its body is read and valid: a slot is taken only then, held
 * until the run has settled, and the run is cancelled if its client goes away first.
 */
export function runHandler({
  runner,
  admission,
}: {
  runner: AgentRunner;
  admission: Admission;
}): RequestHandler {
  return async (req, res) => {
    const ctx = requestContext(res);
    const agent = AGENTS[ctx.agent as keyof typeof AGENTS];
    const body = parseBody(runBody, req.body);
    if (req.socket.destroyed) {
      throw new ProblemError('client_closed_request', 'The client closed the connection.');
    }
    const ticket = admitRun(admission, ctx);
    res.once('close', () => {
      if (!res.writableFinished) ticket.cancel('client_closed');
    });
    let run: RunRecord;
    try {
      run = await runner.run({
        agent,
        model: body.model ?? agent.defaultModel,
        input: body.input,
        tier: ctx.tier!,
        owner: ctx.owner!,
        cancel: ticket.signal,
        conversationId: body.conversation_id,
      });
    } catch (error) {
      if (error instanceof RunFailedError) throw runProblem(error);
      throw error;
    } finally {
      ticket.release();
    }
    res.status(201).location(`/v1/runs/${run.id}`).json(run);
  };
}

/** GET /v1/runs/:id: a run of the request's key; any other id is a 404. */
export function storedRun(store: RunStore): RequestHandler {
  return (req, res) => {
    const id = pathParam(req, 'id');
    const missing = new ProblemError('not_found', `There is no run "${id.slice(0, 64)}".`);
    if (!RUN_ID.test(id)) throw missing;
    let run: RunRecord | undefined;
    try {
      run = store.getRun(id, requestContext(res).owner!);
    } catch (error) {
      throw new ProblemError('database_unavailable', 'The run could not be read.', {
        cause: error,
      });
    }
    if (run === undefined) throw missing;
    res.json(run);
  };
}
