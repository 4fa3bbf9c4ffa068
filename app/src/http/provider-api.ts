// The simulated provider (agent/provider.ts) as an OpenAI-compatible API on its own listener
// (PROVIDER_PORT), so that agent services in other processes and languages call it with their
// real LLM SDKs: `POST /v1/chat/completions`, non-streaming, the subset the official `openai`
// SDKs send for `chat.completions.create` and read back (choices, finish_reason, usage).
//
// It stands in for a provider outside this service, so it is not part of this service: no
// server span, no http_* metric, no access log line. Its requests never count in this
// service's SLI. Faults come from the same chaos table as the service's own calls; the
// `OpenAI-Project` header (the SDKs send it from OPENAI_PROJECT_ID) names the caller, so a
// fault can hit one caller only (agent/chaos.ts). Errors are problem+json with OpenAI's `error`
// member beside the problem's, which is where the SDKs read the message and code.
import { hash, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import { z } from 'zod';
import { CALLER_PATTERN } from '../agent/chaos';
import { isModelName, MODEL_NAMES } from '../agent/catalog';
import { ProviderError, type SimulatedProvider } from '../agent/provider';
import { requestContext } from './context';
import { errorHandler, methodNotAllowed, notFound } from './errors';
import { ProblemError, sendProblem } from './problem';
import { jsonBody, parseBody, type BodyLimits } from './validation';

export const CHAT_COMPLETIONS_PATH = '/v1/chat/completions';
// A request with more is refused: far over what an agent's turn sends, and it bounds the work.
const MAX_MESSAGES = 256;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  // A string, or text parts; null for an assistant message that only called tools.
  content: z.union([z.string(), z.array(textPart), z.null()]),
});

// z.object, not strictObject: OpenAI-compatible servers accept the parameters they do not model
// (temperature, top_p, seed, user ...) and ignore them, so SDK defaults never break a call.
const chatBody = z.object({
  model: z.string().min(1).max(128),
  messages: z.array(message).min(1).max(MAX_MESSAGES),
  stream: z
    .literal(false, { error: 'streaming is not supported; send false or omit it' })
    .optional(),
  n: z.literal(1, { error: 'only one choice is supported' }).optional(),
  max_completion_tokens: z.number().int().positive().optional(),
  max_tokens: z.number().int().positive().optional(),
});

export interface ProviderApiDeps {
  provider: SimulatedProvider;
  apiKey: string;
  /** The API's body limits: its size cap and read timeout, and 503 once shutdown starts. */
  body: BodyLimits;
}

/** The text the model reads: every message's content, in order. */
function promptOf(messages: z.infer<typeof message>[]): string {
  return messages
    .map(({ content }) =>
      typeof content === 'string' ? content : (content ?? []).map((p) => p.text).join('\n'),
    )
    .join('\n');
}

/** `Authorization: Bearer <PROVIDER_API_KEY>`, compared digest to digest in constant time. */
function requireKey(apiKey: string): RequestHandler {
  const expected = hash('sha256', apiKey, 'buffer');
  return (req, res, next) => {
    const [scheme, token] = (req.headers.authorization ?? '').split(' ', 2);
    const given = hash('sha256', token ?? '', 'buffer');
    if (scheme !== 'Bearer' || !timingSafeEqual(given, expected)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="provider"');
      throw new ProblemError('unauthorized', 'Send the provider key as "Authorization: Bearer".', {
        members: { code: 'invalid_api_key' },
      });
    }
    next();
  };
}

/** The caller a fault can be aimed at: the OpenAI-Project header, when it is a valid name. */
function callerOf(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && CALLER_PATTERN.test(header) ? header : undefined;
}

function completeChat(provider: SimulatedProvider): RequestHandler {
  return async (req, res) => {
    const body = parseBody(chatBody, req.body);
    if (!isModelName(body.model)) {
      throw new ProblemError(
        'not_found',
        `The model "${body.model}" does not exist; the models are ${MODEL_NAMES.join(', ')}.`,
        { members: { code: 'model_not_found', param: 'model' } },
      );
    }
    // A client that hangs up stops the simulated generation.
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    let completion;
    try {
      completion = await provider.complete({
        model: body.model,
        prompt: promptOf(body.messages),
        signal: gone.signal,
        caller: callerOf(req.headers['openai-project']),
        maxOutputTokens: body.max_completion_tokens ?? body.max_tokens,
      });
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      // Answered here, not thrown: a simulated failure is no bug to log or report to Sentry.
      const unavailable = error.kind === 'unavailable';
      const problem = new ProblemError(
        unavailable ? 'model_unavailable' : 'model_error',
        error.message,
        {
          members: { code: unavailable ? 'service_unavailable' : 'server_error' },
        },
      );
      const { requestId } = requestContext(res);
      sendProblem(res, withOpenAiError(problem), {
        instance: req.path,
        requestId,
        traceId: undefined,
      });
      return;
    }
    res.json({
      id: `chatcmpl-${completion.id.replace(/^cmpl-/, '')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: completion.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: completion.text, refusal: null },
          finish_reason: completion.finishReason,
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: completion.inputTokens,
        completion_tokens: completion.outputTokens,
        total_tokens: completion.inputTokens + completion.outputTokens,
      },
    });
  };
}

/**
 * The problem with OpenAI's error object added: the SDKs raise their typed errors from the
 * status and show `error.message`. `code` is the problem's own (model_not_found ...).
 */
function withOpenAiError(problem: ProblemError): ProblemError {
  const { code, param, ...members } = problem.extras.members ?? {};
  const openAiError = {
    message: problem.detail,
    type: problem.status >= 500 ? 'server_error' : 'invalid_request_error',
    param: param ?? problem.extras.errors?.[0]?.pointer.split('/')[1] ?? null,
    code: code ?? problem.kind,
  };
  return new ProblemError(problem.kind, problem.detail, {
    ...problem.extras,
    members: { ...members, error: openAiError },
  });
}

export function createProviderApp(deps: ProviderApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // The context errorHandler reads; no span: this listener is not traced.
  app.use((req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const requestId =
      typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.ctx = {
      requestId,
      startedAt: Date.now(),
      route: undefined,
      span: undefined,
      tier: undefined,
      owner: undefined,
      agent: undefined,
    };
    res.setHeader('X-Request-Id', requestId);
    next();
  });
  app
    .route(CHAT_COMPLETIONS_PATH)
    .post(requireKey(deps.apiKey), ...jsonBody(deps.body), completeChat(deps.provider))
    .all(methodNotAllowed(['POST']));
  app.use(notFound);
  app.use(((error, _req, _res, next) => {
    next(error instanceof ProblemError ? withOpenAiError(error) : error);
  }) satisfies express.ErrorRequestHandler);
  app.use(errorHandler({ bodyLimitBytes: deps.body.limitBytes }));
  return app;
}
