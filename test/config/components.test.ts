// The components table (scripts/lib/components.ts) against what it describes: docker-compose.yml,
// as Compose's own loader reads it, runs a service of each name, listening on each port of its
// row and publishing each endpoint on 127.0.0.1 under its row's variable and default; nothing
// else is published. The scripts that pass the stack's variables on (the tools container's
// scripts/host/tools.sh, the help every script prints) name every URL variable of the table.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ENDPOINT_NAMES,
  ENDPOINTS,
  LISTENERS,
  type StackComponent,
} from '../../scripts/lib/components.ts';
import { ENDPOINT_HELP, ENDPOINT_OPTIONS } from '../../scripts/lib/endpoints.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import {
  configuredEnv,
  containerPorts,
  portMappings,
  repoComposeFixture,
  type ComposeFile,
} from '../lib/compose.ts';

const ENV = configuredEnv();

/** Where the table and the compose file disagree, as sentences. */
function tableProblems(compose: ComposeFile): string[] {
  const problems: string[] = [];
  for (const l of LISTENERS) {
    const service = compose.services[l.component];
    if (!service) problems.push(`${l.component}: no such compose service`);
    else if (!containerPorts(service).has(l.port))
      problems.push(`${l.key}: ${l.component} neither publishes nor exposes ${l.port}`);
  }
  for (const e of ENDPOINT_NAMES) problems.push(...endpointProblems(compose, e));
  const published = new Set(ENDPOINT_NAMES.map((e) => ENDPOINTS[e].key));
  for (const [name, service] of Object.entries(compose.services))
    for (const { target } of portMappings(service))
      if (!published.has(`${name}:${target}`))
        problems.push(`${name}:${target} is published but is no endpoint of the table`);
  return problems;
}

/** One endpoint: published on 127.0.0.1 at its variable's value, the variable's default its port. */
function endpointProblems(compose: ComposeFile, e: (typeof ENDPOINT_NAMES)[number]): string[] {
  const { component, key, port, portVar } = ENDPOINTS[e];
  const mapping = portMappings(compose.services[component] ?? {}).find(
    (m) => `${component}:${m.target}` === key,
  );
  if (!mapping) return [`${e}: ${key} is not published`];
  const problems: string[] = [];
  if (mapping.hostIp !== '127.0.0.1') problems.push(`${e}: published on "${mapping.hostIp}"`);
  if (mapping.published !== ENV.get(portVar))
    problems.push(`${e}: published on ${mapping.published}, not on ${portVar}`);
  const variable = compose.variables[portVar];
  if (variable?.default !== String(port))
    problems.push(`${e}: ${portVar} defaults to ${variable?.default}, the table says ${port}`);
  return problems;
}

/** The compose file with one service's published port moved to another container port. */
function withTarget(compose: ComposeFile, component: StackComponent, from: number, to: number) {
  const copy = structuredClone(compose);
  const service = copy.services[component] as { ports: { target: number }[] };
  for (const p of service.ports) if (p.target === from) p.target = to;
  return copy;
}

describe('the components table (scripts/lib/components.ts)', () => {
  const repo = repoComposeFixture();

  it('agrees with docker-compose.yml: services, ports, published endpoints and their variables', () => {
    assert.deepEqual(tableProblems(repo.compose), []);
  });

  it('reports a compose port that moved away from the table', () => {
    const moved = withTarget(repo.compose, 'prometheus', 9090, 9091);
    assert.deepEqual(
      tableProblems(moved).filter((p) => p.includes('prometheus')),
      [
        'prometheus:9090: prometheus neither publishes nor exposes 9090',
        'prometheus: prometheus:9090 is not published',
        'prometheus:9091 is published but is no endpoint of the table',
      ],
    );
  });
});

describe('the stack variables the scripts pass on and describe', () => {
  it("scripts/host/tools.sh passes every endpoint's URL variable into the tools container", () => {
    const script = readFileSync(join(REPO_ROOT, 'scripts/host/tools.sh'), 'utf8');
    const list = /^TOOLS_ENV_VARS="([^"]*)"/m.exec(script)?.[1].split(/\s+/) ?? [];
    const missing = ENDPOINT_NAMES.map((e) => ENDPOINTS[e].urlVar).filter((v) => !list.includes(v));
    assert.deepEqual(missing, []);
  });

  it("every script's flags and help name every endpoint", () => {
    for (const e of ENDPOINT_NAMES) {
      const { flag, urlVar } = ENDPOINTS[e];
      assert.ok(flag in ENDPOINT_OPTIONS, `--${flag}`);
      assert.match(ENDPOINT_HELP, new RegExp(`--${flag} URL +${urlVar} +default http://`));
    }
  });
});
