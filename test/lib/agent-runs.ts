// Agent runs for the trace tests: start one that succeeds, and check the span tree Jaeger
// returns for it against what the run reported (docs/architecture.md: server root, invoke_agent, chat and
// execute_tool spans with gen_ai.*, the database insert).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SPAN_KIND, type JaegerSpan } from './jaeger-client.ts';

/** What the app calls itself (app/src/config.ts default); the harness passes the environment on. */
export const SERVICE = process.env.OTEL_SERVICE_NAME || 'agent-service';

export interface LlmStep {
  type: 'llm';
  model: string;
  input_tokens: number;
  output_tokens: number;
}
export interface ToolStep {
  type: 'tool';
  tool: string;
}
export interface RunRecord {
  id: string;
  agent: string;
  model: string;
  trace_id: string;
  steps: (LlmStep | ToolStep)[];
  usage: { input_tokens: number; output_tokens: number };
}

/** Spans one successful run makes: the request, the run, one per step, the stored row. */
export const spansOfRun = (run: RunRecord) => 3 + run.steps.length;

/**
 * One agent run of `model` that succeeded. The simulated provider fails 0.1 % of LLM calls
 * (LLM_ERROR_RATE); such a run is a real outcome but not the one these tests look at, so
 * another is started instead, at most twice. Every run's trace id, failed or not, goes into
 * `traces`: a failed run leaves exemplars too.
 */
export async function successfulRun(
  { app: appUrl, apiKey, model }: { app: string; apiKey: string; model: string },
  agent: string,
  traces: Set<string>,
): Promise<RunRecord> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${appUrl}/v1/agents/${agent}/runs`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      // Unique, so the response cache never answers it (a cached run calls no LLM); the
      // expression sends the analyst to its calculator, the others search.
      body: JSON.stringify({
        input: `What is 17 * 3? (trace test ${randomUUID()})`,
        model,
      }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as RunRecord & { type?: string };
    if (body.trace_id) traces.add(body.trace_id);
    if (res.status === 201) return body;
    if (res.status < 500 || attempt === 3)
      assert.fail(`run of ${agent}: ${res.status} ${JSON.stringify(body)}`);
    console.log(`      a run of ${agent} failed (${res.status} ${body.type}); starting another`);
  }
}

/** The span tree of one successful run, checked against what the run reported. */
export function checkRunTrace(run: RunRecord, spans: JaegerSpan[]): void {
  const where = `trace ${run.trace_id} (${run.agent})`;
  assert.equal(spans.length, spansOfRun(run), `${where}: span count`);
  for (const x of spans) {
    assert.equal(x.traceId, run.trace_id, `${where}: ${x.name} is in the run's trace`);
    assert.equal(x.service, SERVICE, `${where}: ${x.name} service.name`);
  }
  const ids = new Set(spans.map((x) => x.spanId));
  const orphans = spans.filter((x) => x.parentSpanId && !ids.has(x.parentSpanId));
  assert.deepEqual(
    orphans.map((x) => x.name),
    [],
    `${where}: spans whose parent is missing`,
  );
  const root = checkRootSpan(run, spans, where);
  const agent = checkAgentSpan(run, spans, root, where);
  const children = spans.filter((x) => x.parentSpanId === agent.spanId);
  checkChatSpans(run, children, agent, where);
  checkToolAndDatabaseSpans(run, children, where);
}

/** One root: the server span of POST /v1/agents/:agent/runs. */
function checkRootSpan(run: RunRecord, spans: JaegerSpan[], where: string): JaegerSpan {
  const roots = spans.filter((x) => !x.parentSpanId);
  assert.equal(roots.length, 1, `${where}: one root span`);
  const [root] = roots;
  assert.equal(root.kind, SPAN_KIND.SERVER, `${where}: the root is the server span`);
  assert.equal(root.name, 'POST /v1/agents/:agent/runs');
  assert.equal(root.attributes['http.route'], '/v1/agents/:agent/runs');
  assert.equal(root.attributes['http.request.method'], 'POST');
  assert.equal(root.attributes['http.response.status_code'], 201);
  assert.equal(root.attributes['url.path'], `/v1/agents/${run.agent}/runs`);
  return root;
}

