// What the python:* stand-in is: the tag examples/python-agent/Dockerfile builds on (its ARG
// PYTHON_IMAGE, a digest dropped), holding Debian bookworm's python3.11 instead of python.org's
// release of that tag (docs/docker.md, the stand-ins table).
import path from 'node:path';
import { REPO } from '../../lib/repo.ts';
import { argDefault } from './dockerfile.ts';

/**
 * The Python of Debian bookworm's python3.11 package: 3.11.2 for the release's whole life
 * (Debian stable takes fixes as patches, 3.11.2-6+deb12uN, never a newer upstream version).
 * The stand-in's build fails when the package holds another.
 */
export const DEBIAN_PYTHON = '3.11.2';

/** The python image tag the Python example service's Dockerfile names, without a digest. */
export function pythonTag(): string {
  const image = argDefault(path.join(REPO, 'examples/python-agent/Dockerfile'), 'PYTHON_IMAGE');
  return image.replace(/@sha256:.*$/, '');
}

/** The Python version of that tag (python:3.11.15-slim-bookworm → 3.11.15). */
export function pythonTagVersion(): string {
  const version = /^python:(\d+\.\d+\.\d+)-/.exec(pythonTag())?.[1];
  if (!version) throw new Error(`${pythonTag()}: not python:X.Y.Z-<variant>`);
  return version;
}
