// make load: realistic traffic against the agent service for a while, with a live status line
// and a summary. `node scripts/load.ts --help` lists the options.
import { fetchCatalog } from './lib/load/catalog.ts';
import { LoadGenerator } from './lib/load/generator.ts';
import { PROFILES, requireApiKeys, type ApiKeys, type ProfileName } from './lib/load/mix.ts';
import { statusText, summaryText } from './lib/load/stats.ts';
import { StatusLine } from './lib/load/status-line.ts';
import { parseStackArgs, requireApp } from './lib/cli.ts';
import { CUSTOM_ORIGIN, ENDPOINT_HELP, resolveEndpoints } from './lib/endpoints.ts';
import { drivePythonAgent, pythonAgentReady } from './lib/load/python-agent.ts';

const HELP = `Usage: node scripts/load.ts [profile] [options]

Profiles: steady (default: normal users on both tiers), auth-attack (guessed API keys),
free-burst (one free-tier client far over its rate limit).

  --duration SECONDS   how long (env DURATION, default 60)
  --rate N             average requests per second (env RATE, default 10)
${ENDPOINT_HELP}`;

const { values, positionals } = parseStackArgs(HELP, {
  duration: { type: 'string' },
  rate: { type: 'string' },
});

const profileName = (positionals[0] ?? 'steady') as ProfileName;
if (!(profileName in PROFILES)) {
  console.error(`unknown profile "${profileName}"; one of: ${Object.keys(PROFILES).join(', ')}`);
  process.exit(2);
}
const durationS = Number(values.duration ?? process.env.DURATION ?? 60);
const rate = Number(values.rate ?? process.env.RATE ?? 10);
if (!(durationS > 0) || !(rate > 0)) {
  console.error('--duration and --rate must be positive numbers');
  process.exit(2);
}

const endpoints = resolveEndpoints(values);
console.log(`Agent service: ${endpoints.shown.app} (${endpoints.origin})`);
await requireApp(endpoints);
console.log(`Sending ${profileName} load for ${durationS} s at ${rate} req/s; Ctrl-C stops early.`);

let keys: ApiKeys;
try {
  keys = requireApiKeys(endpoints.apiKeys);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
const catalog = await fetchCatalog(endpoints.app, keys.pro);
const gen = new LoadGenerator({ baseUrl: endpoints.app, keys, catalog });
const line = new StatusLine(() => statusText(gen.stats, Date.now(), gen.inFlight)).start();
gen.start(PROFILES[profileName], rate);
// The Python example too, when it runs (services.yml's second service): a fifth of the rate.
// Where the other URLs were given, only at a URL given for it too (never a default port, which
// may be another stack's).
const pythonKnown = endpoints.origin !== CUSTOM_ORIGIN || endpoints.given.includes('pythonAgent');
const python =
  pythonKnown && (await pythonAgentReady(endpoints.pythonAgent))
    ? drivePythonAgent(endpoints.pythonAgent, rate / 5)
    : undefined;
line.log(
  python
    ? `Python example: ${endpoints.shown.pythonAgent}, ${rate / 5} runs/s`
    : `Python example: not running at ${endpoints.shown.pythonAgent}, not driven`,
);

await new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, durationS * 1000);
  const early = () => {
    clearTimeout(timer);
    line.log('Stopping early (signal): letting requests in flight finish…');
    resolve();
  };
  process.once('SIGINT', early);
  process.once('SIGTERM', early);
});
await gen.stop();
const pythonRuns = await python?.stop();
line.stop();
console.log(summaryText(gen.stats, Date.now()));
if (pythonRuns) {
  const byStatus = [...pythonRuns].map(([status, count]) => `${count} × ${status || 'no answer'}`);
  console.log(`Python example runs: ${byStatus.join(', ') || 'none'}`);
}
console.log(
  endpoints.native
    ? `See it in Prometheus: ${endpoints.shown.prometheus} (make native has no Grafana)`
    : `See it in Grafana: ${endpoints.shown.grafana} (dashboards "Agent service / Overview", "… / Agents and LLM")`,
);
if (gen.stats.completed > 0 && gen.stats.completed === gen.stats.statusCounts.get(0)) {
  console.error('No request got a response: is the agent service up?');
  process.exit(1);
}