/** One invoke_agent span inside the request, with the run's agent, id, model and usage. */
function checkAgentSpan(
  run: RunRecord,
  spans: JaegerSpan[],
  root: JaegerSpan,
  where: string,
): JaegerSpan {
  const agentSpans = spans.filter((x) => x.name === `invoke_agent ${run.agent}`);
  assert.equal(agentSpans.length, 1, `${where}: one invoke_agent span`);
  const [agent] = agentSpans;
  assert.equal(agent.parentSpanId, root.spanId, `${where}: the run is inside the request`);
  assert.deepEqual(
    pick(agent.attributes, [
      'gen_ai.operation.name',
      'gen_ai.agent.name',
      'gen_ai.agent.id',
      'app.run.id',
      'gen_ai.request.model',
      'gen_ai.usage.input_tokens',
      'gen_ai.usage.output_tokens',
    ]),
    {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': run.agent,
      // The agent's stable id (GenAI conventions); the run's own id is app.run.id.
      'gen_ai.agent.id': run.agent,
      'app.run.id': run.id,
      'gen_ai.request.model': run.model,
      'gen_ai.usage.input_tokens': run.usage.input_tokens,
      'gen_ai.usage.output_tokens': run.usage.output_tokens,
    },
    `${where}: invoke_agent attributes`,
  );
  return agent;
}

/** One chat client span per LLM step, with the step's token usage. */
function checkChatSpans(
  run: RunRecord,
  children: JaegerSpan[],
  agent: JaegerSpan,
  where: string,
): void {
  const llmSteps = run.steps.filter((x): x is LlmStep => x.type === 'llm');
  const chats = children.filter((x) => x.attributes['gen_ai.operation.name'] === 'chat');
  assert.equal(chats.length, llmSteps.length, `${where}: one chat span per LLM step`);
  const tokens = (list: { input: unknown; output: unknown }[]) =>
    list.map((t) => `${t.input}/${t.output}`).sort();
  assert.deepEqual(
    tokens(
      chats.map((c) => ({
        input: c.attributes['gen_ai.usage.input_tokens'],
        output: c.attributes['gen_ai.usage.output_tokens'],
      })),
    ),
    tokens(llmSteps.map((st) => ({ input: st.input_tokens, output: st.output_tokens }))),
    `${where}: token usage of the chat spans = the run's steps`,
  );
  for (const c of chats) {
    assert.equal(c.name, `chat ${run.model}`);
    assert.equal(c.kind, SPAN_KIND.CLIENT, `${where}: ${c.name} is a client span`);
    assert.equal(c.attributes['gen_ai.request.model'], run.model);
    assert.equal(c.attributes['gen_ai.response.model'], run.model);
    assert.equal(c.attributes['gen_ai.provider.name'], agent.attributes['gen_ai.provider.name']);
    assert.ok(c.attributes['gen_ai.response.id'], `${where}: ${c.name} has gen_ai.response.id`);
  }
}

/** One execute_tool span per tool step, and the run's row stored inside the run. */
function checkToolAndDatabaseSpans(run: RunRecord, children: JaegerSpan[], where: string): void {
  const toolSteps = run.steps.filter((x): x is ToolStep => x.type === 'tool');
  const tools = children.filter((x) => x.attributes['gen_ai.operation.name'] === 'execute_tool');
  assert.ok(toolSteps.length > 0, `${where}: the run called a tool`);
  assert.deepEqual(
    tools.map((t) => [t.name, t.attributes['gen_ai.tool.name']]).sort(),
    toolSteps.map((t) => [`execute_tool ${t.tool}`, t.tool]).sort(),
    `${where}: one execute_tool span per tool step`,
  );

  const inserts = children.filter((x) => x.name === 'INSERT runs');
  assert.equal(inserts.length, 1, `${where}: the run's row is stored inside the run`);
  assert.equal(inserts[0].kind, SPAN_KIND.CLIENT);
  assert.equal(inserts[0].attributes['db.system.name'], 'sqlite');
  assert.equal(inserts[0].attributes['db.operation.name'], 'INSERT');
}

const pick = (o: Record<string, unknown>, keys: string[]) =>
  Object.fromEntries(keys.map((k) => [k, o[k]]));
