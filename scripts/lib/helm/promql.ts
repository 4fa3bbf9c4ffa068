// PromQL edits for the Helm chart's rules (deploy/helm): add one equality matcher to every
// vector selector of an expression, found with the PromQL grammar (@prometheus-io/lezer-promql)
// rather than a regular expression, so strings, label values and function names stay intact.
import { applyEdits, nodesNamed, refuseParseErrors, type Edit } from '../promql-syntax.ts';

/**
 * `expr` with `label="value"` added to every vector selector (inside range and subquery
 * expressions too). A selector that already matches on `label` is refused: the chart owns
 * that label, and a second matcher on it would silently select nothing.
 */
export function addMatcher(expr: string, label: string, value: string, what = 'expr'): string {
  refuseParseErrors(expr, what);
  const matcher = `${label}=${JSON.stringify(value)}`;
  const edits: Edit[] = [];
  for (const node of nodesNamed(expr, 'VectorSelector')) {
    const matchers = node.getChild('LabelMatchers');
    if (!matchers) {
      edits.push({ from: node.to, text: `{${matcher}}` });
      continue;
    }
    const names = matchers
      .getChildren('UnquotedLabelMatcher')
      .map((m) => expr.slice(m.getChild('LabelName')!.from, m.getChild('LabelName')!.to));
    if (names.includes(label)) {
      throw new Error(`${what}: a selector already matches on "${label}": ${expr}`);
    }
    const empty = matchers.to - matchers.from === 2;
    edits.push({ from: matchers.from + 1, text: empty ? matcher : `${matcher}, ` });
  }
  return applyEdits(expr, edits);
}

/**
 * `expr` with `label` kept through every aggregation: `sum(x)` becomes `sum by (label) (x)`,
 * `by (a)` becomes `by (label, a)`; `without (...)` keeps it already. Otherwise `sum(...)` of a
 * namespace-scoped selector would drop the label and its result would not match the scoped
 * series it is compared or joined with (`sum(errors) or 0 * requests{namespace="x"}`).
 */
export function keepLabel(expr: string, label: string, what = 'expr'): string {
  refuseParseErrors(expr, what);
  const edits: Edit[] = [];
  for (const node of nodesNamed(expr, 'AggregateExpr')) {
    const modifier = node.getChild('AggregateModifier');
    if (!modifier) {
      edits.push({ from: node.getChild('AggregateOp')!.to, text: ` by (${label}) ` });
      continue;
    }
    const grouping = modifier.getChild('GroupingLabels')!;
    const names = grouping.getChildren('LabelName').map((n) => expr.slice(n.from, n.to));
    if (modifier.getChild('Without')) {
      if (names.includes(label)) throw new Error(`${what}: aggregates "${label}" away: ${expr}`);
      continue;
    }
    if (names.includes(label)) continue;
    edits.push({ from: grouping.from + 1, text: names.length === 0 ? label : `${label}, ` });
  }
  return applyEdits(expr, edits);
}

/**
 * `expr` with every `vector(s)` literal given `label="value"`. A literal has no labels, so
 * `x{namespace="a"} or vector(0)` would hold two series, one with the namespace and one
 * without, and the rule's own `namespace` label would then make them collide.
 */
export function labelVectorLiterals(expr: string, label: string, value: string): string {
  const edits: Edit[] = [];
  for (const call of nodesNamed(expr, 'FunctionCall')) {
    if (!call.getChild('FunctionIdentifier')?.getChild('Vector')) continue;
    edits.push({
      from: call.to,
      text: `, ${JSON.stringify(label)}, ${JSON.stringify(value)}, "", "")`,
    });
    edits.push({ from: call.from, text: 'label_replace(' });
  }
  return applyEdits(expr, edits);
}

/** The values of every `label="value"` equality matcher in `expr` (e.g. the jobs it reads). */
export function matcherValues(expr: string, label: string): string[] {
  const out: string[] = [];
  for (const node of nodesNamed(expr, 'UnquotedLabelMatcher')) {
    const name = node.getChild('LabelName');
    const op = node.getChild('MatchOp');
    const value = node.getChild('StringLiteral');
    if (!name || !op || !value || expr.slice(name.from, name.to) !== label) continue;
    if (expr.slice(op.from, op.to) === '=')
      out.push(JSON.parse(expr.slice(value.from, value.to)) as string);
  }
  return out;
}

/**
 * A Go template string (an alert annotation) with `label="value"` added to the PromQL of every
 * `query "..."` call, so a description prints this install's threshold, not another's.
 */
export function addMatcherToQueries(template: string, label: string, value: string): string {
  return template.replace(/\bquery\s+"((?:[^"\\]|\\.)*)"/g, (_all, q: string) => {
    const promql = JSON.parse(`"${q}"`) as string;
    return `query ${JSON.stringify(addMatcher(promql, label, value, 'annotation query'))}`;
  });
}
