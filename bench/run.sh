#!/usr/bin/env bash
# Run one feature's benchmark: bench/run.sh readings|goals [args for it]
# A feature plugs in by adding bench/<feature>/run.sh or bench/<feature>/run.py.
# Results land in bench/results/ (git-ignored); see bench/README.md.
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
if [ -x "bench/$feature/run.sh" ]; then
  exec "bench/$feature/run.sh" "$@"
fi
exec .venv/bin/python "bench/$feature/run.py" "$@"
