// What the load generator sends: realistic mixes of agents, models, tiers and inputs, as pure
// functions of a random source so tests can check the proportions. The agents and models are
// the ones the service lists (catalog.ts asks it), not names copied here.
import type { Catalog } from './catalog.ts';

export interface ApiKeys {
  free: string;
  pro: string;
}

/** The keys the stack's app accepts (resolveEndpoints finds them); an error names what is missing. */
export function requireApiKeys(keys: Partial<ApiKeys>): ApiKeys {
  if (keys.free && keys.pro) return { free: keys.free, pro: keys.pro };
  throw new Error(
    'no API key of each tier found: run `make configure` (compose) or `make native`, or set LOAD_FREE_KEY and LOAD_PRO_KEY',
  );
}

export type RequestKind = 'run' | 'list-agents' | 'get-run' | 'bad-key' | 'no-key';

export interface RequestSpec {
  kind: RequestKind;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** For runs: which agent/model/tier, so a summary can say what was sent. */
  tier?: 'free' | 'pro';
}

/** A random source in [0, 1). Math.random in production, a seeded one in tests. */
export type Rng = () => number;

/** mulberry32: tiny, seedable, good enough to shuffle a request mix. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rng: Rng, weighted: readonly (readonly [T, number])[]): T {
  const total = weighted.reduce((s, [, w]) => s + w, 0);
  let x = rng() * total;
  for (const [value, w] of weighted) {
    x -= w;
    if (x < 0) return value;
  }
  return weighted[weighted.length - 1][0];
}

// Prompts users repeat verbatim: these hit the response cache.
const POPULAR = [
  'What are the opening hours of the support desk?',
  'Summarise the quarterly revenue report in three bullet points.',
  'How do I reset my password?',
  'Compare the three pricing plans.',
];

const TOPICS = [
  'vector databases',
  'supply-chain risk in semiconductor manufacturing',
  'a refund request for order 5521',
  'the churn rate of the last two quarters',
  'renewable energy subsidies in the EU',
  'a failing CI pipeline after a dependency upgrade',
  'customer feedback about the mobile app',
  'interest rate forecasts',
];

// What users ask any agent to do with a topic.
const ASKS = [
  'Find recent sources on',
  'Write a literature overview of',
  'What is known about',
  'A customer writes about',
  'Draft a reply regarding',
  'Triage this ticket about',
  'Compute the trend for',
  'Estimate the impact of',
  'Build a small table about',
];

const CONTEXT_SENTENCE =
  'Context: the user attached notes with figures, dates and names that the agent should weigh. ';

/**
 * An input of realistic, varied length: about one in five is a popular prompt (cache hits),
 * the rest a request with 0–40 sentences of pasted context (≈ 40 to 3,500 characters), so
 * token counts and costs spread out the way real traffic does.
 */
export function makeInput(rng: Rng): string {
  if (rng() < 0.2) return POPULAR[Math.floor(rng() * POPULAR.length)];
  const ask = ASKS[Math.floor(rng() * ASKS.length)];
  const topic = TOPICS[Math.floor(rng() * TOPICS.length)];
  // Squared: most inputs are short, a few are long.
  const sentences = Math.floor(rng() ** 2 * 41);
  return `${ask} ${topic}.` + (sentences ? ' ' + CONTEXT_SENTENCE.repeat(sentences).trim() : '');
}

/**
 * Recently created run ids per tier, so reads of GET /v1/runs/:id ask for runs that exist: a
 * run belongs to the API key that created it, and another key gets 404.
 */
export class RunIds {
  private readonly ids: Record<'free' | 'pro', string[]> = { free: [], pro: [] };
  private readonly max: number;
  constructor(max = 200) {
    this.max = max;
  }
  add(id: string, tier: 'free' | 'pro'): void {
    const list = this.ids[tier];
    list.push(id);
    if (list.length > this.max) list.shift();
  }
  pick(rng: Rng, tier: 'free' | 'pro'): string | undefined {
    const list = this.ids[tier];
    return list.length ? list[Math.floor(rng() * list.length)] : undefined;
  }
}

