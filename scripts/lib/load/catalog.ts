// What the service runs, asked of the service itself (GET /v1/agents): the load mix names no
// agent or model of its own, so an agent or model added to the app needs no edit here.

export interface Catalog {
  agents: readonly string[];
  /** Cheapest first (input price): the mix sends the cheap models most often, as users do. */
  models: readonly string[];
}

interface AgentsBody {
  agents: { name: string }[];
  models: { name: string; input_usd_per_million_tokens: number }[];
}

/** The catalog of a GET /v1/agents answer. */
export function catalogOf(body: AgentsBody): Catalog {
  const models = [...body.models].sort(
    (a, b) => a.input_usd_per_million_tokens - b.input_usd_per_million_tokens,
  );
  return { agents: body.agents.map((a) => a.name), models: models.map((m) => m.name) };
}

/** Asks the running service which agents and models it has (any API key may list them). */
export async function fetchCatalog(appUrl: string, apiKey: string): Promise<Catalog> {
  const url = `${appUrl.replace(/\/+$/, '')}/v1/agents`;
  const res = await fetch(url, {
    headers: { 'x-api-key': apiKey },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${(await res.text()).slice(0, 200)}`);
  const catalog = catalogOf((await res.json()) as AgentsBody);
  if (!catalog.agents.length || !catalog.models.length) {
    throw new Error(`GET ${url} lists no agent or no model`);
  }
  return catalog;
}
