#!/usr/bin/env bash
# bin-path.sh: where the pinned native binaries built by build-binaries.sh live.
#
# Sourced (`. scripts/tools/bin-path.sh`): exports the pinned versions from
# versions.env, AGENT_OBS_CACHE_DIR and AGENT_OBS_BIN_DIR, and defines
# `agent_obs_bin NAME` (same lookup as the executable form below).
#
# Executed:
#   bin-path.sh              print the bin directory
#   bin-path.sh NAME         print the binary to use for NAME (otelcol, jaeger,
#                            prometheus, promtool, alertmanager, amtool): the
#                            pinned build <dir>/NAME-<version> if it exists, else
#                            the Debian program on PATH (alertmanager is
#                            `prometheus-alertmanager` there; none for prometheus,
#                            whose 2.42 cannot load prometheus.yml); exit 1 if neither
#   bin-path.sh --pinned NAME  the pinned build only (exit 1 if not built)
#   bin-path.sh --env        print `export NAME_BIN=...` lines for every program
#                            found (eval "$(scripts/tools/bin-path.sh --env)")
#
# The cache lives outside the clone so a fresh clone (CI) reuses it:
#   ${AGENT_OBS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-observability}/bin
# Each binary is NAME-VERSION; build-binaries.sh also points a NAME symlink at
# the current pin, so the directory can be put on PATH.

_agent_obs_tools_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$_agent_obs_tools_dir/versions.env"
export OTELCOL_VERSION PROMETHEUS_VERSION ALERTMANAGER_VERSION JAEGER_VERSION
export ACTIONLINT_VERSION COMPOSE_GO_VERSION

export AGENT_OBS_CACHE_DIR="${AGENT_OBS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-observability}"
export AGENT_OBS_BIN_DIR="${AGENT_OBS_BIN_DIR:-$AGENT_OBS_CACHE_DIR/bin}"

# Pinned version of a program (the release version, as in the image tag).
agent_obs_version() {
  case "$1" in
    otelcol) echo "$OTELCOL_VERSION" ;;
    jaeger) echo "$JAEGER_VERSION" ;;
    prometheus | promtool) echo "$PROMETHEUS_VERSION" ;;
    alertmanager | amtool) echo "$ALERTMANAGER_VERSION" ;;
    actionlint) echo "$ACTIONLINT_VERSION" ;;
    compose-check) echo "$COMPOSE_GO_VERSION" ;;
    helm) echo "$HELM_VERSION" ;; # helm, etcd, kube-*: Kubernetes validation (issue 19)
    etcd) echo "$ETCD_VERSION" ;;
    kube-apiserver | kubectl) echo "$KUBERNETES_VERSION" ;;
    victoria-logs) echo "$VICTORIALOGS_VERSION" ;; # the log store (issue 18)
    *) return 1 ;;
  esac
}

# agent_obs_bin [--pinned] NAME: print the binary to run for NAME.
agent_obs_bin() {
  local pinned_only=0 name version debian
  if [ "${1:-}" = --pinned ]; then pinned_only=1; shift; fi
  name="${1:?usage: agent_obs_bin [--pinned] NAME}"
  version=$(agent_obs_version "$name") || { echo "bin-path: unknown program '$name'" >&2; return 2; }
  if [ -x "$AGENT_OBS_BIN_DIR/$name-$version" ]; then
    echo "$AGENT_OBS_BIN_DIR/$name-$version"
    return 0
  fi
  [ "$pinned_only" = 1 ] && return 1
  case "$name" in
    alertmanager) debian=prometheus-alertmanager ;;
    promtool | amtool) debian=$name ;;
    # otelcol and jaeger have no Debian package; Debian's prometheus (2.42) lacks the OTLP receiver.
    *) return 1 ;;
  esac
  command -v "$debian" 2>/dev/null || command -v "$name" 2>/dev/null || return 1
}

# Executed rather than sourced: act as a command.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    "") echo "$AGENT_OBS_BIN_DIR" ;;
    --env)
      for _n in otelcol jaeger prometheus promtool alertmanager amtool; do
        if _p=$(agent_obs_bin "$_n"); then
          printf 'export %s_BIN=%q\n' "$(echo "$_n" | tr '[:lower:]' '[:upper:]')" "$_p"
        fi
      done
      ;;
    -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) agent_obs_bin "$@" ;;
  esac
fi
