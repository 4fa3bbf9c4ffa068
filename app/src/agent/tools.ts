// The tools agents call between LLM steps. `calculator` really computes; `search` answers from a
// small built-in corpus, so results depend on the query like a real index would.
import { CalculatorError, evaluate, findExpression } from './calculator';
import type { ToolName } from './catalog';

export class ToolError extends Error {
  override name = 'ToolError';
}

export interface ToolResult {
  tool: ToolName;
  input: string;
  output: string;
}

const CORPUS: { topic: string; text: string }[] = [
  { topic: 'billing', text: 'Invoices are issued on the first day of each month.' },
  { topic: 'refund', text: 'Refunds reach the original payment method within 5 working days.' },
  { topic: 'password', text: 'A password can be reset from the sign-in page.' },
  { topic: 'latency', text: 'p95 latency is the time under which 95 % of requests finish.' },
  { topic: 'slo', text: 'An SLO of 99.5 % allows about 3.6 hours of errors in 30 days.' },
  { topic: 'token', text: 'A token is about four characters of English text.' },
  { topic: 'cost', text: 'LLM cost is priced per million input and output tokens.' },
  { topic: 'trace', text: 'A trace is the tree of spans one request caused.' },
];

const MAX_QUERY_LENGTH = 200;

export function search(query: string): ToolResult {
  const words = new Set(query.toLowerCase().match(/[a-z]+/g) ?? []);
  const hits = CORPUS.filter(({ topic }) => words.has(topic)).map(({ text }) => text);
  return {
    tool: 'search',
    input: query.slice(0, MAX_QUERY_LENGTH),
    output: hits.length > 0 ? hits.join(' ') : 'No matching documents.',
  };
}

export function calculator(text: string): ToolResult {
  const expression = findExpression(text) ?? text.trim();
  try {
    return { tool: 'calculator', input: expression, output: String(evaluate(expression)) };
  } catch (error) {
    if (error instanceof CalculatorError) {
      throw new ToolError(`calculator: ${error.message}`);
    }
    throw error;
  }
}

export function runTool(tool: ToolName, input: string): ToolResult {
  return tool === 'calculator' ? calculator(input) : search(input);
}

/** Which tool an agent reaches for with this input, if any. */
export function chooseTool(tools: readonly ToolName[], input: string): ToolName | undefined {
  if (tools.includes('calculator') && findExpression(input) !== undefined) return 'calculator';
  return tools.includes('search') ? 'search' : undefined;
}
