#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install the locked requirements into it.
#   scripts/setup.sh [requirements-file]   (default: requirements-dev.txt)
# A requirements file with a lock beside it (requirements-dev.txt ->
# requirements-dev.lock, written by scripts/lock.sh) installs the lock with
# --require-hashes: every version and file exactly as CI tested it.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS="${1:-requirements-dev.txt}"
LOCK="${REQUIREMENTS%.txt}.lock"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "ERROR: Python 3.11+ is required ($PYTHON is $("$PYTHON" --version))" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if [ -f "$LOCK" ]; then
  INSTALL=(--require-hashes -r "$LOCK")
else
  INSTALL=(-r "$REQUIREMENTS")
fi
STAMP=".venv/.installed-$(cat requirements.txt "${INSTALL[@]: -1}" | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet "${INSTALL[@]}"
  touch "$STAMP"
fi