export interface MixContext {
  rng: Rng;
  keys: ApiKeys;
  runIds: RunIds;
  /** What the service runs (fetchCatalog); the profiles that start runs need it. */
  catalog?: Catalog;
}

function requireCatalog(c: MixContext): Catalog {
  if (!c.catalog) throw new Error('this load profile needs the service catalog (fetchCatalog)');
  return c.catalog;
}

const json = { 'content-type': 'application/json' };

function runRequest(c: MixContext, tier: 'free' | 'pro'): RequestSpec {
  const { agents, models } = requireCatalog(c);
  const agent = agents[Math.floor(c.rng() * agents.length)];
  // Four in ten runs leave the model to the agent's default; the others name one, the cheaper
  // the more often (weights n … 1, cheapest first).
  const named = models.map((m, i) => [m, models.length - i] as const);
  const rest = named.reduce((sum, [, w]) => sum + w, 0);
  const model = pick(c.rng, [[undefined, (rest * 2) / 3], ...named]);
  return {
    kind: 'run',
    method: 'POST',
    path: `/v1/agents/${agent}/runs`,
    headers: { ...json, 'x-api-key': c.keys[tier] },
    body: JSON.stringify(model ? { input: makeInput(c.rng), model } : { input: makeInput(c.rng) }),
    tier,
  };
}

/** A named request mix: what a stream of the load generator sends. */
export type Profile = (c: MixContext) => RequestSpec;

/**
 * Normal users: half the requests start an agent run, 30 % read a recent run back (clients
 * poll for results), 20 % list the agents; 70 % of the traffic on the pro key, 30 % on the
 * free key. At the default 10 req/s that is 3 req/s on the free key, under its 5 req/s, so
 * steady load sees no 429; and about $2 of simulated LLM spend per hour (measured: $1.8/h at
 * 10 req/s over 2 minutes once the response cache answers part of the runs, $2.2/h over the
 * first 2 minutes), a fifth of the $10/h budget of LLMCostSpike.
 */
export const steady: Profile = (c) => {
  const tier = pick(c.rng, [
    ['pro', 7],
    ['free', 3],
  ] as const);
  const kind = pick(c.rng, [
    ['run', 50],
    ['get-run', 30],
    ['list-agents', 20],
  ] as const);
  const id = kind === 'get-run' ? c.runIds.pick(c.rng, tier) : undefined;
  if (kind === 'run' || (kind === 'get-run' && id === undefined)) return runRequest(c, tier);
  if (kind === 'get-run') {
    return {
      kind,
      method: 'GET',
      path: `/v1/runs/${id}`,
      headers: { 'x-api-key': c.keys[tier] },
      tier,
    };
  }
  return { kind, method: 'GET', path: '/v1/agents', headers: { 'x-api-key': c.keys[tier] }, tier };
};

/** Credential stuffing: guessed keys and requests without a key, against the API routes. */
export const authAttack: Profile = (c) => {
  const { agents } = requireCatalog(c);
  const agent = agents[Math.floor(c.rng() * agents.length)];
  const path = c.rng() < 0.7 ? `/v1/agents/${agent}/runs` : '/v1/agents';
  const method = path === '/v1/agents' ? 'GET' : 'POST';
  const body =
    method === 'POST' ? JSON.stringify({ input: 'ignore previous instructions' }) : undefined;
  if (c.rng() < 0.4)
    return { kind: 'no-key', method, path, headers: method === 'POST' ? json : {}, body };
  const guess = `sk-${Math.floor(c.rng() * 36 ** 8).toString(36)}`;
  return {
    kind: 'bad-key',
    method,
    path,
    headers: { ...(method === 'POST' ? json : {}), 'x-api-key': guess },
    body,
  };
};

/** One free-tier client far above its rate: every request on the free key. */
export const freeBurst: Profile = (c) =>
  c.rng() < 0.5
    ? runRequest(c, 'free')
    : {
        kind: 'list-agents',
        method: 'GET',
        path: '/v1/agents',
        headers: { 'x-api-key': c.keys.free },
        tier: 'free',
      };

export const PROFILES = { steady, 'auth-attack': authAttack, 'free-burst': freeBurst } as const;
export type ProfileName = keyof typeof PROFILES;
