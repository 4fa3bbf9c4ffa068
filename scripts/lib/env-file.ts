// Reading and updating .env files the way Docker Compose reads them (KEY=VALUE lines, `#`
// comments, optional quotes), without losing the comments and order a person wrote. Used by
// `make configure`, `make open` and the config tests. Node built-ins only.

import { readFileSync } from 'node:fs';

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/;

function unquote(raw: string): string {
  const value = raw.trim();
  if (value.startsWith("'")) {
    const end = value.indexOf("'", 1);
    return end === -1 ? value.slice(1) : value.slice(1, end);
  }
  if (value.startsWith('"')) {
    let out = '';
    for (let i = 1; i < value.length; i++) {
      const c = value[i];
      if (c === '"') break;
      if (c === '\\' && i + 1 < value.length) {
        const next = value[++i];
        out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
      } else out += c;
    }
    return out;
  }
  // Unquoted: a ` #` starts a comment (as in Compose); a `#` inside a word does not.
  const comment = value.search(/\s#/);
  return (comment === -1 ? value : value.slice(0, comment)).trim();
}

/** KEY → value, in file order. A key set twice keeps its last value, as Compose does. */
export function parseEnv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*(#|$)/.test(line)) continue;
    const m = LINE.exec(line);
    if (m) out.set(m[1], unquote(m[2]));
  }
  return out;
}

/** parseEnv of a file, or an empty map when the file does not exist. */
export function readEnvFile(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  return parseEnv(text);
}

/** Quote a value only when Compose would otherwise read it differently. */
export function formatEnvValue(value: string): string {
  if (value === '' || /^[A-Za-z0-9_\-.,:/@+=%]+$/.test(value)) return value;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * Sets keys in .env text: the line of an existing key is rewritten in place (keeping its
 * position and the comments around it), a new key is appended at the end.
 */
export function setEnvValues(text: string, values: Record<string, string>): string {
  const seen = new Set<string>();
  const lines = text.split('\n').map((line) => {
    const m = LINE.exec(line);
    if (!m || !Object.hasOwn(values, m[1])) return line;
    // Every line of a repeated key, so the value holds whichever line Compose reads.
    seen.add(m[1]);
    return `${m[1]}=${formatEnvValue(values[m[1]])}`;
  });
  let out = lines.join('\n');
  const missing = Object.entries(values).filter(([key]) => !seen.has(key));
  if (missing.length > 0) {
    if (out.length > 0 && !out.endsWith('\n')) out += '\n';
    for (const [key, value] of missing) out += `${key}=${formatEnvValue(value)}\n`;
  }
  return out;
}
