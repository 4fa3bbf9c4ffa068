// The calculator tool's arithmetic: a small recursive-descent parser over + - * / % ^ and
// parentheses, with unary minus. No eval: the input is user text.
//
//   expression := term (('+' | '-') term)*
//   term       := power (('*' | '/' | '%') power)*
//   power      := unary ('^' power)?
//   unary      := '-' unary | '+' unary | primary
//   primary    := number | '(' expression ')'

import { charClass, inClass } from '../char-class';

export class CalculatorError extends Error {
  override name = 'CalculatorError';
}

const MAX_LENGTH = 200;
const MAX_DEPTH = 32;

type Token = { kind: 'number'; value: number } | { kind: 'op'; value: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i]!;
    if (char === ' ' || char === '\t') {
      i++;
    } else if ('+-*/%^()'.includes(char)) {
      tokens.push({ kind: 'op', value: char });
      i++;
    } else if (/[0-9.]/.test(char)) {
      const match = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(source.slice(i));
      if (!match) throw new CalculatorError(`malformed number at position ${i + 1}`);
      tokens.push({ kind: 'number', value: Number(match[0]) });
      i += match[0].length;
    } else {
      throw new CalculatorError(`unexpected character "${char}" at position ${i + 1}`);
    }
  }
  return tokens;
}

class Parser {
  private position = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): number {
    if (this.tokens.length === 0) throw new CalculatorError('empty expression');
    const value = this.expression();
    if (this.position < this.tokens.length) {
      throw new CalculatorError(`unexpected "${this.tokens[this.position]!.value}"`);
    }
    return value;
  }

  private peekOp(...ops: string[]): string | undefined {
    const token = this.tokens[this.position];
    return token?.kind === 'op' && ops.includes(token.value) ? token.value : undefined;
  }

  private nested<T>(parse: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new CalculatorError('expression nested too deeply');
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private expression(): number {
    let value = this.term();
    for (let op = this.peekOp('+', '-'); op; op = this.peekOp('+', '-')) {
      this.position++;
      const right = this.term();
      value = op === '+' ? value + right : value - right;
    }
    return value;
  }

  private term(): number {
    let value = this.power();
    for (let op = this.peekOp('*', '/', '%'); op; op = this.peekOp('*', '/', '%')) {
      this.position++;
      const right = this.power();
      if ((op === '/' || op === '%') && right === 0) throw new CalculatorError('division by zero');
      value = op === '*' ? value * right : op === '/' ? value / right : value % right;
    }
    return value;
  }

  private power(): number {
    const base = this.unary();
    if (!this.peekOp('^')) return base;
    this.position++;
    // Right-associative: 2^3^2 is 2^(3^2).
    return base ** this.nested(() => this.power());
  }

  private unary(): number {
    const op = this.peekOp('-', '+');
    if (!op) return this.primary();
    this.position++;
    const value = this.nested(() => this.unary());
    return op === '-' ? -value : value;
  }

  private primary(): number {
    const token = this.tokens[this.position];
    if (!token) throw new CalculatorError('expression ends too early');
    this.position++;
    if (token.kind === 'number') return token.value;
    if (token.value === '(') {
      const value = this.nested(() => this.expression());
      if (!this.peekOp(')')) throw new CalculatorError('missing ")"');
      this.position++;
      return value;
    }
    throw new CalculatorError(`unexpected "${token.value}"`);
  }
}

export function evaluate(expression: string): number {
  if (expression.length > MAX_LENGTH) {
    throw new CalculatorError(`expression longer than ${MAX_LENGTH} characters`);
  }
  const value = new Parser(tokenize(expression)).parse();
  if (!Number.isFinite(value)) throw new CalculatorError('result is not a finite number');
  return value;
}

const EXPRESSION_CHAR = charClass(/[\d\s.+\-*/%^()]/);
const DIGIT = charClass(/\d/);
const SPACE = charClass(/\s/);
const OPERATOR = charClass(/[+\-*/%^]/);
const SIGN_OR_OPEN = charClass(/[-+(]/);

/** Whether `text` has a digit, an operator and another digit ("1 + (2"), in one linear pass. */
function hasOperation(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (!inClass(DIGIT, text, i)) continue;
    let j = i + 1;
    while (j < text.length && inClass(SPACE, text, j)) j++;
    if (j >= text.length || !inClass(OPERATOR, text, j)) continue;
    j++;
    while (j < text.length && (inClass(SPACE, text, j) || inClass(SIGN_OR_OPEN, text, j))) j++;
    if (j < text.length && inClass(DIGIT, text, j)) return true;
    // Nothing between i and j can start another match: go on from where this one failed.
    i = j - 1;
  }
  return false;
}

/**
 * The first arithmetic expression in a text, e.g. "what is (12 + 30) * 2?" → "(12 + 30) * 2":
 * a run of expression characters from the signs and brackets before its first digit. One pass
 * over the text, no backtracking regex: the text is user input of up to BODY_LIMIT_BYTES.
 */
export function findExpression(text: string): string | undefined {
  let i = 0;
  while (i < text.length) {
    if (!inClass(EXPRESSION_CHAR, text, i)) {
      i++;
      continue;
    }
    const runStart = i;
    let digit = -1;
    while (i < text.length && inClass(EXPRESSION_CHAR, text, i)) {
      if (digit === -1 && inClass(DIGIT, text, i)) digit = i;
      i++;
    }
    if (digit === -1) continue;
    let start = digit;
    while (start > runStart && inClass(SPACE, text, start - 1)) start--;
    while (start > runStart && inClass(SIGN_OR_OPEN, text, start - 1)) start--;
    const candidate = text.slice(start, i).trim();
    if (hasOperation(candidate)) return candidate;
  }
  return undefined;
}
