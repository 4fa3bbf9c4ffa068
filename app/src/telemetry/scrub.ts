// Removes secrets and personal data from anything the service writes down (log lines, Sentry
// events): e-mail addresses, the configured API keys and admin token, bearer tokens, and the
// values of fields whose names say they hold credentials.

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const SENSITIVE_FIELD =
  /^(authorization|proxy-authorization|x-api-key|api[-_]?key|cookie|set-cookie|password|passwd|secret|token|access[-_]?token|refresh[-_]?token|admin[-_]?token)$/i;

export const FILTERED = '[Filtered]';
const MAX_DEPTH = 12;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
    let result = text;
    if (this.secrets) result = result.replace(this.secrets, FILTERED);
    if (result.includes('@')) result = result.replace(EMAIL, '[email]');
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
