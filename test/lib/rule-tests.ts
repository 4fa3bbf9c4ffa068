// The repo's promtool rule tests (test/rules/*.test.yml), moved into one Kubernetes namespace so
// they can run against the rules extracted from the chart's rendered PrometheusRules: every input
// series gets `namespace`, every expected alert and sample gets it too (except results of a
// label-dropping aggregation), and assertions about alerts the chart leaves to
// kube-prometheus-stack are dropped.
import YAML, { isScalar } from 'yaml';
import { addMatcher } from '../../scripts/lib/helm/promql.ts';

interface Sample {
  labels: string;
  value?: number | string;
}
interface ExprTest {
  expr: string;
  eval_time: string;
  exp_samples?: Sample[];
}
interface AlertTest {
  alertname: string;
  eval_time: string;
  exp_alerts?: { exp_labels?: Record<string, string> }[];
}
interface UnitTest {
  input_series?: { series: string; values: string }[];
  promql_expr_test?: ExprTest[];
  alert_rule_test?: AlertTest[];
  [key: string]: unknown;
}
export interface RuleTestFile {
  rule_files: string[];
  group_eval_order?: string[];
  tests: UnitTest[];
  [key: string]: unknown;
}

/**
 * A promtool test file, parsed. `values:` stays the text it is: YAML would read `0x10`
 * (ten zeros in promtool's notation) as the hexadecimal number 16.
 */
export function parseRuleTests(text: string): RuleTestFile {
  const doc = YAML.parseDocument(text);
  YAML.visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === 'values' && isScalar(pair.value)) {
        pair.value.value = pair.value.source ?? String(pair.value.value);
      }
    },
  });
  return doc.toJS() as RuleTestFile;
}

/** `{a="b"}` or `name{a="b"}` or `name` with `label="value"` added. */
export function withLabel(labels: string, label: string, value: string): string {
  const m = `${label}=${JSON.stringify(value)}`;
  const open = labels.indexOf('{');
  if (open < 0) return `${labels}{${m}}`;
  const empty = /^\{\s*\}$/.test(labels.slice(open).trim());
  return `${labels.slice(0, open + 1)}${m}${empty ? '' : ', '}${labels.slice(open + 1)}`;
}

// An expression whose result has no labels of its own: sum(...), round(sum(...)), count(...).
const AGGREGATE_ALL = /^(round\()?\s*(sum|count|min|max|avg)\s*\((?![^)]*\bby\b)/;

export interface Move {
  namespace: string;
  /** Alerts that no longer exist in the rules under test. */
  dropAlerts: ReadonlySet<string>;
  /** Rule file paths as written in the test file → the extracted rule files. */
  ruleFile: (path: string) => string;
  /** Rule groups that exist in the extracted rules. */
  groups: ReadonlySet<string>;
}

const alertOf = (labels: string): string | undefined => /alertname="([^"]+)"/.exec(labels)?.[1];

function moveExprTest(t: ExprTest, mv: Move): ExprTest | undefined {
  const alert = alertOf(t.expr);
  if (alert && mv.dropAlerts.has(alert)) return undefined;
  const keepsLabels = !AGGREGATE_ALL.test(t.expr.trim());
  const samples = (t.exp_samples ?? [])
    .filter((s) => !mv.dropAlerts.has(alertOf(s.labels) ?? ''))
    .map((s) => ({
      ...s,
      labels: keepsLabels ? withLabel(s.labels, 'namespace', mv.namespace) : s.labels,
    }));
  return { ...t, exp_samples: samples };
}

function moveTest(test: UnitTest, mv: Move): UnitTest {
  const out: UnitTest = { ...test };
  out.input_series = (test.input_series ?? []).map((s) => ({
    ...s,
    series: addMatcher(s.series, 'namespace', mv.namespace, 'input series'),
  }));
  if (test.promql_expr_test) {
    out.promql_expr_test = test.promql_expr_test.flatMap((t) => moveExprTest(t, mv) ?? []);
  }
  if (test.alert_rule_test) {
    out.alert_rule_test = test.alert_rule_test
      .filter((t) => !mv.dropAlerts.has(t.alertname))
      .map((t) => ({
        ...t,
        exp_alerts: (t.exp_alerts ?? []).map((a) => ({
          ...a,
          exp_labels: { ...a.exp_labels, namespace: mv.namespace },
        })),
      }));
  }
  return out;
}

/** The test file, moved into `mv.namespace` and pointed at the extracted rule files. */
export function moveRuleTests(file: RuleTestFile, mv: Move): RuleTestFile {
  const tests = file.tests
    .map((t) => moveTest(t, mv))
    .filter((t) => (t.promql_expr_test?.length ?? 0) + (t.alert_rule_test?.length ?? 0) > 0);
  const out: RuleTestFile = { ...file, rule_files: file.rule_files.map(mv.ruleFile), tests };
  if (file.group_eval_order)
    out.group_eval_order = file.group_eval_order.filter((g) => mv.groups.has(g));
  return out;
}
