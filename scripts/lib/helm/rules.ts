// prometheus/rules/*.yml → the rule groups of the chart's PrometheusRules (deploy/helm).
//
// Under kube-prometheus-stack one Prometheus evaluates the rules of every install in the
// cluster. The repo's rules assume they are alone: thresholds are label-free constants read
// with scalar(), recorded series carry no label of their own, and `sum(...)` drops every
// label. Two installs would then record the same series twice and scalar() over two samples
// is NaN, so every threshold would vanish. Each install is therefore made a namespace of its
// own (one install per namespace):
//   - every vector selector gets `namespace="<release namespace>"`, so a rule reads only its
//     own install's series (scrape targets carry `namespace`, recorded series get it below),
//     and every aggregation keeps `namespace` (`sum(x)` → `sum by (namespace) (x)`), so
//     results still match the scoped series they are compared or joined with;
//   - every rule gets the label `namespace`, so recorded series are per install and every
//     alert keeps `namespace` (the Operator routes an AlertmanagerConfig on it), `sum(...)`
//     alerts included;
//   - `query "..."` in annotations reads this install's threshold;
//   - alerts that kube-prometheus-stack already has are left out (kube-prometheus-stack.ts).
// The namespace is written as NAMESPACE_PLACEHOLDER; the chart's template fills it in.
import {
  addMatcher,
  addMatcherToQueries,
  keepLabel,
  labelVectorLiterals,
  matcherValues,
} from './promql.ts';
import {
  CHART_JOBS,
  LEFT_TO_KUBE_PROMETHEUS_STACK,
  NOT_RENDERED_ON_KUBERNETES,
  NAMESPACE_PLACEHOLDER,
} from './kube-prometheus-stack.ts';

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  limit?: number;
  rules: Rule[];
}

export interface RuleFile {
  groups: RuleGroup[];
}

const NS = 'namespace';

/** Jobs an expression reads that no endpoint of the chart produces. */
function foreignJobs(expr: string): string[] {
  const chart = new Set<string>(CHART_JOBS);
  return matcherValues(expr, 'job').filter((job) => !chart.has(job));
}

function scopeRule(rule: Rule, where: string): Rule {
  const name = rule.alert ?? rule.record ?? '?';
  if (rule.labels && NS in rule.labels) {
    throw new Error(`${where} ${name}: sets the label "${NS}", which the chart owns`);
  }
  const scoped = addMatcher(rule.expr, NS, NAMESPACE_PLACEHOLDER, name);
  const kept = keepLabel(scoped, NS, name);
  const out: Rule = { ...rule, expr: labelVectorLiterals(kept, NS, NAMESPACE_PLACEHOLDER) };
  out.labels = { ...rule.labels, [NS]: NAMESPACE_PLACEHOLDER };
  if (rule.annotations) {
    out.annotations = Object.fromEntries(
      Object.entries(rule.annotations).map(([k, v]) => [
        k,
        addMatcherToQueries(v, NS, NAMESPACE_PLACEHOLDER),
      ]),
    );
  }
  return out;
}

/** Whether the chart renders this rule; throws for an alert it cannot render faithfully. */
function keepRule(rule: Rule, where: string): boolean {
  if (rule.alert && rule.alert in LEFT_TO_KUBE_PROMETHEUS_STACK) return false;
  if (rule.alert && rule.alert in NOT_RENDERED_ON_KUBERNETES) return false;
  const foreign = foreignJobs(rule.expr);
  if (foreign.length > 0) {
    throw new Error(
      `${where} ${rule.alert ?? rule.record}: reads job ${foreign.join(', ')}, which the chart ` +
        `does not scrape. Map it to kube-prometheus-stack's alert in ` +
        `scripts/lib/helm/kube-prometheus-stack.ts (and docs/kubernetes.md), or scrape that job.`,
    );
  }
  return true;
}

/** The chart's version of one rule file; groups left empty are dropped. */
export function chartRules(file: RuleFile, source: string): RuleFile {
  const groups: RuleGroup[] = [];
  for (const group of file.groups) {
    const where = `${source} group ${group.name}:`;
    const rules = group.rules.filter((r) => keepRule(r, where)).map((r) => scopeRule(r, where));
    if (rules.length > 0) groups.push({ ...group, rules });
  }
  return { groups };
}

/** Alert names of a rule file (each once). */
export function alertNames(file: RuleFile): string[] {
  return [
    ...new Set(file.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])))),
  ];
}
