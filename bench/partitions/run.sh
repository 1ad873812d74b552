#!/usr/bin/env bash
# Always PostgreSQL, on a throwaway cluster of its own with the production
# settings (the two tables are built fresh each run): see run.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PG_CONF="$PWD/deploy/postgresql/myapp.conf"
unset PG_DATA_DIR
exec scripts/pg-throwaway.sh .venv/bin/python bench/partitions/run.py "$@"
