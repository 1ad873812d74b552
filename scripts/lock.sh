#!/usr/bin/env bash
# Write the hashed lock files from the top-level pins; run it after editing
# requirements.txt or requirements-dev.txt and commit all four files.
#   scripts/lock.sh              keep every locked version the pins still allow
#   scripts/lock.sh --upgrade    move transitive dependencies to their newest
# requirements.lock is what the server installs (pip --require-hashes);
# requirements-dev.lock is what scripts/setup.sh installs for development and
# CI, constrained to the same runtime versions, so CI tests what deploys.
# uv (from requirements-dev.txt) resolves once for every Python >= 3.11 and
# platform (--universal): the servers' Pythons can differ from CI's.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/uv ] || scripts/setup.sh requirements-dev.txt
compile() {
  .venv/bin/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 \
    --custom-compile-command scripts/lock.sh "$@"
}
compile "$@" -o requirements.lock requirements.txt
compile "$@" -c requirements.lock -o requirements-dev.lock requirements-dev.txt
echo "wrote requirements.lock and requirements-dev.lock"
