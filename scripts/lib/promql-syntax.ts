// PromQL by its grammar (@prometheus-io/lezer-promql), not by regular expressions, so strings,
// label values and function names stay intact: the syntax-tree walk and text edits that the
// native stack's time scaling (stack/rewrite.ts) and the Helm chart's rules (helm/promql.ts)
// share.
import { parser } from '@prometheus-io/lezer-promql';

/** A node of the syntax tree (the type of @lezer/common, which the grammar brings). */
export type SyntaxNode = ReturnType<ReturnType<typeof parser.parse>['cursor']>['node'];

/** Replaces `from`..`to` (an insertion where `to` is absent) with `text`. */
export interface Edit {
  from: number;
  to?: number;
  text: string;
}

/** `expr` with each edit made, the last position first so earlier offsets stay valid. */
export function applyEdits(expr: string, edits: Edit[]): string {
  let out = expr;
  for (const e of [...edits].sort((a, b) => b.from - a.from))
    out = out.slice(0, e.from) + e.text + out.slice(e.to ?? e.from);
  return out;
}

export function refuseParseErrors(expr: string, what: string): void {
  parser.parse(expr).iterate({
    enter(n) {
      if (n.type.isError) {
        throw new Error(`${what}: PromQL does not parse near "${expr.slice(n.from, n.from + 30)}"`);
      }
    },
  });
}

/** Every node of `expr`'s syntax tree of the given type, in document order. */
export function nodesNamed(expr: string, name: string): SyntaxNode[] {
  const found: SyntaxNode[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.name === name) found.push(cursor.node);
  } while (cursor.next());
  return found;
}
