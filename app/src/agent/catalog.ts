// The names shared with the rules, dashboards and load scripts (docs/architecture.md, "The
// service's contract"). Metric label values come from these lists and nowhere else.

export const PROVIDER = 'simulated';

export const MODEL_NAMES = ['sim-small', 'sim-medium', 'sim-large'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const AGENT_NAMES = ['research', 'support', 'analyst'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

export const TOOL_NAMES = ['search', 'calculator'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export interface ModelSpec {
  name: ModelName;
  /** USD per million tokens, like a real provider's price sheet. */
  inputUsdPerMillion: number;
  outputUsdPerMillion: number;
  /** Median latency of one call in ms; calls vary log-normally around it. */
  medianLatencyMs: number;
  latencySigma: number;
  /** Output length range of one call, in tokens. */
  outputTokens: { min: number; max: number };
}

// Prices are set so that steady demo traffic (`make load`: 10 requests a second, about 5 of
// them runs, part answered from the cache) costs about $2 an hour (measured $1.7/h), well
// under the $10/h budget alert, and a cost_multiplier fault of 5 or more pushes it over
// (README: "What a run costs").
export const MODELS: Record<ModelName, ModelSpec> = {
  'sim-small': {
    name: 'sim-small',
    inputUsdPerMillion: 0.01,
    outputUsdPerMillion: 0.04,
    medianLatencyMs: 250,
    latencySigma: 0.4,
    outputTokens: { min: 30, max: 120 },
  },
  'sim-medium': {
    name: 'sim-medium',
    inputUsdPerMillion: 0.04,
    outputUsdPerMillion: 0.16,
    medianLatencyMs: 600,
    latencySigma: 0.45,
    outputTokens: { min: 50, max: 160 },
  },
  'sim-large': {
    name: 'sim-large',
    inputUsdPerMillion: 0.15,
    outputUsdPerMillion: 0.6,
    // A 4-step run stays near 6 s at p95, well under the 10 s run-latency alert.
    medianLatencyMs: 1000,
    latencySigma: 0.45,
    outputTokens: { min: 60, max: 200 },
  },
};

export interface AgentSpec {
  name: AgentName;
  description: string;
  defaultModel: ModelName;
  tools: readonly ToolName[];
}

export const AGENTS: Record<AgentName, AgentSpec> = {
  research: {
    name: 'research',
    description: 'Answers open questions by searching and summarising sources.',
    defaultModel: 'sim-large',
    tools: ['search'],
  },
  support: {
    name: 'support',
    description: 'Answers customer questions from the help-centre articles.',
    defaultModel: 'sim-small',
    tools: ['search'],
  },
  analyst: {
    name: 'analyst',
    description:
      'Works through numbers: evaluates the arithmetic in a question, searches for context.',
    defaultModel: 'sim-medium',
    tools: ['calculator', 'search'],
  },
};

export function isModelName(value: string): value is ModelName {
  return Object.hasOwn(MODELS, value);
}

export function isAgentName(value: string): value is AgentName {
  return Object.hasOwn(AGENTS, value);
}
