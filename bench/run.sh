#!/usr/bin/env bash
# Run one feature's benchmark: bench/run.sh readings|goals [--db postgres] [args]
# A feature plugs in by adding bench/<feature>/run.sh or bench/<feature>/run.py.
# Results land in bench/results/ (git-ignored); see bench/README.md.
# --db postgres: the feature runs against a PostgreSQL started here with the
# production settings of deploy/postgresql/myapp.conf (scripts/pg-throwaway.sh),
# its cluster kept in bench/results/pg-data so generated tables are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
feature="${1:-}"
if [ -z "$feature" ] || [ ! -d "bench/$feature" ]; then
  echo "usage: bench/run.sh <feature> [args]   features: $(cd bench && ls -d */ | tr -d / | grep -v results | xargs)" >&2
  exit 2
fi
shift
[ -x .venv/bin/python ] || scripts/setup.sh requirements-dev.txt
command -v wrk >/dev/null 2>&1 || {
  echo "wrk is missing: installing it (apt-get install -y wrk)" >&2
  apt-get install -y wrk >/dev/null || { echo "ERROR: install wrk first" >&2; exit 2; }
}
mkdir -p bench/results
runner=(.venv/bin/python "bench/$feature/run.py")
[ ! -x "bench/$feature/run.sh" ] || runner=("bench/$feature/run.sh")
args=" $* "
if [[ "$args" == *" --db postgres "* || "$args" == *" --db=postgres "* ]]; then
  export PG_CONF="$PWD/deploy/postgresql/myapp.conf" PG_DATA_DIR="$PWD/bench/results/pg-data"
  exec scripts/pg-throwaway.sh "${runner[@]}" "$@"
fi
exec "${runner[@]}" "$@"
