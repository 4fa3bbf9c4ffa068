#!/usr/bin/env bash
# After a failed `docker compose up --wait`: the state of every container, then the last log
# lines of each service that is not up (exited with an error, restarting, unhealthy, or still
# starting when the timeout hit); then it stops the stack, so that nothing runs half-started.
# Arguments: the compose options used (e.g. -f files).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

compose=${COMPOSE:-docker compose}
echo >&2
echo "The stack did not come up. Its containers:" >&2
$compose "$@" ps --all >&2
# `|`-separated: an empty Health must stay an empty field.
$compose "$@" ps --all --format '{{.Service}}|{{.State}}|{{.Health}}|{{.ExitCode}}' 2>/dev/null |
  while IFS='|' read -r service state health code; do
    # A one-shot service that finished, or a running service that is healthy or has no check.
    if [ "$state" = exited ] && [ "$code" = 0 ] && [ -z "$health" ]; then continue; fi
    if [ "$state" = running ] && { [ -z "$health" ] || [ "$health" = healthy ]; }; then continue; fi
    echo >&2
    echo "--- $service ($state${health:+, $health}${code:+, exit code $code}): last log lines" >&2
    $compose "$@" logs --no-color --tail 40 "$service" >&2
  done
# Nothing stays half-started; the stopped containers keep their logs.
$compose "$@" stop >/dev/null 2>&1
echo >&2
echo "Stopped the stack (its logs stay: make logs SERVICE=<name>). Fix the cause, then make up again." >&2
