#!/usr/bin/env bash
# bin-path.sh: where the pinned programs built by build-binaries.sh live.
#
# Sourced (`. scripts/tools/bin-path.sh`): sets AGENT_OBS_PINS (the pin table, pins.txt),
# AGENT_OBS_CACHE_DIR and AGENT_OBS_BIN_DIR, and defines `agent_obs_row NAME`,
# `agent_obs_version NAME`, `agent_obs_image NAME` and `agent_obs_bin [--pinned] NAME` (the
# lookups below).
#
# Executed:
#   bin-path.sh              print the bin directory
#   bin-path.sh NAME         print the binary to use for NAME (a program or one of its outputs
#                            in pins.txt: otelcol, jaeger, promtool, helm, docker-compose ...):
#                            the pinned build <dir>/NAME-<version> if it exists, else, for rows
#                            listing NAME in debian=, Debian's program on PATH (alertmanager is
#                            `prometheus-alertmanager` there); exit 1 if neither
#   bin-path.sh --pinned NAME  the pinned build only (exit 1 if not built)
#   bin-path.sh --version NAME the pinned version of NAME
#   bin-path.sh --image NAME   the image compose runs for NAME, its tag filled in (exit 1: none)
#   bin-path.sh --env        print `export NAME_BIN=...` lines for every output of the stack
#                            group that is found (eval "$(scripts/tools/bin-path.sh --env)")
#
# The cache lives outside the clone so a fresh clone (CI) reuses it:
#   ${AGENT_OBS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-observability}/bin
# Each binary is NAME-VERSION; build-binaries.sh also points a NAME symlink at the current pin,
# so the directory can be put on PATH.

export AGENT_OBS_PINS="${AGENT_OBS_PINS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pins.txt}"
export AGENT_OBS_CACHE_DIR="${AGENT_OBS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-observability}"
export AGENT_OBS_BIN_DIR="${AGENT_OBS_BIN_DIR:-$AGENT_OBS_CACHE_DIR/bin}"

# The table's rows, without comments and blank lines.
agent_obs_rows() {
  awk '!/^[[:space:]]*(#|$)/' "$AGENT_OBS_PINS"
}

# agent_obs_row NAME: the row of the program NAME, or of the program that outputs NAME.
agent_obs_row() {
  agent_obs_rows | awk -v name="$1" '{
    n = split($7, outs, ",")
    for (i = 1; i <= n; i++) sub(/\/$/, "", outs[i])
    if ($1 == name) { print; exit }
    for (i = 1; i <= n; i++) if (outs[i] == name) { print; exit }
  }' | grep .
}

# Pinned version of a program or output (the release version, as in the image tag).
agent_obs_version() {
  local row
  row=$(agent_obs_row "$1") || return 1
  awk '{ print $3 }' <<<"$row"
}

# The image of a program (repository:tag, {version} filled in), or exit 1 when it has none.
agent_obs_image() {
  local row
  row=$(agent_obs_row "$1") || return 1
  awk '$8 != "-" { image = $8; gsub(/\{version\}/, $3, image); print image; ok = 1 } END { exit !ok }' <<<"$row"
}

# agent_obs_bin [--pinned] NAME: print the binary to run for NAME.
agent_obs_bin() {
  local pinned_only=0 name row version candidate
  if [ "${1:-}" = --pinned ]; then pinned_only=1; shift; fi
  name="${1:?usage: agent_obs_bin [--pinned] NAME}"
  row=$(agent_obs_row "$name") || { echo "bin-path: '$name' is not in $AGENT_OBS_PINS" >&2; return 2; }
  version=$(awk '{ print $3 }' <<<"$row")
  if [ -x "$AGENT_OBS_BIN_DIR/$name-$version" ]; then
    echo "$AGENT_OBS_BIN_DIR/$name-$version"
    return 0
  fi
  [ "$pinned_only" = 0 ] && awk -v name="$name" '{
    for (i = 9; i <= NF; i++) if ($i ~ /^debian=/) {
      n = split(substr($i, 8), outs, ",")
      for (j = 1; j <= n; j++) if (outs[j] == name) found = 1
    }
  } END { exit !found }' <<<"$row" || return 1
  for candidate in "prometheus-$name" "$name"; do
    command -v "$candidate" 2>/dev/null && return 0
  done
  return 1
}

# Executed rather than sourced: act as a command.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    "") echo "$AGENT_OBS_BIN_DIR" ;;
    --env)
      for _n in $(agent_obs_rows | awk '$2 == "stack" { gsub(",", " ", $7); print $7 }'); do
        if _p=$(agent_obs_bin "$_n"); then
          printf 'export %s_BIN=%q\n' "$(echo "$_n" | tr '[:lower:]-' '[:upper:]_')" "$_p"
        fi
      done
      ;;
    --version) agent_obs_version "${2:?usage: bin-path.sh --version NAME}" ;;
    --image) agent_obs_image "${2:?usage: bin-path.sh --image NAME}" ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) agent_obs_bin "$@" ;;
  esac
fi
