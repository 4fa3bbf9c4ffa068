#!/usr/bin/env bash
# Before `docker compose up`: is every host port the stack publishes free? Compose would
# otherwise start half the stack and stop at the first taken port. The ports and their .env keys
# come from docker-compose.yml itself ("127.0.0.1:${KEY:-default}:port"); a value comes from
# the environment, else .env, else that default, as Compose reads it. One line per taken port,
# naming the key to change, and exit 1. Nothing is checked while the stack runs (it holds its
# own ports then).
set -euo pipefail
cd "$(dirname "$0")/../.."

compose=${COMPOSE:-docker compose}
if [ -n "$($compose ps --quiet 2>/dev/null || true)" ]; then exit 0; fi

env_value() {
  [ -f .env ] || return 0
  sed -n -E "s/^[[:space:]]*(export[[:space:]]+)?$1[[:space:]]*=[[:space:]]*//p" .env | tail -n 1 |
    sed -E -e 's/[[:space:]]+#.*$//' -e "s/^['\"]//" -e "s/['\"][[:space:]]*$//"
}

taken=0
while IFS=' ' read -r key default; do
  port=${!key:-$(env_value "$key")}
  port=${port:-$default}
  if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
    echo "$key=$port in .env is not a port number (1-65535)." >&2
    taken=1
  elif (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "Port $port on 127.0.0.1 is already in use: set $key in .env to a free port, or stop what uses it." >&2
    taken=1
  fi
done < <(grep -oE '127\.0\.0\.1:\$\{[A-Z_]+:-[0-9]+\}' docker-compose.yml |
  sed -E 's/^127\.0\.0\.1:\$\{([A-Z_]+):-([0-9]+)\}$/\1 \2/' | sort -u)
exit "$taken"
