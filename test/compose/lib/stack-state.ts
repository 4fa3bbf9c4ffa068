// What the engine says about the compose stack: its containers' states and health, the volumes
// of the project, the mounts of a container; and the published ports the test moved to free
// ones through .env (the keys docker-compose.yml publishes with, "127.0.0.1:${KEY:-default}").
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePorts } from '../../../scripts/lib/ports.ts';
import { docker } from './engine.ts';
import { REPO_ROOT } from '../../../scripts/lib/repo.ts';

export const PROJECT = 'agent-observability';
const PROJECT_LABEL = `label=com.docker.compose.project=${PROJECT}`;

export interface ContainerState {
  service: string;
  name: string;
  /** The image the container was created from, as compose named it. */
  image: string;
  state: string;
  health: string;
  exitCode: number;
  startedAt: string;
}

export function containers(): ContainerState[] {
  const ids = docker(['ps', '--all', '--quiet', '--filter', PROJECT_LABEL])
    .split('\n')
    .filter(Boolean);
  if (!ids.length) return [];
  const all = JSON.parse(docker(['inspect', ...ids])) as {
    Name: string;
    Config: { Labels: Record<string, string>; Image: string };
    State: { Status: string; ExitCode: number; StartedAt: string; Health?: { Status: string } };
  }[];
  return all.map((c) => ({
    service: c.Config.Labels['com.docker.compose.service'],
    name: c.Name.replace(/^\//, ''),
    image: c.Config.Image,
    state: c.State.Status,
    health: c.State.Health?.Status ?? '',
    exitCode: c.State.ExitCode,
    startedAt: c.State.StartedAt,
  }));
}

/** Services not up: a one-shot that did not exit 0, or a service not running healthy. */
export function notUp(states: ContainerState[], oneShots: string[]): string[] {
  return states
    .filter((c) =>
      oneShots.includes(c.service)
        ? !(c.state === 'exited' && c.exitCode === 0)
        : !(c.state === 'running' && (c.health === '' || c.health === 'healthy')),
    )
    .map((c) => `${c.service}: ${c.state}${c.health ? `, ${c.health}` : ''} (exit ${c.exitCode})`);
}

export function projectVolumes(): string[] {
  return docker(['volume', 'ls', '--quiet', '--filter', PROJECT_LABEL]).split('\n').filter(Boolean);
}

/** HostConfig.Binds of a service's container (the short-syntax binds, with their modes). */
export function binds(service: string): string[] {
  const name = containers().find((c) => c.service === service)?.name;
  if (!name) throw new Error(`no container of ${service}`);
  const [c] = JSON.parse(docker(['inspect', name])) as { HostConfig: { Binds: string[] | null } }[];
  return c.HostConfig.Binds ?? [];
}

/** The .env keys of the published ports, with free ports for each. */
export async function freePortEnv(): Promise<Record<string, number>> {
  const compose = readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
  const keys = [
    ...new Set([...compose.matchAll(/127\.0\.0\.1:\$\{([A-Z_]+):-\d+\}/g)].map((m) => m[1])),
  ];
  const ports = await freePorts(keys.length);
  return Object.fromEntries(keys.map((k, i) => [k, ports[i]]));
}
