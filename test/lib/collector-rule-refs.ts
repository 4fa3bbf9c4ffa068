// The Collector metrics the rules name: every selector of prometheus/rules/ whose metric name
// is a Collector's, as a matcher that can be tested against the names a Collector serves.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import YAML from 'yaml';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

export interface NameRef {
  rule: string;
  /** The matcher as PromQL, e.g. `__name__=~"otelcol_receiver_refused_spans(_total)?"`. */
  matcher: string;
  matches: (name: string) => boolean;
}

const unquote = (literal: string) => JSON.parse(literal.replace(/^'|'$/g, '"')) as string;

/** Every selector of the rules in prometheus/rules/ whose metric name is a Collector's (`otelcol_…`). */
export function collectorNameRefs(): NameRef[] {
  const dir = path.join(REPO_ROOT, 'prometheus/rules');
  const refs: NameRef[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    const doc = YAML.parse(readFileSync(path.join(dir, file), 'utf8')) as {
      groups?: { rules?: { alert?: string; record?: string; expr: string }[] }[];
    };
    for (const rule of (doc.groups ?? []).flatMap((g) => g.rules ?? [])) {
      const expr = String(rule.expr);
      parser.parse(expr).iterate({
        enter(n) {
          if (n.name !== 'VectorSelector') return;
          const add = (matcher: string, matches: (name: string) => boolean, source: string) => {
            if (source.startsWith('otelcol_'))
              refs.push({ rule: `${rule.alert ?? rule.record} (${file})`, matcher, matches });
          };
          const identifier = n.node.getChild('Identifier');
          if (identifier) {
            const name = expr.slice(identifier.from, identifier.to);
            add(`__name__="${name}"`, (x) => x === name, name);
          }
          const matchers = n.node.getChild('LabelMatchers');
          for (let m = matchers?.firstChild; m; m = m.nextSibling) {
            const label = m.getChild('LabelName');
            const op = m.getChild('MatchOp');
            const value = m.getChild('StringLiteral');
            if (!label || !op || !value || expr.slice(label.from, label.to) !== '__name__')
              continue;
            const v = unquote(expr.slice(value.from, value.to));
            const opText = expr.slice(op.from, op.to);
            const matcher = `__name__${opText}${JSON.stringify(v)}`;
            if (opText === '=') add(matcher, (x) => x === v, v);
            else if (opText === '=~') {
              const re = new RegExp(`^(?:${v})$`);
              add(matcher, (x) => re.test(x), v);
            }
          }
        },
      });
    }
  }
  return refs;
}
