// Removes secrets and personal data from anything the service writes down (log lines, span
// attributes, Sentry events): e-mail addresses, the configured API keys and admin token, bearer
// tokens, and the values of fields whose names say they hold credentials. Every step is linear in
// its input, and a string is looked at only up to MAX_SCRUB_LENGTH characters (the rest is cut):
// clients choose these strings, so their cost must not be theirs to choose.
import { charClass, inClass } from '../char-class';

/** Longer strings are cut to this many characters before scrubbing (and stay cut). */
export const MAX_SCRUB_LENGTH = 8192;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const SENSITIVE_FIELD =
  /^(authorization|proxy-authorization|x-api-key|api[-_]?key|cookie|set-cookie|password|passwd|secret|token|access[-_]?token|refresh[-_]?token|admin[-_]?token)$/i;

export const FILTERED = '[Filtered]';
const MAX_DEPTH = 12;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const LOCAL_PART = charClass(/[A-Za-z0-9._%+-]/);
const LABEL = charClass(/[A-Za-z0-9-]/);
const LETTER = charClass(/[A-Za-z]/);
const DOT = 46;

/**
 * The end of the domain of an address whose "@" is at `at`, or -1: labels of [A-Za-z0-9-]
 * separated by dots, the last one starting with two letters (the top-level domain). Reads only
 * the run of domain characters after `at`, which no other "@" can share.
 */
function domainEnd(text: string, at: number): number {
  let found = -1;
  let i = at + 1;
  for (let label = 0; ; label++) {
    const labelStart = i;
    while (i < text.length && inClass(LABEL, text, i)) i++;
    if (i === labelStart) return found;
    if (label > 0) {
      let letters = labelStart;
      while (letters < i && inClass(LETTER, text, letters)) letters++;
      if (letters - labelStart >= 2) found = letters;
    }
    if (text.charCodeAt(i) !== DOT) return found;
    i++;
  }
}

/** Replaces e-mail addresses with "[email]" in one pass: each character is read at most twice. */
export function scrubEmails(text: string): string {
  let result = '';
  let copied = 0;
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at;
    // The local part cannot contain "@", so runs scanned here never overlap.
    while (start > copied && inClass(LOCAL_PART, text, start - 1)) start--;
    if (start === at) continue;
    const end = domainEnd(text, at);
    if (end === -1) continue;
    result += `${text.slice(copied, start)}[email]`;
    copied = end;
    at = end - 1;
  }
  return copied === 0 ? text : result + text.slice(copied);
}

export class Scrubber {
  private secrets: RegExp | undefined;

  constructor(secrets: readonly string[] = []) {
    this.setSecrets(secrets);
  }

  setSecrets(secrets: readonly string[]): void {
    const distinct = [...new Set(secrets.filter((secret) => secret.length > 0))];
    // Longest first so that a key that contains another is replaced whole.
    distinct.sort((a, b) => b.length - a.length);
    this.secrets =
      distinct.length === 0 ? undefined : new RegExp(distinct.map(escapeRegExp).join('|'), 'g');
  }

  string(text: string): string {
    let result =
      text.length > MAX_SCRUB_LENGTH
        ? `${text.slice(0, MAX_SCRUB_LENGTH)}…[truncated ${text.length - MAX_SCRUB_LENGTH} characters]`
        : text;
    if (this.secrets) result = result.replace(this.secrets, FILTERED);
    if (result.includes('@')) result = scrubEmails(result);
    if (/bearer|basic/i.test(result)) result = result.replace(BEARER, `$1 ${FILTERED}`);
    return result;
  }

  /** A scrubbed copy of a JSON-like value; objects are copied, never modified in place. */
  deep<T>(value: T, depth = 0): T {
    if (typeof value === 'string') return this.string(value) as T;
    if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
    if (Array.isArray(value)) return value.map((item) => this.deep(item, depth + 1)) as T;
    const copy: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      copy[key] =
        SENSITIVE_FIELD.test(key) && field !== undefined && field !== null
          ? FILTERED
          : this.deep(field, depth + 1);
    }
    return copy as T;
  }
}

/** The process-wide scrubber; server start-up tells it which secrets are configured. */
export const scrubber = new Scrubber();
