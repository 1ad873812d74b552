#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install the pinned requirements into it.
#   scripts/setup.sh [requirements-file]   (default: requirements-dev.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS="${1:-requirements-dev.txt}"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "ERROR: Python 3.11+ is required ($PYTHON is $("$PYTHON" --version))" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
STAMP=".venv/.installed-$(cat requirements.txt "$REQUIREMENTS" | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$REQUIREMENTS"
  touch "$STAMP"
fi
