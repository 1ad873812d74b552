#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install the locked requirements into it.
#   scripts/setup.sh [requirements-file] [--without-uwsgi]
# (default: requirements-dev.txt). A requirements file with a lock beside it
# (requirements-dev.txt -> requirements-dev.lock, written by scripts/lock.sh)
# installs the lock with --require-hashes: every version and file exactly as CI
# tested it. --without-uwsgi leaves out uWSGI, the only requirement built from
# source (a C compiler and Python's headers): what `flask run` needs installs
# from wheels on a machine with nothing but Python.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS="${1:-requirements-dev.txt}"
LOCK="${REQUIREMENTS%.txt}.lock"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "ERROR: Python 3.11+ is required ($PYTHON is $("$PYTHON" --version))" >&2; exit 1; }
# Debian's python3 ships venv's pip bootstrap separately (python3-venv).
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null \
  || scripts/system-packages.sh scripts/system-packages-run.txt
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
SOURCE="$REQUIREMENTS"
HASHES=()
if [ -f "$LOCK" ]; then
  SOURCE="$LOCK"
  HASHES=(--require-hashes)
fi
INSTALL="$SOURCE"
if [ "${2:-}" = --without-uwsgi ]; then
  INSTALL="$(mktemp)"
  trap 'rm -f "$INSTALL"' EXIT
  # Drop the uwsgi line and, in a lock, its indented hash and comment lines.
  awk 'tolower($0) ~ /^uwsgi==/ {skip = 1; next} skip && /^[ \t]/ {next} {skip = 0; print}' \
    "$SOURCE" >"$INSTALL"
fi
STAMP=".venv/.installed-$(cat requirements.txt "$INSTALL" | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet "${HASHES[@]}" -r "$INSTALL"
  touch "$STAMP"
fi
