#!/usr/bin/env bash
# engine.sh: a Docker Engine of the tests' own, beside (never instead of) one you may have.
# `make test-compose` runs the compose stack on it (docs/docker.md, "Proven on an engine").
#
#   engine.sh install   apt-get install Debian's docker.io (dockerd 20.10, containerd, runc, and a
#                       20.10 client at /usr/bin/docker), keeping its services from starting, and
#                       debootstrap and busybox-static, which the stand-in images are built from.
#                       Only when asked: .ci/run installs the same itself; nothing else installs.
#   engine.sh start     start dockerd as root on paths of its own (below); waits until it answers
#   engine.sh stop      stop it (its containers stop with it); the data root stays, as a cache
#   engine.sh env       print the `export` lines that point a docker client at it
#   engine.sh status    say whether it runs (exit 0) or not (exit 1)
#
# Its own paths, so that it shares nothing with a system engine (/var/lib/docker,
# /var/run/docker.sock, /var/run/docker, /var/run/docker.pid):
#   --data-root     $AGENT_OBS_CACHE_DIR/engine/data: images and build cache survive between runs
#                   (the stand-in images, the app and tools images), outside the clone
#   --exec-root, --pidfile, -H unix://…   under $ENGINE_RUN_DIR (default /run/agent-observability)
#   --default-address-pool $ENGINE_ADDRESS_POOL (default 10.213.0.0/16 in /24 networks)
# and the socket's group is `docker`, so a non-root member of that group can use it. It refuses
# to start while another dockerd runs: two engines would fight over the docker0 bridge and the
# DOCKER iptables chains. Its log: $AGENT_OBS_CACHE_DIR/logs/dockerd.log.
#
# `env` also names a DOCKER_CONFIG folder holding the pinned Compose plugin (cli-plugins/),
# copied where a non-root user can run it. The Compose binary comes from the pin table
# (bin-path.sh docker-compose, built by build-binaries.sh); DOCKER_COMPOSE_BIN overrides it.
set -euo pipefail

TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bin-path.sh
. "$TOOLS_DIR/bin-path.sh" # AGENT_OBS_CACHE_DIR

RUN_DIR=${ENGINE_RUN_DIR:-/run/agent-observability}
DATA_ROOT=${ENGINE_DATA_ROOT:-$AGENT_OBS_CACHE_DIR/engine/data}
SOCKET=$RUN_DIR/docker.sock
PIDFILE=$RUN_DIR/dockerd.pid
CONFIG_DIR=$RUN_DIR/docker-config
POOL=${ENGINE_ADDRESS_POOL:-base=10.213.0.0/16,size=24}
LOG=$AGENT_OBS_CACHE_DIR/logs/dockerd.log

say() { echo "engine: $*" >&2; }
die() {
  say "$*"
  exit 1
}

need_root() {
  [ "$(id -u)" = 0 ] || die "$1 needs root (it runs dockerd, as Docker does): sudo $0 $1"
}

install_engine() {
  need_root install
  if command -v dockerd >/dev/null && [ -x /usr/bin/docker ] && command -v debootstrap >/dev/null &&
    [ -x /bin/busybox ]; then
    say "installed already: $(dockerd --version), debootstrap, busybox-static"
    return
  fi
  # As .ci/run: the package would start its daemons; this engine starts its own.
  local own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io debootstrap busybox-static >/dev/null
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  say "installed $(dockerd --version)"
}

our_pid() { # the pid of this engine's dockerd, if it runs
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Another root dockerd (a system engine, or one started by hand) holds docker0, the DOCKER iptables
# chains and, usually, /var/run/docker.sock: refuse rather than share them. A rootless one lives in
# namespaces of its own and is no obstacle.
refuse_other_engine() {
  local mine pid
  mine=$(our_pid || true)
  for pid in $(pgrep -x -u root dockerd || true); do
    [ "$pid" = "$mine" ] && continue
    die "another dockerd runs (pid $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)); it holds docker0 and the DOCKER iptables chains. Stop it, or run the tests against nothing else."
  done
}

answers() { DOCKER_HOST=unix://$SOCKET docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# The pinned Compose plugin, copied out of the (root-only) cache for the tests' non-root user.
install_compose_plugin() {
  local bin=${DOCKER_COMPOSE_BIN:-}
  if [ -z "$bin" ]; then bin=$(bash "$TOOLS_DIR/bin-path.sh" --pinned docker-compose 2>/dev/null) || true; fi
  if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    die "the pinned Docker Compose is not built: bash scripts/tools/build-binaries.sh docker-compose"
  fi
  mkdir -p "$CONFIG_DIR/cli-plugins"
  install -m 0755 "$bin" "$CONFIG_DIR/cli-plugins/docker-compose"
  chmod 0755 "$CONFIG_DIR" "$CONFIG_DIR/cli-plugins"
}

start_engine() {
  need_root start
  command -v dockerd >/dev/null || die "no dockerd here: install Debian's docker.io with sudo $0 install"
  refuse_other_engine
  mkdir -p "$RUN_DIR" "$DATA_ROOT" "$(dirname "$LOG")"
  chmod 0755 "$RUN_DIR"
  install_compose_plugin
  if our_pid >/dev/null && answers; then
    say "already running (pid $(our_pid), $SOCKET)"
    return
  fi
  getent group docker >/dev/null || groupadd --system docker
  local t0=$SECONDS
  # setsid: the engine outlives this script and the make that ran it, until `engine.sh stop`.
  setsid dockerd --data-root "$DATA_ROOT" --exec-root "$RUN_DIR/exec" --pidfile "$PIDFILE" \
    -H "unix://$SOCKET" --group docker --storage-driver overlay2 \
    --default-address-pool "$POOL" >>"$LOG" 2>&1 </dev/null &
  local pid=$!
  until answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$LOG" >&2
      die "dockerd exited at start (log above: $LOG)"
    fi
    if ((SECONDS - t0 > 60)); then
      tail -n 20 "$LOG" >&2
      die "dockerd did not answer on $SOCKET within 60 s (log above: $LOG)"
    fi
    sleep 0.5
  done
  say "dockerd $(DOCKER_HOST=unix://$SOCKET docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})') runs on $SOCKET in $((SECONDS - t0)) s"
}

stop_engine() {
  local pid t0=$SECONDS
  pid=$(our_pid) || {
    say "not running"
    return
  }
  need_root stop
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS - t0 > 60)); then die "dockerd (pid $pid) did not stop within 60 s"; fi
    sleep 0.5
  done
  rm -f "$SOCKET"
  say "stopped in $((SECONDS - t0)) s"
}

case ${1:-} in
  install) install_engine ;;
  start) start_engine ;;
  stop) stop_engine ;;
  env)
    echo "export DOCKER_HOST=unix://$SOCKET"
    echo "export DOCKER_CONFIG=$CONFIG_DIR"
    ;;
  status)
    if our_pid >/dev/null && answers; then
      echo "running: pid $(our_pid), $SOCKET, data root $DATA_ROOT"
    else
      echo "not running"
      exit 1
    fi
    ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
