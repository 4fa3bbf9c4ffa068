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
exit 0
