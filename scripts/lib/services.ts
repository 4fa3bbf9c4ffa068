// The monitored services (services.yml at the repo root): one declarative entry each, validated
// here, and what is generated from the entries (docs/forking.md,
// docs/decisions/0018-one-entry-per-service.md):
//   prometheus/rules/services.yml    SLO recording rules and burn-rate alerts of every entry
//                                    with `rules: generated`, on the OpenTelemetry conventions
//   alertmanager/alertmanager.yml    between its "services.yml" markers: one route per team of
//                                    those entries, and the receivers they name
//   grafana/src/                     the dashboards' `service` variable (serviceNames())
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';

export const SERVICES_FILE = 'services.yml';
export const GENERATED_RULES = 'prometheus/rules/services.yml';
export const ALERTMANAGER_FILE = 'alertmanager/alertmanager.yml';

const dnsName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'lower-case letters, digits and "-", starting with a letter');
const ratio = z.number().gt(0, 'above 0').lt(1, 'below 1');

const serviceSchema = z
  .strictObject({
    /** Its OpenTelemetry service.name, the `service_name` label of its series. */
    name: dnsName,
    signals: z.enum(['scrape', 'otlp', 'both']),
    /** The Prometheus job that scrapes it (signals scrape or both). */
    scrape_job: z.string().min(1).optional(),
    rules: z.enum(['generated', 'hand-written']),
    slo: z.strictObject({
      availability: ratio,
      latency: z.strictObject({ threshold_seconds: z.number().positive(), target: ratio }),
      min_requests_in_window: z.number().int().positive().default(20),
      /** The http.route values its SLI counts (a regular expression); default: every route. */
      http_route: z.string().min(1).default('.*'),
    }),
    /** Its GenAI client calls (gen_ai.client.operation.duration): the share failing that pages. */
    llm: z
      .strictObject({
        error_ratio: ratio.default(0.5),
        min_calls_in_window: z.number().int().positive().default(10),
      })
      .default({ error_ratio: 0.5, min_calls_in_window: 10 }),
    team: z.strictObject({ name: dnsName, receiver: dnsName }),
    runbook_base: z.url().regex(/\/$/, 'ends with "/" (the alert name and .md follow it)'),
    native: z
      .strictObject({ cwd: z.string().min(1), command: z.array(z.string().min(1)).min(1) })
      .optional(),
  })
  .refine((s) => s.signals === 'otlp' || s.scrape_job, {
    message: 'a scraped service (signals scrape or both) names its scrape_job',
    path: ['scrape_job'],
  });

const fileSchema = z.strictObject({ services: z.array(serviceSchema).min(1) });

export type Service = z.infer<typeof serviceSchema>;

/** The entries of a services file's text; an Error that names the entry and field otherwise. */
export function parseServices(text: string, source = SERVICES_FILE): Service[] {
  const raw: unknown = YAML.parse(text);
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const entries = Array.isArray((raw as { services?: unknown })?.services)
      ? (raw as { services: { name?: unknown }[] }).services
      : [];
    const lines = parsed.error.issues.map((i) => {
      const [, index, ...rest] = i.path;
      const name = typeof index === 'number' ? entries[index]?.name : undefined;
      const where =
        typeof index === 'number'
          ? `services[${index}]${name ? ` (${String(name)})` : ''}${rest.length ? `.${rest.join('.')}` : ''}`
          : i.path.join('.') || '(top)';
      return `  ${where}: ${i.message}`;
    });
    throw new Error(`${source} is not a valid services file:\n${lines.join('\n')}`);
  }
  const services = parsed.data.services;
  const seen = new Set<string>();
  for (const s of services) {
    if (seen.has(s.name)) throw new Error(`${source}: service "${s.name}" is declared twice`);
    seen.add(s.name);
  }
  return services;
}

export function loadServices(repoDir: string): Service[] {
  const file = join(repoDir, SERVICES_FILE);
  return parseServices(readFileSync(file, 'utf8'), SERVICES_FILE);
}

/** Every service's name, in file order: the dashboards' `service` variable. */
export function serviceNames(services: Service[]): string[] {
  return services.map((s) => s.name);
}

/** The entries whose rules are generated from their entry. */
export function generatedServices(services: Service[]): Service[] {
  return services.filter((s) => s.rules === 'generated');
}
