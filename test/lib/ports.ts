// Cross-file consistency: every host:port that one config uses to reach another service, and
// every port a service listens on, must match what docker-compose.yml declares for it.

import { type Address, findAddresses, parseAddress, SELF } from './addresses.ts';
import {
  containerPorts,
  environment,
  isObj,
  type ComposeFile,
  type Json,
  type Obj,
} from './compose.ts';

/** Ports per compose service (published targets + expose). */
export function servicePorts(c: ComposeFile): Map<string, Set<number>> {
  return new Map(Object.entries(c.services).map(([name, svc]) => [name, containerPorts(svc)]));
}

/**
 * References to other services: a bare host name (no dot) must be a compose service with
 * that port. Hosts with a dot (a domain, an IP) are outside the stack and left alone, except
 * the ones that mean "this process" (then `self`'s ports apply).
 */
export function checkReferences(
  addresses: Address[],
  ports: Map<string, Set<number>>,
  self: string,
  source: string,
): string[] {
  const problems: string[] = [];
  for (const a of addresses) {
    const host = SELF.has(a.host) ? self : a.host;
    if (!SELF.has(a.host) && a.host.includes('.')) continue;
    const declared = ports.get(host);
    if (!declared) {
      problems.push(`${source} ${a.path}: "${a.host}:${a.port}" is not a compose service`);
    } else if (!declared.has(a.port)) {
      problems.push(
        `${source} ${a.path}: ${host} has no port ${a.port} in docker-compose.yml (declared: ${[...declared].join(', ')})`,
      );
    }
  }
  return problems;
}

/** Listen addresses of an OpenTelemetry-Collector-shaped config (Collector, Jaeger). */
export function listenAddresses(cfg: Obj): Address[] {
  return findAddresses(cfg as Json).filter((a) => SELF.has(a.host));
}

/** Every port compose declares for `self` has a listener in its config, and vice versa. */
export function checkListeners(
  cfg: Obj,
  self: string,
  ports: Map<string, Set<number>>,
  source: string,
): string[] {
  const listens = listenAddresses(cfg);
  const problems = checkReferences(listens, ports, self, source);
  const listening = new Set(listens.map((a) => a.port));
  for (const p of ports.get(self) ?? []) {
    if (!listening.has(p))
      problems.push(
        `${self}: docker-compose.yml declares port ${p}, ${source} listens on none such`,
      );
  }
  return problems;
}

/** Scrape and Alertmanager targets of a prometheus.yml plus its file_sd target files. */
export function prometheusTargets(cfg: Obj, fileSd: Record<string, Json>): Address[] {
  const out: Address[] = [];
  const targets = (groups: Json, path: string) => {
    if (!Array.isArray(groups)) return;
    groups.forEach((g, i) => {
      if (!isObj(g) || !Array.isArray(g.targets)) return;
      g.targets.forEach((t, j) => {
        const a = parseAddress(String(t));
        if (a) out.push({ ...a, path: `${path}[${i}].targets[${j}]` });
        else out.push({ host: String(t), port: NaN, path: `${path}[${i}].targets[${j}]` });
      });
    });
  };
  const jobs = Array.isArray(cfg.scrape_configs) ? cfg.scrape_configs : [];
  for (const job of jobs) {
    if (!isObj(job)) continue;
    targets(job.static_configs ?? null, `job ${String(job.job_name)}`);
  }
  const alerting =
    isObj(cfg.alerting) && Array.isArray(cfg.alerting.alertmanagers)
      ? cfg.alerting.alertmanagers
      : [];
  alerting.forEach(
    (am, i) => isObj(am) && targets(am.static_configs ?? null, `alertmanagers[${i}]`),
  );
  for (const [file, groups] of Object.entries(fileSd)) targets(groups, file);
  return out;
}

/** The app's own settings in compose: it listens on PORT, which compose publishes. */
export function checkAppPort(c: ComposeFile): string[] {
  const app = c.services.app;
  if (!app) return ['no app service'];
  const port = Number(environment(app).PORT);
  return containerPorts(app).has(port) ? [] : [`app: PORT=${port} is not a port compose publishes`];
}

/**
 * host:port in healthchecks (the service itself) and in environment values that name another
 * service (e.g. OTEL_EXPORTER_OTLP_ENDPOINT). URLs on localhost in the environment are the
 * browser-facing ones (GF_SERVER_ROOT_URL) and are about host ports, not container ports.
 */
export function composeReferences(c: ComposeFile): { service: string; addresses: Address[] }[] {
  return Object.entries(c.services).map(([name, svc]) => ({
    service: name,
    addresses: [
      ...findAddresses(svc.environment ?? null, 'environment').filter((a) => !SELF.has(a.host)),
      ...findAddresses(
        (isObj(svc.healthcheck) ? svc.healthcheck.test : null) ?? null,
        'healthcheck',
      ),
    ],
  }));
}
