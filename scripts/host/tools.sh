#!/usr/bin/env bash
# Runs one of the repo's Node scripts in the tools image (tools.Dockerfile), for a host with
# Docker alone: `make configure`, `open`, `alerts`, `load`, `alert-*` (TOOLS_RUN in the Makefile).
#
#   scripts/host/tools.sh offline scripts/configure.ts      no network at all
#   scripts/host/tools.sh stack scripts/load.ts steady      on the compose stack's network
#
# - The clone is mounted at /work/repo (`z`: relabelled on SELinux hosts). Files the script writes
#   there are yours: it runs as your uid, or as root under rootless Docker, whose root is you.
# - On the stack's network the scripts reach the services by name (STACK_HOSTS=compose, read by
#   scripts/lib/endpoints.ts). No Docker socket: steps that drive Docker run on the host.
# - The variables named in TOOLS_ENV_VARS (and TOOLS_ENV, space-separated) are passed on when set.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-}
case $mode in
  offline) network=none ;;
  stack) network=${STACK_NETWORK:-agent-observability_default} ;;
  *)
    echo "usage: $0 offline|stack <script.ts> [arguments]" >&2
    exit 2
    ;;
esac
shift

bash "$repo/scripts/host/need-docker.sh"

dockerfile=scripts/host/tools.Dockerfile
# NODE_IMAGE, when set, replaces the Dockerfile's base, as for the app image (docs/docker.md).
sum=$( (cd "$repo" && cat package-lock.json "$dockerfile" && echo "${NODE_IMAGE:-}") | cksum | cut -d' ' -f1)
image=${TOOLS_IMAGE:-agent-observability/tools:$sum}
if ! docker image inspect "$image" >/dev/null 2>&1; then
  echo "Building the tools image $image (Node 24 and the scripts' packages; once)…" >&2
  docker build --quiet ${NODE_IMAGE:+--build-arg "NODE_IMAGE=$NODE_IMAGE"} --tag "$image" \
    --file "$repo/$dockerfile" "$repo" >/dev/null
fi

if [ "$network" != none ] && ! docker network inspect "$network" >/dev/null 2>&1; then
  echo "The stack is not running (no Docker network $network): start it with make up." >&2
  exit 1
fi

if docker info --format '{{join .SecurityOptions " "}}' 2>/dev/null | grep -q rootless; then
  user=0:0
else
  user="$(id -u):$(id -g)"
fi

# Every URL variable of scripts/lib/components.ts (test/config/components.test.ts checks it).
TOOLS_ENV_VARS="DURATION RATE TIME_SCALE APP_URL APP_MANAGEMENT_URL PYTHON_AGENT_URL PROMETHEUS_URL
  ALERTMANAGER_URL RECEIVER_URL JAEGER_URL VICTORIALOGS_URL OTLP_HTTP_URL OTLP_GRPC_URL GRAFANA_URL
  ADMIN_TOKEN LOAD_FREE_KEY LOAD_PRO_KEY APP_CONTROL_DIR NO_COLOR"
env_args=(--env HOME=/tmp --env STACK_HOSTS=compose)
for name in $TOOLS_ENV_VARS ${TOOLS_ENV:-}; do
  if [ -n "${!name+set}" ]; then env_args+=(--env "$name"); fi
done
tty_args=()
if [ -t 0 ] && [ -t 1 ]; then tty_args=(--tty --interactive); fi

exec docker run --rm --init ${tty_args[@]+"${tty_args[@]}"} \
  --user "$user" --network "$network" \
  --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges:true \
  --volume "$repo:/work/repo:z" --workdir /work/repo \
  "${env_args[@]}" \
  "$image" node --disable-warning=ExperimentalWarning "$@"
