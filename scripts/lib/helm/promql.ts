// PromQL edits for the Helm chart's rules (deploy/helm): add one equality matcher to every
// vector selector of an expression, found with the PromQL grammar (@prometheus-io/lezer-promql)
// rather than a regular expression, so strings, label values and function names stay intact.
import { parser } from '@prometheus-io/lezer-promql';

interface Edit {
  at: number;
  text: string;
}

/** `expr` with each insertion made, the last position first so earlier offsets stay valid. */
function applyEdits(expr: string, edits: Edit[]): string {
  let out = expr;
  for (const e of edits.sort((a, b) => b.at - a.at))
    out = out.slice(0, e.at) + e.text + out.slice(e.at);
  return out;
}

function refuseParseErrors(expr: string, what: string): void {
  parser.parse(expr).iterate({
    enter(n) {
      if (n.type.isError) {
        throw new Error(`${what}: PromQL does not parse near "${expr.slice(n.from, n.from + 30)}"`);
      }
    },
  });
}

/**
 * `expr` with `label="value"` added to every vector selector (inside range and subquery
 * expressions too). A selector that already matches on `label` is refused: the chart owns
 * that label, and a second matcher on it would silently select nothing.
 */
export function addMatcher(expr: string, label: string, value: string, what = 'expr'): string {
  refuseParseErrors(expr, what);
  const matcher = `${label}=${JSON.stringify(value)}`;
  const edits: Edit[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.name !== 'VectorSelector') continue;
    const node = cursor.node;
    const matchers = node.getChild('LabelMatchers');
    if (!matchers) {
      edits.push({ at: node.to, text: `{${matcher}}` });
      continue;
    }
    const names = matchers
      .getChildren('UnquotedLabelMatcher')
      .map((m) => expr.slice(m.getChild('LabelName')!.from, m.getChild('LabelName')!.to));
    if (names.includes(label)) {
      throw new Error(`${what}: a selector already matches on "${label}": ${expr}`);
    }
    const empty = matchers.to - matchers.from === 2;
    edits.push({ at: matchers.from + 1, text: empty ? matcher : `${matcher}, ` });
  } while (cursor.next());
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
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.name !== 'AggregateExpr') continue;
    const node = cursor.node;
    const modifier = node.getChild('AggregateModifier');
    if (!modifier) {
      edits.push({ at: node.getChild('AggregateOp')!.to, text: ` by (${label}) ` });
      continue;
    }
    const grouping = modifier.getChild('GroupingLabels')!;
    const names = grouping.getChildren('LabelName').map((n) => expr.slice(n.from, n.to));
    if (modifier.getChild('Without')) {
      if (names.includes(label)) throw new Error(`${what}: aggregates "${label}" away: ${expr}`);
      continue;
    }
    if (names.includes(label)) continue;
    edits.push({ at: grouping.from + 1, text: names.length === 0 ? label : `${label}, ` });
  } while (cursor.next());
  return applyEdits(expr, edits);
}

/**
 * `expr` with every `vector(s)` literal given `label="value"`. A literal has no labels, so
 * `x{namespace="a"} or vector(0)` would hold two series, one with the namespace and one
 * without, and the rule's own `namespace` label would then make them collide.
 */
export function labelVectorLiterals(expr: string, label: string, value: string): string {
  const edits: Edit[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.name !== 'FunctionCall') continue;
    const fn = cursor.node.getChild('FunctionIdentifier');
    if (!fn?.getChild('Vector')) continue;
    edits.push({
      at: cursor.to,
      text: `, ${JSON.stringify(label)}, ${JSON.stringify(value)}, "", "")`,
    });
    edits.push({ at: cursor.from, text: 'label_replace(' });
  } while (cursor.next());
  return applyEdits(expr, edits);
}

/** The values of every `label="value"` equality matcher in `expr` (e.g. the jobs it reads). */
export function matcherValues(expr: string, label: string): string[] {
  const out: string[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.name !== 'UnquotedLabelMatcher') continue;
    const node = cursor.node;
    const name = node.getChild('LabelName');
    const op = node.getChild('MatchOp');
    const value = node.getChild('StringLiteral');
    if (!name || !op || !value || expr.slice(name.from, name.to) !== label) continue;
    if (expr.slice(op.from, op.to) === '=')
      out.push(JSON.parse(expr.slice(value.from, value.to)) as string);
  } while (cursor.next());
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
