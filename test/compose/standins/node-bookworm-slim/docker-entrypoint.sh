#!/bin/sh
# As the node images' entrypoint: `docker run IMAGE -e 'code'` or `IMAGE script.js` runs node;
# a command found on PATH runs as it is.
set -e
if [ "${1#-}" != "$1" ] || ! command -v "$1" >/dev/null 2>&1 || { [ -f "$1" ] && [ ! -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
