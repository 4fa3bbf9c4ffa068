// `make open` (and the end of `make up`): every URL of the composed stack, with the host ports
// from .env (defaults as in docker-compose.yml), and where Grafana's password is.

import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEnvFile } from './lib/env-file.ts';

export interface StackUrl {
  name: string;
  url: string;
  note: string;
}

/** Host ports of docker-compose.yml: the .env variable and its default. */
export const HOST_PORTS = {
  grafana: ['GRAFANA_PORT', '3001'],
  app: ['APP_PORT', '8000'],
  prometheus: ['PROMETHEUS_PORT', '9090'],
  alertmanager: ['ALERTMANAGER_PORT', '9093'],
  jaeger: ['JAEGER_PORT', '16686'],
  victorialogs: ['VICTORIALOGS_PORT', '9428'],
  receiver: ['ALERT_RECEIVER_PORT', '9095'],
  otlpHttp: ['OTLP_HTTP_PORT', '4318'],
  otlpGrpc: ['OTLP_GRPC_PORT', '4317'],
} as const;

export function stackUrls(env: Map<string, string>, envFile: string): StackUrl[] {
  const port = (which: keyof typeof HOST_PORTS) => {
    const [key, fallback] = HOST_PORTS[which];
    return env.get(key) || fallback;
  };
  const user = env.get('GRAFANA_ADMIN_USER') || 'admin';
  const anonymous = (env.get('GRAFANA_ANONYMOUS_ENABLED') || 'true') !== 'false';
  const base = (p: string) => `http://localhost:${p}`;
  return [
    {
      name: 'Grafana',
      url: base(port('grafana')),
      note:
        `${anonymous ? 'dashboards open without login; ' : ''}` +
        `admin: ${user}, password: GRAFANA_ADMIN_PASSWORD in ${envFile}`,
    },
    { name: 'Jaeger', url: base(port('jaeger')), note: 'traces; Monitor tab for span metrics' },
    {
      name: 'VictoriaLogs',
      url: `${base(port('victorialogs'))}/select/vmui`,
      note: 'logs (LogsQL); in Grafana: Explore → VictoriaLogs',
    },
    { name: 'Prometheus', url: base(port('prometheus')), note: 'queries, targets, alerts' },
    { name: 'Alertmanager', url: base(port('alertmanager')), note: 'routing, silences' },
    {
      name: 'Alert receiver',
      url: `${base(port('receiver'))}/alerts`,
      note: 'delivered alerts as JSON; `make alerts` prints them',
    },
    {
      name: 'Agent API',
      url: `${base(port('app'))}/v1/agents`,
      note: 'header X-API-Key: a key of API_KEYS in .env (make configure generates them)',
    },
    {
      name: 'OTLP',
      url: base(port('otlpHttp')),
      note: `OTLP/HTTP for your own services; gRPC on localhost:${port('otlpGrpc')}`,
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
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const envPath = join(repoRoot, '.env');
  const envFile = relative(process.cwd(), envPath) || envPath;
  console.log('The stack (host ports on 127.0.0.1 only):\n');
  console.log(formatUrls(stackUrls(readEnvFile(envPath), envFile)));
}
