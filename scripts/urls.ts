// `make open` (and the end of `make up`): every URL of the running stack as a person opens it
// on the host, found by the one resolver (scripts/lib/endpoints.ts): a running `make native`,
// else compose's host ports from .env, and where Grafana's password is. The lines are the
// listeners of the components table (scripts/lib/components.ts) that say what a person `opens`.

import { relative, join } from 'node:path';
import { OPENED_ENDPOINTS, type OpenedStack } from './lib/components.ts';
import { resolveEndpoints, type Endpoints } from './lib/endpoints.ts';
import { REPO_ROOT } from './lib/repo.ts';

export interface StackUrl {
  name: string;
  url: string;
  note: string;
}

/** One line per endpoint that `opens` (scripts/lib/components.ts), unless the stack lacks it. */
export function stackUrls(ep: Endpoints, envFile: string): StackUrl[] {
  const stack: OpenedStack = {
    native: ep.native !== undefined,
    envFile,
    grafanaUser: ep.grafanaAuth?.user ?? 'admin',
    grafanaAnonymous: ep.grafanaAnonymous,
    shown: ep.shown,
  };
  return OPENED_ENDPOINTS.filter(({ endpoint }) => !ep.absent.includes(endpoint)).map(
    ({ endpoint, opens }) => ({
      name: opens.title,
      url: `${ep.shown[endpoint]}${opens.path ?? ''}`,
      note: typeof opens.note === 'string' ? opens.note : opens.note(stack),
    }),
  );
}

export function formatUrls(urls: StackUrl[]): string {
  const nameWidth = Math.max(...urls.map((u) => u.name.length));
  const urlWidth = Math.max(...urls.map((u) => u.url.length));
  return urls
    .map((u) => `  ${u.name.padEnd(nameWidth)}  ${u.url.padEnd(urlWidth)}  ${u.note}`)
    .join('\n');
}

if (import.meta.main) {
  const envPath = join(REPO_ROOT, '.env');
  const envFile = relative(process.cwd(), envPath) || envPath;
  const endpoints = resolveEndpoints();
  console.log(`The stack: ${endpoints.origin} (host ports on 127.0.0.1 only):\n`);
  console.log(formatUrls(stackUrls(endpoints, envFile)));
}
