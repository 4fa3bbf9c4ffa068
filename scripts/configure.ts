// `make configure` (also the first step of `make up`):
//   1. .env: created from .env.example when missing; empty secrets filled with random values;
//      keys that a newer .env.example added are appended; nothing you set is overwritten.
//   2. Alertmanager: alertmanager/generated/alertmanager.yml and its secret files rendered from
//      .env by scripts/lib/alertmanager-config.ts, so a receiver whose secret is missing is
//      never active (Alertmanager itself cannot read environment variables). The one-shot
//      `alertmanager-config` service of docker-compose.yml copies them to Alertmanager's user.
//   3. With TIME_SCALE (e.g. 60): the time-scaled Prometheus configs and the compose override
//      `make up TIME_SCALE=60` starts with (scripts/lib/stack/compose-time-scale.ts), and
//      Alertmanager's timers scaled; without it, any earlier rendering is removed.
//   4. The folders and files docker-compose.yml bind-mounts, and its image build contexts, are
//      made readable by every user (a+rX): the containers run as their own users, and a clone
//      made under umask 077 would otherwise hide its configs (and the app's package.json in its
//      image) from them. None of them holds a secret.
// Prints where the secrets are and which receivers are on. Runs in the tools container
// (scripts/host/tools.sh) or on Node 24 from `make install`: Node built-ins, yaml and zod only.

import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { renderAlertmanagerConfig, type RenderedAlertmanager } from './lib/alertmanager-config.ts';
import { parseEnv, setEnvValues } from './lib/env-file.ts';
import {
  renderComposeTimeScale,
  TIME_SCALE_DIR,
  TIME_SCALE_OVERRIDE,
} from './lib/stack/compose-time-scale.ts';
import { bindMounts } from './lib/stack/configs.ts';

/**
 * Filled with a random value whenever empty: the stack must not start with no password, and
 * the app refuses its provider listener without a key.
 */
export const ALWAYS_GENERATED = ['GRAFANA_ADMIN_PASSWORD', 'PROVIDER_API_KEY'] as const;
/**
 * Filled when .env (or the key) is new; left empty if you empty it later, which switches the
 * feature off (an empty ADMIN_TOKEN disables the chaos API).
 */
export const GENERATED_WHEN_NEW = ['ADMIN_TOKEN'] as const;
/** The app refuses to start without keys (outside DEMO_MODE): one key per tier, when empty. */
export const API_KEY_TIERS = ['free', 'pro'] as const;
/** The public demo keys an older .env.example put in .env: replaced like an empty value. */
export const OLD_DEFAULT_API_KEYS = 'demo-free:free,demo-pro:pro';

export type RenderAlertmanager = (
  env: Record<string, string | undefined>,
  repoRoot: string,
) => RenderedAlertmanager;

export interface EnvResult {
  path: string;
  created: boolean;
  /** Keys that got a fresh random value. */
  generated: string[];
  /** Keys copied from .env.example because .env lacked them. */
  added: string[];
  values: Map<string, string>;
}

/** 32 URL-safe characters from 24 random bytes: no quoting needed in .env or YAML. */
export function randomSecret(): string {
  return randomBytes(24).toString('base64url');
}

export function ensureEnvFile(repoRoot: string, opts: { secret?: () => string } = {}): EnvResult {
  const secret = opts.secret ?? randomSecret;
  const examplePath = join(repoRoot, '.env.example');
  const envPath = join(repoRoot, '.env');
  const exampleText = readFileSync(examplePath, 'utf8');
  const example = parseEnv(exampleText);

  const created = !existsSync(envPath);
  let text = created ? exampleText : readFileSync(envPath, 'utf8');
  const current = parseEnv(text);

  const added: string[] = [];
  const addedValues: Record<string, string> = {};
  for (const [key, value] of example) {
    if (!current.has(key)) {
      added.push(key);
      addedValues[key] = value;
    }
  }
  if (added.length > 0) {
    if (!text.endsWith('\n')) text += '\n';
    text += `\n# Added by make configure from .env.example (${new Date().toISOString().slice(0, 10)}):\n`;
    text = setEnvValues(text, addedValues);
  }

  const updates: Record<string, string> = {};
  const isEmpty = (key: string) => (current.get(key) ?? addedValues[key] ?? '') === '';
  // Only keys .env.example has: a fork that drops one (e.g. the provider listener) drops its secret.
  for (const key of ALWAYS_GENERATED) if (example.has(key) && isEmpty(key)) updates[key] = secret();
  for (const key of GENERATED_WHEN_NEW) {
    if ((created || added.includes(key)) && isEmpty(key)) updates[key] = secret();
  }
  const oldDefault = current.get('API_KEYS') === OLD_DEFAULT_API_KEYS;
  if (example.has('API_KEYS') && (isEmpty('API_KEYS') || oldDefault)) {
    updates.API_KEYS = API_KEY_TIERS.map((tier) => `${secret()}:${tier}`).join(',');
  }

  text = setEnvValues(text, updates);
  // Secrets inside: readable by you only.
  writeFileSync(envPath, text, { mode: 0o600 });
  chmodSync(envPath, 0o600);
  return { path: envPath, created, generated: Object.keys(updates), added, values: parseEnv(text) };
}

/** Folders compose mounts that hold secrets: the alertmanager-config service copies them. */
const PRIVATE_MOUNTS = ['alertmanager/generated'];

/** Folders of a build context that never reach an image (each has a .dockerignore entry). */
const NOT_BUILT = new Set([
  'node_modules',
  'dist',
  'build',
  'data',
  'coverage',
  '.venv',
  '__pycache__',
]);

