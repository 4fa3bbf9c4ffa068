// `make open` (and the end of `make up`): every URL of the running stack as a person opens it
// on the host, found by the one resolver (scripts/lib/endpoints.ts): a running `make native`,
// else compose's host ports from .env, and where Grafana's password is.

import { relative, join } from 'node:path';
import { resolveEndpoints, type Endpoints } from './lib/endpoints.ts';
import { REPO_ROOT } from './lib/repo.ts';

export interface StackUrl {
  name: string;
  url: string;
  note: string;
}

export function stackUrls(ep: Endpoints, envFile: string): StackUrl[] {
  const url = ep.shown;
  const grafana: StackUrl[] = ep.absent.includes('grafana')
    ? []
    : [
        {
          name: 'Grafana',
          url: url.grafana,
          note:
            `${ep.grafanaAnonymous ? 'dashboards open without login; ' : ''}` +
            `admin: ${ep.grafanaAuth?.user ?? 'admin'}, password: GRAFANA_ADMIN_PASSWORD in ${envFile}`,
        },
      ];
  return [
    ...grafana,
    { name: 'Jaeger', url: url.jaeger, note: 'traces; Monitor tab for span metrics' },
    {
      name: 'VictoriaLogs',
      url: `${url.victorialogs}/select/vmui`,
      note: ep.native ? 'logs (LogsQL)' : 'logs (LogsQL); in Grafana: Explore → VictoriaLogs',
    },
    { name: 'Prometheus', url: url.prometheus, note: 'queries, targets, alerts' },
    { name: 'Alertmanager', url: url.alertmanager, note: 'routing, silences' },
    {
      name: 'Alert receiver',
      url: `${url.receiver}/alerts`,
      note: 'delivered alerts as JSON; `make alerts` prints them',
    },
    {
      name: 'Agent API',
      url: `${url.app}/v1/agents`,
      note: ep.native
        ? 'header X-API-Key: a key make native printed (API_KEYS in its env file)'
        : 'header X-API-Key: a key of API_KEYS in .env (make configure generates them)',
    },
    ...(ep.absent.includes('pythonAgent')
      ? []
      : [
          {
            name: 'Python agent',
            url: `${url.pythonAgent}/v1/agents/assistant/runs`,
            note: 'the Python example service (POST a run, no key): OTLP only, through the Collector',
          },
        ]),
    {
      name: 'Agent metrics',
      url: `${url.management}/metrics`,
      note: "the app's management port: /metrics, /health, /admin/chaos (ADMIN_TOKEN)",
    },
    {
      name: 'OTLP',
      url: url.otlpHttp,
      note: `OTLP/HTTP for your own services; gRPC on ${url.otlpGrpc.replace(/^http:\/\//, '')}`,
    },
  ];
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
