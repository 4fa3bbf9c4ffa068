#!/usr/bin/env bash
# `make alert-service-down` with the tools container: the scenario stops and starts the app,
# and the container gets no Docker socket. This runs the given command (the scenario) with
# APP_CONTROL_DIR set and meanwhile, on the host, answers each request-<id> file the scenario
# writes there (scripts/lib/scenarios/app-control.ts, fileControl) by running
# `docker compose stop|start app`, then writing done-<id>: "ok" or the error.
set -euo pipefail
cd "$(dirname "$0")/../.."

compose=${COMPOSE:-docker compose}
dir=.compose/app-control
rm -rf "$dir"
mkdir -p "$dir"

answer() {
  local request=$1 id verb out
  id=${request##*/request-}
  verb=$(cat "$request")
  rm -f "$request"
  case $verb in
    stop | start)
      if out=$($compose "$verb" app 2>&1); then out=ok; fi ;;
    *) out="unknown request \"$verb\"" ;;
  esac
  echo "$out" >"$dir/.done-$id"
  mv "$dir/.done-$id" "$dir/done-$id"
}

watch() {
  while :; do
    for request in "$dir"/request-*; do
      if [ -e "$request" ]; then answer "$request"; fi
    done
    sleep 0.2
  done
}

watch &
watcher=$!
trap 'kill "$watcher" 2>/dev/null; rm -rf "$dir"' EXIT
APP_CONTROL_DIR=$dir "$@"
