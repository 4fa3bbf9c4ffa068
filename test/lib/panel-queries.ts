// The PromQL checks the dashboard tests share (parse errors, metric names, `or vector(0)`
// padding), on top of the dashboard queries themselves, which live in
// scripts/lib/dashboards/panel-queries.ts because `make smoke` sends them to Grafana too.
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';

export * from '../../scripts/lib/dashboards/panel-queries.ts';

const walk = (node: SyntaxNode, visit: (node: SyntaxNode) => void): void => {
  visit(node);
  for (let child = node.firstChild; child; child = child.nextSibling) walk(child, visit);
};

const tree = (expr: string): SyntaxNode => parser.parse(expr).topNode;

/** PromQL syntax errors as `offset: text` strings; empty when the query parses. */
export const syntaxErrors = (expr: string): string[] => {
  const errors: string[] = [];
  if (expr.trim() === '') return ['empty query'];
  walk(tree(expr), (node) => {
    if (node.type.isError) {
      errors.push(`${node.from}: ${JSON.stringify(expr.slice(node.from, node.to + 10))}`);
    }
  });
  return errors;
};

const unquote = (literal: string): string => JSON.parse(literal.replace(/^'|'$/g, '"')) as string;

/**
 * The metric names a query selects: the name before `{…}` or an exact `__name__="…"`
 * matcher. A selector whose name is a regex cannot be checked and is returned as an
 * error instead.
 */
export const metricNames = (expr: string): { names: string[]; errors: string[] } => {
  const names = new Set<string>();
  const errors: string[] = [];
  walk(tree(expr), (node) => {
    if (node.name !== 'VectorSelector') return;
    const identifier = node.getChild('Identifier');
    if (identifier) {
      names.add(expr.slice(identifier.from, identifier.to));
      return;
    }
    const matchers = node.getChild('LabelMatchers');
    let named = false;
    for (let matcher = matchers?.firstChild; matcher; matcher = matcher.nextSibling) {
      const label = matcher.getChild('LabelName');
      if (!label || expr.slice(label.from, label.to) !== '__name__') continue;
      const op = matcher.getChild('MatchOp');
      const value = matcher.getChild('StringLiteral');
      if (op && value && expr.slice(op.from, op.to) === '=') {
        names.add(unquote(expr.slice(value.from, value.to)));
        named = true;
      }
    }
    if (!named)
      errors.push(`selector without an exact metric name: ${expr.slice(node.from, node.to)}`);
  });
  return { names: [...names], errors };
};

/**
 * Padding: an `or` whose other side selects no series at all (`… or vector(0)`,
 * `… or on() vector(1)`), which turns "no data" into a made-up number. Panels must
 * have data because the counters exist, so this is refused wherever it appears.
 */
export const paddingIn = (expr: string): string[] => {
  const found: string[] = [];
  walk(tree(expr), (node) => {
    if (node.name !== 'BinaryExpr' || !node.getChild('Or')) return;
    const operands = [node.firstChild, node.lastChild].filter((child) => child !== null);
    for (const operand of operands) {
      let selects = false;
      walk(operand, (inner) => {
        if (inner.name === 'VectorSelector') selects = true;
      });
      if (!selects) found.push(`or ${expr.slice(operand.from, operand.to)}`);
    }
  });
  return found;
};
