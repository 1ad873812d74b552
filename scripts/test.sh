#!/usr/bin/env bash
# Set up, lint, and run the whole suite on SQLite, then on a throwaway PostgreSQL.
#   scripts/test.sh [pytest args]
# The PostgreSQL half uses TEST_POSTGRES_URL when set (e.g. a CI service), else a
# throwaway server (scripts/pg-throwaway.sh). SKIP_POSTGRES=1 runs the SQLite half
# only, and says so loudly; CI never sets it.
# System packages (scripts/system-packages.txt) are installed first when missing:
# with apt-get as root, else the script names them and the command, and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-packages.sh
scripts/setup.sh requirements-dev.txt
export PATH="$PWD/.venv/bin:$PATH"

echo "== lint: black, flake8"
black --check --quiet .
flake8

mkdir -p test-output
# Both halves always run; the command fails if either did.
status=0
echo "== tests on SQLite"
start=$(date +%s)
env -u TEST_DATABASE_URL pytest -q -p no:cacheprovider "$@" || status=1
echo "SQLite run took $(( $(date +%s) - start ))s"

if [ "${SKIP_POSTGRES:-0}" = 1 ]; then
  echo "!! SKIPPED: the PostgreSQL half (SKIP_POSTGRES=1). This is not a full run." >&2
  exit "$status"
fi
echo "== tests on PostgreSQL"
start=$(date +%s)
if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  TEST_DATABASE_URL="$TEST_POSTGRES_URL" pytest -q -p no:cacheprovider "$@" || status=1
else
  scripts/pg-throwaway.sh pytest -q -p no:cacheprovider "$@" || status=1
fi
echo "PostgreSQL run took $(( $(date +%s) - start ))s"
exit "$status"
