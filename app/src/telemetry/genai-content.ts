// Opt-in capture of prompts and completions on chat spans, the way the GenAI conventions record
// them (gen_ai.input.messages / gen_ai.output.messages, JSON strings following
// gen-ai-input-messages.json and gen-ai-output-messages.json). Off by default: prompts carry
// what users typed. When on, every message goes through the one scrubber and is cut to a cap,
// so a span never carries more than a few kilobytes of content.
import type { Span } from '@opentelemetry/api';
import { GEN_AI_ATTR } from './genai';
import { scrubber } from './scrub';

export const TRUNCATION_MARK = '…[truncated]';

export interface ContentCapture {
  enabled: boolean;
  maxChars: number;
}

/** Scrubbed first (so a cut cannot split a secret past the scrubber), then cut to the cap. */
export function capturedText(text: string, maxChars: number): string {
  const scrubbed = scrubber.string(text);
  return scrubbed.length <= maxChars ? scrubbed : scrubbed.slice(0, maxChars) + TRUNCATION_MARK;
}

/** Records the prompt sent and the completion received on a chat span, when capture is on. */
export function recordMessages(
  span: Span,
  capture: ContentCapture,
  prompt: string,
  completion?: { text: string; finishReason: string },
): void {
  if (!capture.enabled || !span.isRecording()) return;
  const input = [
    { role: 'user', parts: [{ type: 'text', content: capturedText(prompt, capture.maxChars) }] },
  ];
  span.setAttribute(GEN_AI_ATTR.inputMessages, JSON.stringify(input));
  if (completion === undefined) return;
  const output = [
    {
      role: 'assistant',
      parts: [{ type: 'text', content: capturedText(completion.text, capture.maxChars) }],
      finish_reason: completion.finishReason,
    },
  ];
  span.setAttribute(GEN_AI_ATTR.outputMessages, JSON.stringify(output));
}
