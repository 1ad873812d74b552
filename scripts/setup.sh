#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install the pinned requirements into it.
#   scripts/setup.sh [requirements-file] [--without-uwsgi]
# (default: requirements-dev.txt). --without-uwsgi leaves out uWSGI, the only
# requirement built from source (a C compiler and Python's headers): what
# `flask run` needs installs from wheels on a machine with nothing but Python.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS="${1:-requirements-dev.txt}"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "ERROR: Python 3.11+ is required ($PYTHON is $("$PYTHON" --version))" >&2; exit 1; }
# Debian's python3 ships venv's pip bootstrap separately (python3-venv).
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null \
  || scripts/system-packages.sh scripts/system-packages-run.txt
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
INSTALL="$REQUIREMENTS"
if [ "${2:-}" = --without-uwsgi ]; then
  INSTALL="$(mktemp)"
  trap 'rm -f "$INSTALL"' EXIT
  grep -v -i '^uwsgi==' "$REQUIREMENTS" >"$INSTALL"
fi
STAMP=".venv/.installed-$(cat requirements.txt "$INSTALL" | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$INSTALL"
  touch "$STAMP"
fi
