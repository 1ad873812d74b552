#!/usr/bin/env bash
# Opt-in long contract fuzzing: the schemathesis suite with a large example budget
# and a fresh seed, on SQLite and then on a throwaway PostgreSQL.
#   scripts/fuzz.sh                      (500 examples per operation, random seed)
#   FUZZ_MAX_EXAMPLES=2000 FUZZ_SEED=42 scripts/fuzz.sh
#   SKIP_POSTGRES=1 scripts/fuzz.sh      (SQLite only)
# Reports: test-output/schemathesis-<tag>.{log,json}; a failure prints the seed
# and a curl command to reproduce it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements-dev.txt
export PATH="$PWD/.venv/bin:$PATH"
export FUZZ_MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-500}"
export FUZZ_SEED="${FUZZ_SEED:-$RANDOM$RANDOM}"
mkdir -p test-output
echo "== schemathesis: $FUZZ_MAX_EXAMPLES examples per operation, seed $FUZZ_SEED"

status=0
echo "== fuzzing on SQLite"
env -u TEST_DATABASE_URL pytest -q -p no:cacheprovider myapp/e2e/test_contract.py "$@" || status=1
if [ "${SKIP_POSTGRES:-0}" = 1 ]; then
  echo "!! SKIPPED: fuzzing on PostgreSQL (SKIP_POSTGRES=1)" >&2
  exit "$status"
fi
echo "== fuzzing on PostgreSQL"
scripts/pg-throwaway.sh pytest -q -p no:cacheprovider myapp/e2e/test_contract.py "$@" || status=1
exit "$status"
