#!/usr/bin/env bash
# What every Docker target of the Makefile needs on the host: Docker with its Compose v2 plugin,
# used as yourself. Prints one line naming what is missing and how to get it, exits 1; silent
# and 0 when all is there. (No Node here: this runs before anything else on a fresh clone.)
set -uo pipefail

compose=${COMPOSE:-docker compose}
fail() {
  echo "$*" >&2
  exit 1
}

# Under sudo every file make writes in the clone (.env, rendered configs) would belong to root.
if [ "$(id -u)" = 0 ] && [ -n "${SUDO_USER:-}" ] && [ "${SUDO_USER}" != root ]; then
  fail "Run make as yourself, not with sudo (it would leave root-owned files in the clone): add yourself to the docker group (sudo usermod -aG docker ${SUDO_USER}, then log in again)"
fi

command -v docker >/dev/null 2>&1 ||
  fail "Docker is needed: there is no docker command. Install Docker Engine with the Compose plugin, or Docker Desktop: https://docs.docker.com/get-docker/"

if ! err=$(docker info --format '{{.ServerVersion}}' 2>&1 >/dev/null); then
  case $err in
    *"permission denied"*)
      fail "Docker is needed, and you may not use its engine (permission denied on its socket): add yourself to the docker group (sudo usermod -aG docker \$USER, then log in again)" ;;
    *)
      fail "Docker is needed, and its engine is not running or not reachable (docker info failed): start Docker (sudo systemctl start docker, or open Docker Desktop)" ;;
  esac
fi

$compose version >/dev/null 2>&1 ||
  fail "Docker Compose v2 is needed: '$compose version' failed. Install the Compose plugin (package docker-compose-plugin): https://docs.docker.com/compose/install/"

# The oldest versions `make up` works with: Compose 2.17 brought `up --wait-timeout` (5.x is
# newer still); Engine 20.10 is the oldest the stack was run on (docs/docker.md). A version
# that cannot be read is let through: the commands themselves then say what is wrong.
older_than() { # older_than VERSION MAJOR MINOR: true when VERSION (v?X.Y…) is below MAJOR.MINOR
  [[ $1 =~ ^v?([0-9]+)\.([0-9]+) ]] || return 1
  local major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
  ((major < $2 || (major == $2 && minor < $3)))
}
compose_version=$($compose version --short 2>/dev/null || true)
if older_than "$compose_version" 2 17; then
  fail "Docker Compose 2.17 or newer is needed (make up waits with --wait-timeout); this is $compose_version: update the Compose plugin: https://docs.docker.com/compose/install/"
fi
engine_version=$(docker version --format '{{.Server.Version}}' 2>/dev/null || true)
if older_than "$engine_version" 20 10; then
  fail "Docker Engine 20.10 or newer is needed; this is $engine_version: update Docker: https://docs.docker.com/engine/install/"
fi
exit 0
