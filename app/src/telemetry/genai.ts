// Every OpenTelemetry GenAI name the service writes, in one place: a rename upstream is a change
// to this file alone (docs/decisions/0012-genai-conventions.md).
//
// Checked against semantic-conventions v1.41.0 (tag commit e018fe6f91862f5ed63c082f87697cddac596784,
// docs/gen-ai/ and docs/registry/attributes/gen-ai.md). Since v1.42 the GenAI conventions live in
// open-telemetry/semantic-conventions-genai, which has made no release yet (no snapshot of it was
// reachable when this was written, so v1.41.0 is the reference); @opentelemetry/semantic-conventions
// 1.45 marks its GenAI constants deprecated ("moved"), hence the names are spelled out here.
// Status of every name below: Development (may still change upstream).

export const GEN_AI_SEMCONV = {
  version: '1.41.0',
  commit: 'e018fe6f91862f5ed63c082f87697cddac596784',
  status: 'Development',
} as const;

/** Span attribute keys (gen-ai-spans.md, gen-ai-agent-spans.md). */
export const GEN_AI_ATTR = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  agentName: 'gen_ai.agent.name',
  /** The agent's stable identifier, not one run's (the run id is app.run.id). */
  agentId: 'gen_ai.agent.id',
  conversationId: 'gen_ai.conversation.id',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  finishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  toolName: 'gen_ai.tool.name',
  toolType: 'gen_ai.tool.type',
  toolCallId: 'gen_ai.tool.call.id',
  /** Opt-in (sensitive): JSON per gen-ai-input-messages.json / gen-ai-output-messages.json. */
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  /** Stable (error.type in the general registry): on failed spans and duration samples. */
  errorType: 'error.type',
} as const;

/** Well-known values of gen_ai.operation.name this service uses. */
export const GEN_AI_OPERATION = {
  chat: 'chat',
  invokeAgent: 'invoke_agent',
  executeTool: 'execute_tool',
} as const;

export const GEN_AI_TOKEN_TYPES = ['input', 'output'] as const;
export type GenAiTokenType = (typeof GEN_AI_TOKEN_TYPES)[number];

/**
 * The two client metrics, as Prometheus names them from the OTLP names (dots to underscores;
 * `s` adds `_seconds`; `{token}` is an annotation and adds no suffix), with the advised
 * ExplicitBucketBoundaries of gen-ai-metrics.md and the attribute keys as Prometheus labels.
 */
export const GEN_AI_METRICS = {
  tokenUsage: {
    otelName: 'gen_ai.client.token.usage',
    name: 'gen_ai_client_token_usage',
    unit: '{token}',
    // 1, 4, 16 … 67108864: powers of 4.
    buckets: Array.from({ length: 14 }, (_, i) => 4 ** i),
    labels: [
      'gen_ai_operation_name',
      'gen_ai_provider_name',
      'gen_ai_request_model',
      'gen_ai_token_type',
    ],
  },
  operationDuration: {
    otelName: 'gen_ai.client.operation.duration',
    name: 'gen_ai_client_operation_duration_seconds',
    unit: 's',
    // 0.01, 0.02 … 81.92: doublings. They do not hold the alert thresholds (0.5 s, 2 s …), so the
    // alerts keep reading llm_request_duration_seconds.
    buckets: Array.from({ length: 14 }, (_, i) => Math.round(0.01 * 2 ** i * 100) / 100),
    labels: ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'error_type'],
  },
} as const;
