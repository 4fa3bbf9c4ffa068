// Renders Alertmanager's configuration from the repo's base file and .env.
//
// Alertmanager expands no environment variables, so this is the one place where settings from
// .env reach it: alertmanager/alertmanager.yml (routes, inhibition, the local webhook receiver)
// plus every entry of alertmanager/receivers.optional.yml (Slack, PagerDuty, e-mail, a dead man's
// switch) whose required variables are all set. Secrets never enter the YAML: each goes to a
// file that the YAML names through the integration's *_file field. `make configure`
// (scripts/configure.ts) writes the result to alertmanager/generated/, which compose mounts.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML, { isMap, isSeq, type Document, type YAMLMap } from 'yaml';
import { z } from 'zod';

export const BASE_CONFIG = 'alertmanager/alertmanager.yml';
export const OPTIONAL_RECEIVERS = 'alertmanager/receivers.optional.yml';
/** Where docker-compose.yml mounts alertmanager/generated/secrets/. */
export const DEFAULT_SECRETS_DIR = '/etc/alertmanager/secrets';
/**
 * Overrides DEFAULT_SECRETS_DIR, for an Alertmanager that runs outside compose. Alertmanager
 * reads *_file paths relative to its working directory, not to its config, so it must be an
 * absolute path.
 */
export const SECRETS_DIR_VAR = 'ALERTMANAGER_SECRETS_DIR';
/** The compose service that shows delivered alerts (scripts/alert-receiver.ts). */
const LOCAL_RECEIVER_HOST = 'alert-receiver';

export interface RenderedAlertmanager {
  yaml: string;
  /** Delivery channels switched on: `alert-receiver`, then the optional entries. */
  active: string[];
  /** Optional entries left out, with the variables they lack. */
  skipped: { receiver: string; missing: string }[];
  /** File name → content, for alertmanager/generated/secrets/. */
  secretFiles: Record<string, string>;
}

const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an environment variable name');
const fileName = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'a plain file name');
const integrationConfigs = z.array(z.record(z.string(), z.unknown())).min(1);
const entrySchema = z.strictObject({
  requires: z.array(envName).min(1),
  secrets: z.record(fileName, envName).default({}),
  settings: z.record(envName, z.string()).default({}),
  receivers: z.record(
    z.string(),
    z.record(z.string().regex(/_configs$/, 'an integration list (…_configs)'), integrationConfigs),
  ),
});
type Entry = z.infer<typeof entrySchema>;

const PLACEHOLDER = /\$\{([A-Z][A-Z0-9_]*)\}/g;

/** The optional entries in file order; `x-*` keys only hold YAML anchors. */
export function loadOptionalReceivers(text: string, source: string): [string, Entry][] {
  const raw: unknown = YAML.parse(text);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`${source}: expected a map of receivers`);
  }
  const entries: [string, Entry][] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (name.startsWith('x-')) continue;
    const parsed = entrySchema.safeParse(value);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new Error(`${source}: entry "${name}": ${issues.join('; ')}`);
    }
    entries.push([name, parsed.data]);
  }
  return entries;
}

function valueOf(env: Record<string, string | undefined>, name: string): string {
  return (env[name] ?? '').trim();
}

