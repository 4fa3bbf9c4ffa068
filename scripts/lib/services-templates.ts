// Rule files rendered from an entry's own templates (`rules: templates` in services.yml), for a
// service whose metrics have names of its own (the demo's prom-client names, a fork's custom
// metrics), which the rules generated on the OpenTelemetry conventions (services-rules.ts) do
// not cover. As in the kube-prometheus mixins, what keys on the service is written once, in its
// entry, and the rules take it from there. A template is a Prometheus rule file in which each
// such value is a placeholder:
//
//   ${service.name}          its service.name: the `service` label of its alerts
//   ${service.scrape_job}    its Prometheus job: job="${service.scrape_job}" in every selector
//   ${service.runbook_base}  the base of its runbook_url annotations
//
// Neither Prometheus' annotation templating ({{ $labels.instance }}, {{ $value }}) nor PromQL
// spells "${service.": label_replace's replacement names capture groups ("$1", "${1}", "${name}"),
// and a group name holds no ".". So rendering touches nothing Prometheus reads, and an unknown
// field after "${service." is an error rather than text left for Prometheus to choke on.
//
// prometheus/rules/templates/<file>.yml renders to prometheus/rules/<file>.yml, where every
// consumer (Prometheus' rules/*.yml, which does not descend into templates/, the promtool
// tests, the Helm chart's copies) reads it, under a GENERATED first line naming its sources.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GENERATED_TARGETS_HEADER, SERVICES_FILE, type Service } from './services.ts';

const RULES_DIR = 'prometheus/rules';
const PLACEHOLDER = /\$\{service\.([A-Za-z_]*)\}?/g;
/** What a template may take from its entry: placeholder field → the entry's value. */
const FIELDS: Record<string, (s: Service) => string | undefined> = {
  name: (s) => s.name,
  scrape_job: (s) => s.scrape_job,
  runbook_base: (s) => s.runbook_base,
};

/**
 * The demo's recording-rule template. Its dashboards (grafana/src/) and the smoke test's exemplar
 * check are written for the demo's metric names, as this template is: the entry that renders it
 * is the service they show.
 */
export const DEMO_RECORDING_TEMPLATE = `${RULES_DIR}/templates/recording.yml`;

/** Where a template is rendered to: its file name in prometheus/rules/. */
export const renderedRulePath = (template: string): string => `${RULES_DIR}/${basename(template)}`;

const header = (template: string, s: Service) =>
  `${GENERATED_TARGETS_HEADER} from ${template} with ${SERVICES_FILE} (${s.name}): edit those, not this file.\n`;

/**
 * Characters a value cannot bring into a rule file: it lands unescaped inside PromQL strings
 * (job="…") and plain YAML scalars, where these would end the string or start a comment.
 */
const UNSAFE = /["'`\\\s#{}$]/;

/** A template's text with the entry's values in place of its placeholders. */
export function renderRuleTemplate(text: string, s: Service, template: string): string {
  return text.replace(PLACEHOLDER, (found: string, field: string, offset: number) => {
    const line = text.slice(0, offset).split('\n').length;
    const value = found.endsWith('}') ? FIELDS[field]?.(s) : undefined;
    if (value !== undefined && UNSAFE.test(value))
      throw new Error(
        `${template}:${line}: ${s.name}'s ${field} "${value}" cannot go into a rule file`,
      );
    if (value !== undefined) return value;
    const known = Object.keys(FIELDS).map((f) => `\${service.${f}}`);
    throw new Error(
      FIELDS[field] && found.endsWith('}')
        ? `${template}:${line}: ${found}: ${s.name} has no ${field} in ${SERVICES_FILE}`
        : `${template}:${line}: ${found} is no placeholder (known: ${known.join(', ')})`,
    );
  });
}

/** prometheus/rules/<file>.yml of every template of every `rules: templates` entry. */
export function templateRuleFiles(repoDir: string, services: Service[]): Map<string, string> {
  const files = new Map<string, string>();
  const renderedBy = new Map<string, string>();
  for (const s of services) {
    for (const template of s.rule_templates ?? []) {
      const path = renderedRulePath(template);
      const other = renderedBy.get(path);
      if (other) throw new Error(`${SERVICES_FILE}: ${s.name} and ${other} both render ${path}`);
      renderedBy.set(path, s.name);
      refuseHandWritten(repoDir, path, s.name);
      const text = readFileSync(join(repoDir, template), 'utf8');
      files.set(path, header(template, s) + renderRuleTemplate(text, s, template));
    }
  }
  return files;
}

/** A template never overwrites a rule file written by hand (thresholds.yml, host.yml, a fork's). */
function refuseHandWritten(repoDir: string, path: string, service: string): void {
  const file = join(repoDir, path);
  if (existsSync(file) && !readFileSync(file, 'utf8').startsWith(GENERATED_TARGETS_HEADER))
    throw new Error(
      `${SERVICES_FILE}: ${service}'s template would overwrite ${path}, which is written by hand`,
    );
}

/** Rule files an earlier `make services` rendered from templates no entry names any more. */
export function staleRenderedRules(repoDir: string, files: Map<string, string>): string[] {
  const dir = join(repoDir, RULES_DIR);
  if (!existsSync(dir)) return [];
  const rendered = `${GENERATED_TARGETS_HEADER} from ${RULES_DIR}/templates/`;
  return readdirSync(dir)
    .map((f) => `${RULES_DIR}/${f}`)
    .filter((path) => path.endsWith('.yml') && !files.has(path))
    .filter((path) => readFileSync(join(repoDir, path), 'utf8').startsWith(rendered));
}

/** The entry that renders the demo's templates: the service its dashboards show. */
export function demoService(services: Service[]): Service {
  const demo = services.find((s) => s.rule_templates?.includes(DEMO_RECORDING_TEMPLATE));
  if (!demo)
    throw new Error(
      `${SERVICES_FILE}: no entry renders ${DEMO_RECORDING_TEMPLATE}, whose metrics the demo's dashboards show`,
    );
  return demo;
}

/** The demo's PromQL selector of its own metrics: its scrape job. */
export function demoSelector(services: Service[]): string {
  const demo = demoService(services);
  if (!demo.scrape_job) throw new Error(`${SERVICES_FILE}: ${demo.name} has no scrape_job`);
  return `job="${demo.scrape_job}"`;
}
