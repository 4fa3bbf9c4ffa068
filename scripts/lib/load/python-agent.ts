// `make load`'s traffic for the Python example (examples/python-agent), beside the app's: runs
// at a steady pace, at most a few in flight, so both services of services.yml have data in the
// dashboards. A run calls the model twice; its outcome is counted by HTTP status (0: no answer).

const INPUTS = ['What is 17 * 3?', 'What is an SLO?', 'What is a burn rate?', 'Explain p95.'];
/** More in flight than this and a slow provider would pile runs up: skip a beat instead. */
const MAX_IN_FLIGHT = 4;

export interface PythonLoad {
  /** Stops starting runs, waits for those in flight; runs by status. */
  stop(): Promise<Map<number, number>>;
}

/** Whether the Python example answers its readiness check. */
export async function pythonAgentReady(baseUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

async function oneRun(baseUrl: string, n: number): Promise<number> {
  try {
    const res = await fetch(`${baseUrl}/v1/agents/assistant/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: `${INPUTS[n % INPUTS.length]} (#${n})` }),
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Starts runs at `perSecond` against the Python example at `baseUrl`. */
export function drivePythonAgent(baseUrl: string, perSecond: number): PythonLoad {
  const statuses = new Map<number, number>();
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  const timer = setInterval(() => {
    if (inFlight.size >= MAX_IN_FLIGHT) return;
    const run = oneRun(baseUrl, n++).then((status) => {
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      inFlight.delete(run);
    });
    inFlight.add(run);
  }, 1000 / perSecond);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      return statuses;
    },
  };
}
