// Reads the image-level fields of one stage of a Dockerfile, as `docker image inspect` shows
// them: USER, WORKDIR, ENTRYPOINT, CMD, ENV, EXPOSE, VOLUME, HEALTHCHECK, and its FROM. ARG
// defaults (and --build-arg values given) are substituted; JSON and shell forms are read as
// Docker reads them (the shell form becomes ["/bin/sh", "-c", "..."]).
import { readFileSync } from 'node:fs';

export interface ImageFields {
  from: string;
  user: string;
  workdir: string;
  entrypoint: string[] | null;
  cmd: string[] | null;
  env: Record<string, string>;
  expose: string[];
  volumes: string[];
  healthcheck: string[] | null;
}

/** The default of a global `ARG NAME=value` of a Dockerfile (a base image's tag, say). */
export function argDefault(file: string, name: string): string {
  const value = new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(readFileSync(file, 'utf8'))?.[1];
  if (!value) throw new Error(`${file}: no ARG ${name}=`);
  return value;
}

/** Instructions with continuation lines joined and comments dropped. */
export function instructions(text: string): { op: string; args: string }[] {
  const out: { op: string; args: string }[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!current && (line === '' || line.startsWith('#'))) continue;
    if (current && line.startsWith('#')) continue;
    current += (current ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) continue;
    const m = /^(\S+)\s*(.*)$/.exec(current);
    if (m) out.push({ op: m[1].toUpperCase(), args: m[2] });
    current = '';
  }
  return out;
}

const substitute = (s: string, vars: Map<string, string>) =>
  s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => vars.get(a ?? b) ?? '');

/** A JSON array form, or the shell form wrapped as Docker does. */
function execForm(args: string): string[] {
  if (args.startsWith('[')) return JSON.parse(args) as string[];
  return ['/bin/sh', '-c', args];
}

function parseEnv(args: string, vars: Map<string, string>, env: Record<string, string>): void {
  if (!args.includes('=')) {
    const [k, ...v] = args.split(/\s+/);
    env[k] = substitute(v.join(' '), vars);
    return;
  }
  for (const m of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    env[m[1]] = substitute(m[2].replace(/^"(.*)"$/, '$1'), vars);
  }
}

export function emptyFields(from: string): ImageFields {
  return {
    from,
    user: '',
    workdir: '',
    entrypoint: null,
    cmd: null,
    env: {},
    expose: [],
    volumes: [],
    healthcheck: null,
  };
}

/** Applies one instruction of the stage to its fields. */
function apply(f: ImageFields, op: string, args: string, vars: Map<string, string>): void {
  const value = substitute(args, vars);
  if (op === 'USER') f.user = value;
  else if (op === 'WORKDIR')
    f.workdir = value.startsWith('/') ? value : `${f.workdir || ''}/${value}`;
  else if (op === 'ENTRYPOINT') {
    f.entrypoint = execForm(value);
    f.cmd = null; // a new ENTRYPOINT resets an inherited CMD
  } else if (op === 'CMD') f.cmd = execForm(value);
  else if (op === 'ENV') parseEnv(args, vars, f.env);
  else if (op === 'EXPOSE')
    f.expose.push(...value.split(/\s+/).map((p) => (p.includes('/') ? p : `${p}/tcp`)));
  else if (op === 'VOLUME')
    f.volumes.push(
      ...(value.startsWith('[') ? (JSON.parse(value) as string[]) : value.split(/\s+/)),
    );
  else if (op === 'HEALTHCHECK') {
    const cmd = /\bCMD\s+(.*)$/.exec(value)?.[1];
    f.healthcheck = value.trim() === 'NONE' ? ['NONE'] : cmd ? ['CMD', ...execForm(cmd)] : null;
    if (cmd && !cmd.startsWith('[')) f.healthcheck = ['CMD-SHELL', cmd];
  }
}

/**
 * The fields of a stage: `stage` names it (FROM … AS name); default the last one. `buildArgs`
 * are --build-arg values (they override ARG defaults).
 */
export function stageFields(
  text: string,
  stage?: string,
  buildArgs: Record<string, string> = {},
): ImageFields {
  const globals = new Map<string, string>();
  let fields: ImageFields | undefined;
  let vars = globals;
  let chosen: ImageFields | undefined;
  for (const { op, args } of instructions(text)) {
    if (op === 'ARG') {
      const [name, raw] = args.split('=');
      const def = raw?.replace(/^"(.*)"$/, '$1');
      vars.set(
        name,
        buildArgs[name] ??
          (def !== undefined ? substitute(def, vars) : (vars.get(name) ?? globals.get(name) ?? '')),
      );
      continue;
    }
    if (op === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(args);
      fields = emptyFields(substitute(m?.[1] ?? '', globals));
      vars = new Map(globals);
      if (stage === undefined || m?.[2] === stage) chosen = fields;
      continue;
    }
    if (fields) apply(fields, op, args, vars);
  }
  if (!chosen) throw new Error(`no stage ${stage ?? ''} in the Dockerfile`);
  return chosen;
}