/** Rejects values that would break out of the place they are put. */
function checkValue(entry: string, name: string, value: string): void {
  if (/[\r\n]/.test(value)) throw new Error(`${entry}: ${name} must be a single line`);
  if (name.endsWith('_URL')) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error(`${entry}: ${name} is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new Error(`${entry}: ${name} must be an http(s) URL`);
    }
  }
}

/** Replaces ${NAME} in every string of an integration config; anything unknown is an error. */
function substitute(
  node: unknown,
  vars: Map<string, string>,
  secretVars: Set<string>,
  entry: string,
): unknown {
  if (typeof node === 'string') {
    return node.replace(PLACEHOLDER, (_match, name: string) => {
      if (secretVars.has(name)) {
        throw new Error(`${entry}: ${name} is a secret: refer to its file, not to the variable`);
      }
      const value = vars.get(name);
      if (value === undefined) throw new Error(`${entry}: unknown placeholder \${${name}}`);
      return value;
    });
  }
  if (Array.isArray(node)) return node.map((item) => substitute(item, vars, secretVars, entry));
  if (typeof node === 'object' && node !== null) {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, substitute(v, vars, secretVars, entry)]),
    );
  }
  return node;
}

function receiverMap(doc: Document, name: string): YAMLMap {
  const receivers = doc.get('receivers');
  if (isSeq(receivers)) {
    for (const item of receivers.items) {
      if (isMap(item) && item.get('name') === name) return item;
    }
  }
  throw new Error(`${BASE_CONFIG} has no receiver "${name}"`);
}

function deliversLocally(doc: Document): boolean {
  const receivers = doc.get('receivers');
  if (!isSeq(receivers)) return false;
  return receivers.items.some((receiver) => {
    const hooks = isMap(receiver) ? receiver.get('webhook_configs') : undefined;
    if (!isSeq(hooks)) return false;
    return hooks.items.some((hook) => {
      const url = isMap(hook) ? hook.get('url') : undefined;
      return (
        typeof url === 'string' &&
        URL.canParse(url) &&
        new URL(url).hostname === LOCAL_RECEIVER_HOST
      );
    });
  });
}

/** The settings of one optional receiver (env, else its default), each checked. */
function entryVars(
  name: string,
  entry: Entry,
  env: Record<string, string | undefined>,
  secretsDir: string,
  secretVars: Set<string>,
): Map<string, string> {
  const vars = new Map<string, string>([['SECRETS_DIR', secretsDir]]);
  for (const [setting, fallback] of Object.entries(entry.settings)) {
    vars.set(setting, valueOf(env, setting) || fallback);
  }
  for (const required of entry.requires) {
    if (!secretVars.has(required)) vars.set(required, valueOf(env, required));
  }
  for (const [setting, value] of vars) {
    if (setting === 'SECRETS_DIR') continue;
    checkValue(name, setting, value);
    // Alertmanager expands templates in most string fields: a setting must not smuggle one in.
    if (value.includes('{{')) throw new Error(`${name}: ${setting} must not contain "{{"`);
  }
  return vars;
}

/** The secret files of one optional receiver: file name → value from env. */
function collectSecrets(
  name: string,
  entry: Entry,
  env: Record<string, string | undefined>,
  secretFiles: Record<string, string>,
): void {
  for (const [file, variable] of Object.entries(entry.secrets)) {
    const value = valueOf(env, variable);
    if (value === '') throw new Error(`${name}: secret ${variable} is not in "requires"`);
    checkValue(name, variable, value);
    if (file in secretFiles) throw new Error(`${name}: secret file ${file} is used twice`);
    secretFiles[file] = value;
  }
}

/** Its integrations, rendered, added to the receivers of the base config they name. */
function addIntegrations(
  doc: Document,
  name: string,
  entry: Entry,
  vars: Map<string, string>,
  secretVars: Set<string>,
): void {
  for (const [receiver, integrations] of Object.entries(entry.receivers)) {
    const target = receiverMap(doc, receiver);
    for (const [key, configs] of Object.entries(integrations)) {
      const rendered = substitute(configs, vars, secretVars, name) as unknown[];
      const existing = target.get(key);
      if (isSeq(existing)) {
        for (const config of rendered) existing.add(doc.createNode(config));
      } else {
        target.set(key, doc.createNode(rendered));
      }
    }
  }
}

export function renderAlertmanagerConfig(
  env: Record<string, string | undefined>,
  repoRoot: string,
): RenderedAlertmanager {
  const secretsDir = valueOf(env, SECRETS_DIR_VAR) || DEFAULT_SECRETS_DIR;
  if (!secretsDir.startsWith('/')) {
    throw new Error(
      `${SECRETS_DIR_VAR} must be an absolute path (Alertmanager reads it from its working directory)`,
    );
  }

  const doc = YAML.parseDocument(readFileSync(join(repoRoot, BASE_CONFIG), 'utf8'));
  if (doc.errors.length > 0) throw new Error(`${BASE_CONFIG}: ${doc.errors[0].message}`);
  const entries = loadOptionalReceivers(
    readFileSync(join(repoRoot, OPTIONAL_RECEIVERS), 'utf8'),
    OPTIONAL_RECEIVERS,
  );

  const active: string[] = deliversLocally(doc) ? [LOCAL_RECEIVER_HOST] : [];
  const skipped: RenderedAlertmanager['skipped'] = [];
  const secretFiles: Record<string, string> = {};

  for (const [name, entry] of entries) {
    const missing = entry.requires.filter((v) => valueOf(env, v) === '');
    if (missing.length > 0) {
      skipped.push({ receiver: name, missing: missing.join(', ') });
      continue;
    }
    const secretVars = new Set(Object.values(entry.secrets));
    const vars = entryVars(name, entry, env, secretsDir, secretVars);
    collectSecrets(name, entry, env, secretFiles);
    addIntegrations(doc, name, entry, vars, secretVars);
    active.push(name);
  }

  const header = [
    ` Generated by \`make configure\` (scripts/lib/alertmanager-config.ts) from ${BASE_CONFIG},`,
    ` ${OPTIONAL_RECEIVERS} and .env. Edit those, then run \`make configure\` again.`,
    ` Delivering to: ${active.join(', ') || 'nothing'}.` +
      (skipped.length > 0 ? ` Left out: ${skipped.map((s) => s.receiver).join(', ')}.` : ''),
  ].join('\n');
  doc.commentBefore = doc.commentBefore ? `${header}\n\n${doc.commentBefore}` : header;

  return { yaml: doc.toString({ lineWidth: 0 }), active, skipped, secretFiles };
}