/** Image build contexts in docker-compose.yml (`build: {context}` or `build: path`). */
function buildContexts(repoRoot: string): string[] {
  const doc = YAML.parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
    services?: Record<string, { build?: string | { context?: string } }>;
  };
  return Object.values(doc.services ?? {}).flatMap(({ build }) => {
    const context = typeof build === 'string' ? build : build?.context;
    return context ? [resolve(repoRoot, context)] : [];
  });
}

/**
 * Adds read (and, on folders, search) permission for everyone to every file and folder
 * docker-compose.yml bind-mounts or builds an image from, except PRIVATE_MOUNTS. Returns how
 * many it changed.
 */
export function makeMountsReadable(repoRoot: string): number {
  let changed = 0;
  const privateDirs = PRIVATE_MOUNTS.map((rel) => join(repoRoot, rel));
  const sources = [...bindMounts(repoRoot).map(([, host]) => host), ...buildContexts(repoRoot)];
  for (const host of sources) {
    if (privateDirs.some((dir) => host === dir || host.startsWith(dir + '/'))) continue;
    if (existsSync(host)) changed += makeReadable(host);
  }
  return changed;
}

/** a+r on a file, a+rX on a folder and everything in it (but NOT_BUILT); how many it changed. */
export function makeReadable(file: string): number {
  const st = lstatSync(file);
  if (st.isSymbolicLink()) return 0;
  let changed = 0;
  const wanted = (st.mode | (st.isDirectory() ? 0o555 : 0o444)) & 0o7777;
  if ((st.mode & 0o7777) !== wanted) {
    chmodSync(file, wanted);
    changed++;
  }
  if (!st.isDirectory()) return changed;
  for (const name of readdirSync(file)) {
    if (!NOT_BUILT.has(name)) changed += makeReadable(join(file, name));
  }
  return changed;
}

export interface AlertmanagerResult extends RenderedAlertmanager {
  configPath: string;
  secretsDir: string;
}

/** Writes what the renderer returns; removes secret files of receivers no longer active. */
export function writeAlertmanagerConfig(
  repoRoot: string,
  env: Record<string, string | undefined>,
  render: RenderAlertmanager = renderAlertmanagerConfig,
): AlertmanagerResult {
  const rendered = render(env, repoRoot);
  const outDir = join(repoRoot, 'alertmanager/generated');
  const secretsDir = join(outDir, 'secrets');
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  chmodSync(secretsDir, 0o700);
  const configPath = join(outDir, 'alertmanager.yml');
  writeFileSync(configPath, rendered.yaml, { mode: 0o600 });
  chmodSync(configPath, 0o600);

  const wanted = new Set<string>();
  for (const [name, content] of Object.entries(rendered.secretFiles)) {
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) {
      throw new Error(`secret file name "${name}" must be a plain file name`);
    }
    const file = join(secretsDir, name);
    writeFileSync(file, content, { mode: 0o600 });
    chmodSync(file, 0o600);
    wanted.add(name);
  }
  for (const name of readdirSync(secretsDir)) {
    if (!wanted.has(name)) rmSync(join(secretsDir, name), { force: true });
  }
  return { ...rendered, configPath, secretsDir };
}

async function main(): Promise<void> {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const rel = (p: string) => relative(process.cwd(), p) || p;

  const env = ensureEnvFile(repoRoot);
  if (env.created) console.log(`Created ${rel(env.path)} from .env.example.`);
  if (env.added.length > 0) {
    console.log(`Added to ${rel(env.path)} from .env.example: ${env.added.join(', ')}`);
  }
  for (const key of env.generated) {
    console.log(`Generated a random ${key}: it is in ${rel(env.path)}.`);
  }
  if (!env.created && env.added.length === 0 && env.generated.length === 0) {
    console.log(`${rel(env.path)} is complete; nothing changed.`);
  }

  // As in Compose, a variable set in the shell wins over .env.
  const merged: Record<string, string | undefined> = {
    ...Object.fromEntries(env.values),
    ...process.env,
  };
  const am = writeAlertmanagerConfig(repoRoot, merged, renderAlertmanagerConfig);
  console.log(`Rendered ${rel(am.configPath)} (secrets in ${rel(am.secretsDir)}, mode 0600).`);
  console.log(`  Alertmanager receivers active: ${am.active.join(', ') || '(none)'}`);
  for (const s of am.skipped) {
    console.log(
      `  skipped ${s.receiver}: ${s.missing} ${s.missing.includes(',') ? 'are' : 'is'} not set in .env`,
    );
  }
  renderTimeScale(repoRoot, am.configPath);
  const opened = makeMountsReadable(repoRoot);
  if (opened > 0)
    console.log(`Made ${opened} config files and folders readable for the containers.`);
}

/** `make configure TIME_SCALE=60`: the compose override and its configs (or their removal). */
function renderTimeScale(repoRoot: string, alertmanagerConfig: string): void {
  const scaled = renderComposeTimeScale(
    repoRoot,
    process.env.TIME_SCALE || '1',
    alertmanagerConfig,
  );
  if (!scaled) return;
  makeReadable(join(repoRoot, TIME_SCALE_DIR));
  console.log(
    `Rendered ${TIME_SCALE_OVERRIDE} and ${TIME_SCALE_DIR}/: alerting ${Math.round(1 / scaled.factor)}× ` +
      `faster (${scaled.ruleGroups} rule groups, Alertmanager timers); make up TIME_SCALE=… uses them.`,
  );
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(`make configure: ${(err as Error).message}`);
    process.exit(1);
  });
}
