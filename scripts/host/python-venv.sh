#!/usr/bin/env bash
# The Python example service's virtual environment: examples/python-agent/.venv (git-ignored),
# created with the Python version its .python-version names and filled from its lock file with
# `pip install --require-hashes` (every package pinned, every file's sha256 checked). Run by
# `make install` and CI; a second run with the same lock file does nothing. Exit status 3: that
# Python is not here (make install goes on without the example; everything else fails).
#
#   PYTHON=python3.11 bash scripts/host/python-venv.sh
set -euo pipefail
cd "$(dirname "$0")/../../examples/python-agent"

want="$(tr -d '[:space:]' < .python-version)"
python="${PYTHON:-python$want}"
if ! command -v "$python" >/dev/null; then
  echo "python-venv: $python not found: the Python example needs Python $want (set PYTHON=/path/to/python$want)" >&2
  exit 3
fi
if ! have="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)"; then
  echo "python-venv: $python does not run: the Python example needs Python $want (set PYTHON=...)" >&2
  exit 3
fi
if [[ "$have" != "$want" ]]; then
  echo "python-venv: $python is Python $have; the lock file is resolved for $want (.python-version)" >&2
  exit 3
fi

# Rebuilt when the lock file or the interpreter changed, not otherwise.
stamp="$(sha256sum requirements.lock | cut -d' ' -f1) $("$python" -c 'import sys; print(sys.version)' | head -1)"
if [[ -f .venv/installed && "$(cat .venv/installed)" == "$stamp" ]]; then
  echo "python-venv: examples/python-agent/.venv is up to date"
  exit 0
fi
rm -rf .venv
"$python" -m venv .venv
# --no-deps: the lock file lists every package; --only-binary: wheels only, nothing is built.
.venv/bin/pip install --quiet --disable-pip-version-check --no-input \
  --require-hashes --no-deps --only-binary=:all: -r requirements.lock
printf '%s\n' "$stamp" > .venv/installed
echo "python-venv: installed $(grep -c '^[a-z]' requirements.lock) packages into examples/python-agent/.venv"
