#!/usr/bin/env bash
# Set up, lint, and run the whole suite on SQLite, then on a throwaway PostgreSQL.
#   scripts/test.sh [pytest args]
# The PostgreSQL half uses TEST_POSTGRES_URL when set (e.g. a CI service), else a
# throwaway server (scripts/pg-throwaway.sh). SKIP_POSTGRES=1 runs the SQLite half
# only, and says so loudly; CI never sets it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements-dev.txt
export PATH="$PWD/.venv/bin:$PATH"

echo "== lint: black, flake8"
black --check --quiet .
flake8

mkdir -p test-output
echo "== tests on SQLite"
start=$(date +%s)
env -u TEST_DATABASE_URL pytest -q -p no:cacheprovider "$@"
echo "SQLite run took $(( $(date +%s) - start ))s"

if [ "${SKIP_POSTGRES:-0}" = 1 ]; then
  echo "!! SKIPPED: the PostgreSQL half (SKIP_POSTGRES=1). This is not a full run." >&2
  exit 0
fi
echo "== tests on PostgreSQL"
start=$(date +%s)
if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  TEST_DATABASE_URL="$TEST_POSTGRES_URL" pytest -q -p no:cacheprovider "$@"
else
  scripts/pg-throwaway.sh pytest -q -p no:cacheprovider "$@"
fi
echo "PostgreSQL run took $(( $(date +%s) - start ))s"
